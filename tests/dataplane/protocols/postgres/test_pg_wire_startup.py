"""parse_startup_packet: the four packets a connection may open with, and what is refused."""

from __future__ import annotations

import pytest

from dataplane.protocols.postgres.wire.errors import ProtocolViolation, UnsupportedProtocol
from dataplane.protocols.postgres.wire.startup import (
    CancelRequest,
    GSSENCRequest,
    SSLRequest,
    StartupMessage,
    parse_startup_packet,
)
from tests.dataplane.protocols.postgres import pgbytes as pg

V3_0 = 3 << 16


def contents(packet: bytes) -> bytes:
    """What StartupFramer returns: the packet without its length."""
    return packet[4:]


def test_an_ssl_request_is_recognised():
    assert parse_startup_packet(contents(pg.startup_packet(80877103))) == SSLRequest()


def test_a_gssenc_request_is_recognised():
    assert parse_startup_packet(contents(pg.startup_packet(80877104))) == GSSENCRequest()


def test_a_cancel_request_carries_the_backend_pid_and_secret():
    packet = pg.startup_packet(80877102, pg.i32(4242) + b"\xff\xff\xff\xfe")
    assert parse_startup_packet(contents(packet)) == CancelRequest(pid=4242, secret=2**32 - 2)


def test_a_startup_message_carries_the_protocol_version_and_parameters_in_order():
    params = pg.startup_parameters(user="alice", database="appdb", application_name="psql")
    startup = parse_startup_packet(contents(pg.startup_packet(V3_0, params)))
    assert startup == StartupMessage(
        V3_0, {"user": "alice", "database": "appdb", "application_name": "psql"}
    )
    assert isinstance(startup, StartupMessage)
    assert list(startup.parameters) == ["user", "database", "application_name"]


def test_a_newer_minor_version_is_returned_for_the_caller_to_negotiate():
    packet = pg.startup_packet(V3_0 | 2, pg.startup_parameters(user="alice", _pq_x="1"))
    startup = parse_startup_packet(contents(packet))
    assert isinstance(startup, StartupMessage)
    assert (startup.protocol_version, startup.minor_version) == (196610, 2)
    assert startup.parameters == {"user": "alice", "_pq_x": "1"}


@pytest.mark.parametrize("code", [2 << 16, 4 << 16, 1234 << 16 | 5681, 0])
def test_any_other_protocol_version_is_unsupported_with_sqlstate_0A000(code):
    packet = pg.startup_packet(code, pg.startup_parameters(user="alice"))
    with pytest.raises(UnsupportedProtocol) as raised:
        parse_startup_packet(contents(packet))
    assert raised.value.sqlstate == "0A000"
    assert isinstance(raised.value, ProtocolViolation)


@pytest.mark.parametrize(
    "payload",
    [
        b"user\x00alice\x00",  # no final terminator
        b"user\x00alice",  # value not terminated
        b"user\x00alice\x00database\x00\x00",  # a name without a value
        b"user\x00al\xffce\x00\x00",  # not UTF-8
        b"user\x00alice\x00user\x00mallory\x00\x00",  # repeated name
        b"\x00user\x00alice\x00\x00",  # empty name: terminator not last
        b"",
    ],
    ids=["no-terminator", "unterminated-value", "no-value", "not-utf8", "repeated", "empty-name",
         "empty"],
)  # fmt: skip
def test_malformed_parameter_lists_are_protocol_violations(payload):
    with pytest.raises(ProtocolViolation):
        parse_startup_packet(contents(pg.startup_packet(V3_0, payload)))


def test_a_startup_message_without_a_user_is_refused_with_sqlstate_28000():
    packet = pg.startup_packet(V3_0, pg.startup_parameters(database="appdb"))
    with pytest.raises(ProtocolViolation, match="no PostgreSQL user name") as raised:
        parse_startup_packet(contents(packet))
    assert raised.value.sqlstate == "28000"


@pytest.mark.parametrize(
    "packet",
    [
        pg.startup_packet(80877103, b"\x00"),  # SSLRequest with extra bytes
        pg.startup_packet(80877102, pg.i32(1)),  # CancelRequest without secret
        pg.startup_packet(80877102, pg.i32(1) + pg.i32(2) + b"x"),
        b"\x00\x00\x00\x07\x00\x03\x00",  # shorter than a code
    ],
    ids=["ssl-extra", "cancel-short", "cancel-long", "no-code"],
)
def test_requests_of_the_wrong_size_are_protocol_violations(packet):
    with pytest.raises(ProtocolViolation):
        parse_startup_packet(contents(packet))
