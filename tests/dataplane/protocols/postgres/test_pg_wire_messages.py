"""Message builders and body parsers, checked against bytes built from the documentation."""

from __future__ import annotations

import pytest

from dataplane.protocols.postgres.wire import messages
from dataplane.protocols.postgres.wire.errors import ProtocolViolation
from dataplane.protocols.postgres.wire.messages import Bind, Close, Describe, Execute, Parse
from tests.dataplane.protocols.postgres import pgbytes as pg


def body(message: bytes) -> bytes:
    return message[5:]


# -- builders: messages the gateway sends to clients ----------------------------------------------
def test_error_response_carries_severity_twice_then_code_message_detail_and_hint():
    built = messages.error_response("FATAL", "28P01", "bad token", detail="expired", hint="renew")
    fields = b"SFATAL\x00VFATAL\x00C28P01\x00Mbad token\x00Dexpired\x00Hrenew\x00\x00"
    assert built == pg.message("E", fields)


def test_error_response_leaves_out_detail_and_hint_when_not_given():
    assert body(messages.error_response("ERROR", "42501", "no")) == (
        b"SERROR\x00VERROR\x00C42501\x00Mno\x00\x00"
    )


def test_notice_response_is_laid_out_like_an_error_response():
    built = messages.notice_response("WARNING", "01000", "careful")
    assert built == pg.message("N", b"SWARNING\x00VWARNING\x00C01000\x00Mcareful\x00\x00")


def test_authentication_messages_are_an_int32_code():
    assert messages.authentication_ok() == pg.authentication(0)
    assert messages.authentication_cleartext_password() == pg.authentication(3)


def test_backend_key_data_takes_unsigned_32_bit_keys_and_parses_back():
    built = messages.backend_key_data(77, 2**32 - 1)
    assert built == pg.backend_key_data(77, 2**32 - 1)
    assert messages.parse_backend_key_data(body(built)) == (77, 2**32 - 1)


def test_parameter_status_and_ready_for_query():
    assert messages.parameter_status("TimeZone", "UTC") == pg.parameter_status("TimeZone", "UTC")
    assert messages.ready_for_query(b"T") == pg.ready_for_query("T")
    with pytest.raises(ValueError):
        messages.ready_for_query(b"X")


def test_negotiate_protocol_version_lists_the_options_we_ignored():
    built = messages.negotiate_protocol_version(0, ["_pq_.compression"])
    assert built == pg.negotiate_protocol_version(0, ["_pq_.compression"])
    assert messages.parse_negotiate_protocol_version(body(built)) == (0, ["_pq_.compression"])


def test_strings_with_a_nul_byte_cannot_be_built():
    with pytest.raises(ValueError):
        messages.error_response("ERROR", "XX000", "a\x00b")


# -- builders: messages the gateway sends to servers ----------------------------------------------
def test_startup_message_is_protocol_3_0_with_the_parameters_in_order():
    built = messages.startup_message({"user": "app", "database": "db"})
    assert built == pg.startup_packet(196608, pg.startup_parameters(user="app", database="db"))


def test_ssl_and_cancel_requests():
    assert messages.ssl_request() == bytes.fromhex("00000008 04d2162f")
    assert messages.cancel_request(1, 2**32 - 1) == bytes.fromhex(
        "00000010 04d2162e 00000001 ffffffff"
    )


def test_password_and_sasl_messages():
    assert messages.password_message(b"secret") == pg.message("p", b"secret\x00")
    assert messages.sasl_initial_response("SCRAM-SHA-256", b"n,,n=,r=abc") == pg.message(
        "p", b"SCRAM-SHA-256\x00" + pg.i32(11) + b"n,,n=,r=abc"
    )
    assert messages.sasl_response(b"c=biws") == pg.message("p", b"c=biws")
    assert messages.terminate() == b"X\x00\x00\x00\x04"


# -- parsers --------------------------------------------------------------------------------------
def test_error_fields_are_keyed_by_their_one_letter_codes():
    assert messages.parse_error_fields(body(pg.error("42P01", 'relation "x" does not exist'))) == {
        "S": "ERROR",
        "V": "ERROR",
        "C": "42P01",
        "M": 'relation "x" does not exist',
    }


@pytest.mark.parametrize(
    ("tag", "rows"),
    [
        ("INSERT 0 5", 5),
        ("SELECT 3", 3),
        ("COPY 7", 7),
        ("UPDATE 2", 2),
        ("DELETE 0", 0),
        ("MOVE 4", 4),
        ("FETCH 5", 5),
        ("MERGE 6", 6),
        ("SELECT 12345678901", 12345678901),
        ("CREATE TABLE", None),
        ("BEGIN", None),
        ("SELECT", None),
        ("INSERT 0", None),
        ("DELETE x", None),
        ("", None),
    ],
)
def test_command_complete_gives_the_tag_and_the_row_count_where_the_tag_has_one(tag, rows):
    assert messages.parse_command_complete(pg.s(tag)) == (tag, rows)


def test_query_is_its_string_and_undecodable_bytes_are_replaced_not_refused():
    assert messages.parse_query(pg.s("SELECT 'é'")) == "SELECT 'é'"
    assert messages.parse_query(b"SELECT '\xe9'\x00") == "SELECT '\ufffd'"


@pytest.mark.parametrize("bad", [b"SELECT 1", b"SELECT 1\x00extra"])
def test_a_query_without_its_terminator_or_with_trailing_bytes_is_a_protocol_violation(bad):
    with pytest.raises(ProtocolViolation, match="Query"):
        messages.parse_query(bad)


def test_parse_gives_statement_query_and_parameter_types():
    parsed = messages.parse_parse(body(pg.parse("s1", "SELECT $1, $2", (23, 2**32 - 1))))
    assert parsed == Parse("s1", "SELECT $1, $2", (23, 2**32 - 1))


def test_bind_gives_portal_statement_and_parameter_count():
    bound = messages.parse_bind(body(pg.bind("p", "s", [b"1", None, b""])))
    assert bound == Bind(portal="p", statement="s", parameter_count=3)


@pytest.mark.parametrize(
    "bad",
    [
        pg.s("p") + pg.s("s"),  # no format count
        pg.s("p") + pg.s("s") + pg.i16(2) + pg.i16(0),  # two formats announced, one given
        pg.s("p") + pg.s("s") + pg.i16(0) + pg.i16(1) + pg.i32(5) + b"abc",  # short value
        pg.s("p") + pg.s("s") + pg.i16(0) + pg.i16(1) + pg.i32(-2) + pg.i16(0),  # length -2
        pg.s("p") + pg.s("s") + pg.i16(-1),  # negative count
        body(pg.bind("p", "s", [b"1"])) + b"\x00",  # trailing byte
        body(pg.bind("p", "s", [b"1"]))[:-1],  # truncated result formats
    ],
)
def test_a_malformed_bind_is_a_protocol_violation(bad):
    with pytest.raises(ProtocolViolation, match="Bind"):
        messages.parse_bind(bad)


def test_execute_close_and_describe():
    assert messages.parse_execute(body(pg.execute("c", 50))) == Execute("c", 50)
    assert messages.parse_close(body(pg.close("S", "s1"))) == Close("S", "s1")
    assert messages.parse_describe(body(pg.describe("P", ""))) == Describe("P", "")
    with pytest.raises(ProtocolViolation):
        messages.parse_close(b"Xname\x00")


def test_function_call_gives_the_function_and_its_argument_count():
    call = messages.parse_function_call(body(pg.function_call(1598, [b"abc", None])))
    assert (call.function_oid, call.argument_count) == (1598, 2)


def test_authentication_requests_and_sasl_mechanisms():
    sasl = pg.authentication(10, pg.s("SCRAM-SHA-256-PLUS") + pg.s("SCRAM-SHA-256") + b"\x00")
    code, payload = messages.parse_authentication(body(sasl))
    assert code == messages.AuthenticationCode.SASL
    assert messages.parse_sasl_mechanisms(payload) == ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]
    assert messages.parse_authentication(body(pg.authentication(5, b"salt"))) == (5, b"salt")


def test_parameter_status_ready_for_query_and_password():
    assert messages.parse_parameter_status(body(pg.parameter_status("a", "b"))) == ("a", "b")
    assert messages.parse_ready_for_query(b"E") == b"E"
    assert messages.parse_password(pg.s("token")) == "token"
    for bad in (b"", b"X", b"II"):
        with pytest.raises(ProtocolViolation):
            messages.parse_ready_for_query(bad)


def test_backend_key_data_must_be_8_bytes():
    with pytest.raises(ProtocolViolation):
        messages.parse_backend_key_data(b"\x00" * 12)
