"""Properties that must hold for any input: the wire layer only ever fails with its own errors.

A proxy reads bytes from strangers. Whatever arrives, the framers and parsers either return
a result or raise ProtocolViolation (the login: UpstreamLoginFailed), never IndexError,
struct.error, UnicodeDecodeError or the like; and the tracker never raises at all because of
what a server sends.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataplane.protocols.postgres.wire import messages
from dataplane.protocols.postgres.wire.auth import ScramSha256Client
from dataplane.protocols.postgres.wire.errors import (
    AuthenticationFailed,
    ProtocolViolation,
    UpstreamLoginFailed,
)
from dataplane.protocols.postgres.wire.framing import MessageFramer, StartupFramer
from dataplane.protocols.postgres.wire.login import UpstreamLogin
from dataplane.protocols.postgres.wire.startup import parse_startup_packet
from dataplane.protocols.postgres.wire.statements import (
    CLIENT_TYPES_TRACKED,
    SERVER_TYPES_TRACKED,
    StatementTracker,
)
from tests.dataplane.protocols.postgres import pgbytes as pg

FUZZ = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

message_types = st.integers(min_value=0, max_value=255)
bodies = st.binary(max_size=300)
framed_messages = st.lists(st.tuples(message_types, bodies), max_size=30)


def wire(messages_: list[tuple[int, bytes]]) -> bytes:
    return b"".join(pg.message(t, body) for t, body in messages_)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


# -- framers --------------------------------------------------------------------------------------
@FUZZ
@given(framed_messages, st.lists(st.integers(min_value=0), max_size=40))
def test_any_chunking_yields_the_same_messages_as_feeding_the_stream_whole(sent, cuts):
    stream = wire(sent)
    whole = MessageFramer().feed(stream)
    framer = MessageFramer()
    chunked = [m for chunk in split(stream, cuts) for m in framer.feed(chunk)]
    assert chunked == whole == sent
    assert framer.buffered == 0


@FUZZ
@given(framed_messages, st.frozensets(message_types), st.lists(st.integers(min_value=0)))
def test_wanted_filtering_keeps_types_and_order_and_empties_only_unwanted_bodies(
    sent, wanted, cuts
):
    framer = MessageFramer(wanted=wanted)
    framed = [m for chunk in split(wire(sent), cuts) for m in framer.feed(chunk)]
    assert framed == [(t, body if t in wanted else b"") for t, body in sent]


@FUZZ
@given(st.lists(st.binary(max_size=200), max_size=20), st.frozensets(message_types) | st.none())
def test_arbitrary_bytes_only_raise_protocol_violation_and_never_buffer_over_the_limit(
    chunks, wanted
):
    limit = 64
    framer = MessageFramer(max_message_size=limit, wanted=wanted)
    try:
        for chunk in chunks:
            for message_type, body in framer.feed(chunk):
                assert 0 <= message_type <= 255
                assert len(body) <= limit - 4
            assert framer.buffered <= limit
    except ProtocolViolation:
        pass


@FUZZ
@given(st.lists(st.binary(max_size=200), max_size=20))
def test_the_startup_framer_only_raises_protocol_violation(chunks):
    framer = StartupFramer()
    try:
        for chunk in chunks:
            for packet in framer.feed(chunk):
                assert 4 <= len(packet) <= 10_000 - 4
    except ProtocolViolation:
        pass


# -- parsers --------------------------------------------------------------------------------------
PARSERS: list[Callable[[bytes], object]] = [
    messages.parse_error_fields,
    messages.parse_command_complete,
    messages.parse_query,
    messages.parse_parse,
    messages.parse_bind,
    messages.parse_execute,
    messages.parse_close,
    messages.parse_describe,
    messages.parse_function_call,
    messages.parse_password,
    messages.parse_authentication,
    messages.parse_sasl_mechanisms,
    messages.parse_backend_key_data,
    messages.parse_parameter_status,
    messages.parse_ready_for_query,
    messages.parse_negotiate_protocol_version,
    parse_startup_packet,
]


@pytest.mark.parametrize("parser", PARSERS, ids=lambda p: p.__name__)
@FUZZ
@given(body=st.binary(max_size=200))
def test_parsers_on_random_bytes_only_raise_protocol_violation(parser, body):
    with contextlib.suppress(ProtocolViolation):
        parser(body)


@FUZZ
@given(st.binary(max_size=64), st.lists(st.binary(max_size=16), max_size=6))
def test_bind_parsing_of_mutated_valid_messages_only_raises_protocol_violation(prefix, values):
    body = pg.bind("portal", "statement", list(values))[5:]
    for cut in range(len(body)):
        for mutated in (body[:cut], body[:cut] + prefix + body[cut:]):
            with contextlib.suppress(ProtocolViolation):
                messages.parse_bind(mutated)


# -- state machines -------------------------------------------------------------------------------
server_message_types = st.sampled_from(sorted(set(b"RSKZEN123ICDTtnsGHWdcVAv"))) | message_types
client_conversation = st.lists(
    st.sampled_from(
        [
            pg.query("SELECT 1"),
            pg.parse("", "SELECT 1"),
            pg.parse("s", "SELECT $1", (23,)),
            pg.bind("", ""),
            pg.bind("p", "s", [b"1"]),
            pg.describe("S", "s"),
            pg.execute(),
            pg.execute("p", 1),
            pg.close("S", "s"),
            pg.close("P", "p"),
            pg.sync(),
            pg.flush(),
            pg.function_call(1, [None]),
            pg.copy_data(b"1\n"),
            pg.copy_done(),
            pg.copy_fail("no"),
        ]
    ),
    max_size=12,
)


@FUZZ
@given(
    st.lists(
        st.one_of(
            client_conversation.map(lambda msgs: ("c", b"".join(msgs))),
            st.tuples(server_message_types, bodies).map(lambda m: ("s", wire([m]))),
        ),
        max_size=40,
    )
)
def test_the_tracker_never_raises_on_any_server_behaviour(steps):
    tracker = StatementTracker()
    client = MessageFramer(wanted=CLIENT_TYPES_TRACKED)
    server = MessageFramer(wanted=SERVER_TYPES_TRACKED)
    for direction, data in steps:
        if direction == "c":
            for message_type, body in client.feed(data):
                tracker.client_message(message_type, body)
        else:
            for message_type, body in server.feed(data):
                for event in tracker.server_message(message_type, body):
                    assert event.duration_s >= 0
    tracker.connection_closed()
    assert tracker.in_flight == 0


@FUZZ
@given(st.lists(st.tuples(server_message_types, bodies), max_size=10))
def test_the_upstream_login_only_raises_its_own_errors(received):
    login = UpstreamLogin(user="u", database="d", password="pw")
    login.start()
    try:
        for message_type, body in received:
            login.receive(message_type, body)
    except (ProtocolViolation, UpstreamLoginFailed):
        pass


@FUZZ
@given(st.binary(max_size=120), st.binary(max_size=120))
def test_scram_only_raises_authentication_failed_on_any_server_message(first, final):
    client = ScramSha256Client("pencil", nonce="rOprNGfwEbeRWgbNEkqO")
    client.client_first_message()
    for candidate in (first, b"r=rOprNGfwEbeRWgbNEkqO" + first):
        try:
            client.client_final_message(candidate)
            client.verify_server_final(final)
        except AuthenticationFailed:
            pass
        client = ScramSha256Client("pencil", nonce="rOprNGfwEbeRWgbNEkqO")
        client.client_first_message()
