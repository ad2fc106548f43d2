"""ResultMasker on conversations in real message bytes: what the client receives is masked,
well framed, and a result the gateway cannot mask ends its statement with an error.

Values are masked by the real MaskingEngine behind a small ValueMasker adapter, so these
tests check real emails, card numbers, SSNs and IP addresses, not stubbed detections. Every
output is re-framed with MessageFramer and parsed, so a wrong length fails the test.
"""

from __future__ import annotations

import json
import struct

import pytest

from dataplane.masking.custom import CustomRules
from dataplane.masking.engine import MaskingEngine
from dataplane.masking.values import MaskingFailed, MaskingTally
from dataplane.protocols.postgres.wire import messages as m
from dataplane.protocols.postgres.wire.errors import ProtocolViolation
from dataplane.protocols.postgres.wire.framing import MessageFramer
from dataplane.protocols.postgres.wire.pgtypes import (
    BYTEA,
    DATE,
    INET,
    INT4,
    INT8,
    JSONB,
    NUMERIC,
    TEXT,
    UUID,
    VARCHAR,
)
from dataplane.protocols.postgres.wire.result_bodies import parse_bind_formats
from dataplane.protocols.postgres.wire.result_masking import (
    MASKING_FAILED_SQLSTATE,
    ResultMasker,
)
from tests.dataplane.protocols.postgres import pgbytes as pg

EMAIL = "alice@example.com"
CARD = "4111111111111111"
SSN = "536-22-8119"


class EngineMasker:
    """A ValueMasker over the real engine; values containing `fail_on` raise MaskingFailed,
    as a profile with on_failure "error" would on a timeout."""

    def __init__(self, engine: MaskingEngine | None = None, fail_on: str | None = None) -> None:
        self.engine = engine or MaskingEngine()
        self.fail_on = fail_on
        self.calls: list[tuple[str, str, str]] = []  # (method, column, value)

    def _check(self, method: str, column: str, value: str) -> None:
        self.calls.append((method, column, value))
        if self.fail_on is not None and self.fail_on in value:
            raise MaskingFailed("masking took longer than its budget")

    def mask_text(self, column: str, value: str) -> str:
        self._check("mask_text", column, value)
        return self.engine.mask_column(column, value).text

    def mask_json(self, column: str, value: str) -> str:
        self._check("mask_json", column, value)
        masked = self.engine.mask_json(json.loads(value)).value
        return value if masked == json.loads(value) else json.dumps(masked)

    def must_null(self, column: str, value: str) -> bool:
        self._check("must_null", column, value)
        return self.engine.mask_column(column, value).text != value

    def statement_finished(self) -> MaskingTally:
        return MaskingTally()

    def session_tally(self) -> MaskingTally:
        return MaskingTally()


# -- message helpers the shared pgbytes lacks ---------------------------------------------------
def typed_row_description(*columns: tuple[str, int, int]) -> bytes:
    """RowDescription with (name, type OID, format code) per column."""
    fields = b"".join(
        pg.s(name) + pg.i32(0) + pg.i16(0) + pg.i32(oid) + pg.i16(-1) + pg.i32(-1) + pg.i16(fmt)
        for name, oid, fmt in columns
    )
    return pg.message("T", pg.i16(len(columns)) + fields)


def bind_formats(portal: str, statement: str, formats: tuple[int, ...]) -> bytes:
    body = pg.s(portal) + pg.s(statement) + pg.i16(0) + pg.i16(0) + pg.i16(len(formats))
    return pg.message("B", body + b"".join(pg.i16(code) for code in formats))


def copy_out_response(overall: int = 0, columns: int = 2) -> bytes:
    return pg.message("H", bytes([overall]) + pg.i16(columns) + pg.i16(overall) * columns)


def notification(channel: str, payload: str) -> bytes:
    return pg.message("A", pg.i32(4242) + pg.s(channel) + pg.s(payload))


def function_call(result_format: int) -> bytes:
    body = struct.pack("!I", 1598) + pg.i16(0) + pg.i16(0) + pg.i16(result_format)
    return pg.message("F", body)


class Conversation:
    """A ResultMasker between two framers; the client's received bytes are re-framed."""

    def __init__(self, masker: EngineMasker | None = None) -> None:
        self.masker = masker or EngineMasker()
        self.results = ResultMasker(self.masker)
        self.client_framer = MessageFramer()
        self.server_framer = MessageFramer()

    def client(self, *messages: bytes) -> None:
        for message_type, body in self.client_framer.feed(b"".join(messages)):
            self.results.client_message(message_type, body)

    def server_bytes(self, *messages: bytes) -> bytes:
        out = self.server_framer.feed(b"".join(messages))
        return b"".join(self.results.server_message(t, body) for t, body in out)

    def server(self, *messages: bytes) -> list[tuple[str, bytes]]:
        """What the client receives, message by message (type letter, body)."""
        framer = MessageFramer()
        received = framer.feed(self.server_bytes(*messages))
        assert framer.buffered == 0, "the output ends inside a message"
        return [(chr(message_type), body) for message_type, body in received]


def values(body: bytes) -> list[bytes | None]:
    """A DataRow body's values, checked against its lengths."""
    (count,) = struct.unpack_from("!h", body)
    offset, out = 2, []
    for _ in range(count):
        (size,) = struct.unpack_from("!i", body, offset)
        offset += 4
        out.append(None if size < 0 else body[offset : offset + size])
        offset += max(size, 0)
    assert offset == len(body)
    return out


def rows(received: list[tuple[str, bytes]]) -> list[list[bytes | None]]:
    return [values(body) for kind, body in received if kind == "D"]


def kinds(received: list[tuple[str, bytes]]) -> str:
    return "".join(kind for kind, _ in received)


def error_fields(body: bytes) -> dict[str, str]:
    return m.parse_error_fields(body)


@pytest.fixture
def talk() -> Conversation:
    return Conversation()


# -- simple query ----------------------------------------------------------------------------
def test_simple_query_masks_every_result_set_by_its_own_row_description(talk):
    talk.client(pg.query("SELECT email, note FROM customers; SELECT card FROM cards"))
    received = talk.server(
        typed_row_description(("email", TEXT, 0), ("note", VARCHAR, 0)),
        pg.data_row(EMAIL.encode(), b"call me"),
        pg.data_row(b"nobody", None),
        pg.command_complete("SELECT 2"),
        typed_row_description(("card", INT8, 0)),
        pg.data_row(CARD.encode()),
        pg.data_row(b"42"),
        pg.command_complete("SELECT 2"),
        pg.ready_for_query("I"),
    )
    assert kinds(received) == "TDDCTDDCZ"
    assert rows(received) == [
        [b"[EMAIL_ADDRESS]", b"call me"],
        [b"nobody", None],
        [None],  # an int8 cannot carry a marker: a card number in it becomes NULL
        [b"42"],
    ]


def test_a_row_with_nothing_to_mask_is_sent_as_it_came(talk):
    talk.client(pg.query("SELECT name, id FROM t"))
    talk.server(typed_row_description(("name", TEXT, 0), ("id", INT4, 0)))
    row = pg.data_row(b"Bob", b"7")
    assert talk.server_bytes(row) == row


def test_columns_that_cannot_hold_an_entity_are_never_given_to_the_masker(talk):
    talk.client(pg.query("SELECT id, made FROM t"))
    talk.server(typed_row_description(("id", UUID, 0), ("ok", 16, 0)))
    talk.server(pg.data_row(b"0b4d2b9e-8f0e-4c1e-9c62-2f1e0f6c9d11", b"t"))
    assert talk.masker.calls == []


def test_a_row_in_a_simple_query_without_a_row_description_fails_closed(talk):
    talk.client(pg.query("SELECT 1"))
    received = talk.server(
        pg.data_row(EMAIL.encode()),
        pg.data_row(EMAIL.encode()),
        pg.command_complete("SELECT 2"),
        pg.ready_for_query("T"),
    )
    assert kinds(received) == "EZ"
    error = error_fields(received[0][1])
    assert error["C"] == MASKING_FAILED_SQLSTATE
    assert error["M"] == (
        "the gateway could not mask this result: the shape of this result is unknown"
    )
    assert received[1][1] == b"E"  # the client must believe its transaction failed
    assert talk.results.take_failures() == ["the shape of this result is unknown"]
    assert talk.results.take_failures() == []


def test_a_row_outside_any_statement_is_dropped(talk):
    assert talk.server(pg.data_row(EMAIL.encode())) == []


# -- extended protocol -----------------------------------------------------------------------
def test_a_statement_described_once_is_masked_at_every_execution_with_binds_formats(talk):
    """asyncpg: Parse + Describe('S') once, then Bind/Execute/Sync without any Describe."""
    talk.client(pg.parse("s1", "SELECT email, card, addr FROM t"), pg.describe("S", "s1"))
    talk.client(pg.flush())
    talk.server(
        pg.parse_complete(),
        pg.parameter_description(),
        typed_row_description(("email", TEXT, 0), ("card", INT8, 0), ("addr", INET, 0)),
    )
    card = struct.pack("!q", int(CARD))
    inet = bytes([2, 32, 0, 4, 10, 1, 2, 3])
    for _ in range(2):
        talk.client(bind_formats("", "s1", (1,)), pg.execute(), pg.sync())
        received = talk.server(
            pg.bind_complete(),
            pg.data_row(EMAIL.encode(), card, inet),
            pg.data_row(b"x", struct.pack("!q", 5), bytes([2, 24, 1, 4, 10, 1, 2, 0])),
            pg.command_complete("SELECT 2"),
            pg.ready_for_query("I"),
        )
        assert kinds(received) == "2DDCZ"
        assert rows(received) == [
            [b"[EMAIL_ADDRESS]", None, None],
            [b"x", struct.pack("!q", 5), None],  # the cidr 10.1.2.0/24 is an address too
        ]


def test_per_column_result_formats(talk):
    talk.client(pg.parse("s2", "SELECT a, b"), pg.describe("S", "s2"), pg.sync())
    talk.server(
        pg.parse_complete(),
        pg.parameter_description(),
        typed_row_description(("a", INT8, 0), ("b", INT8, 0)),
        pg.ready_for_query("I"),
    )
    talk.client(bind_formats("", "s2", (0, 1)), pg.execute(), pg.sync())
    received = talk.server(
        pg.bind_complete(),
        pg.data_row(CARD.encode(), struct.pack("!q", int(CARD))),
        pg.data_row(b"12", struct.pack("!q", 12)),
        pg.command_complete("SELECT 2"),
        pg.ready_for_query("I"),
    )
    assert rows(received) == [[None, None], [b"12", struct.pack("!q", 12)]]


def test_an_unnamed_statement_described_as_a_portal_uses_the_portals_formats(talk):
    """psycopg: Parse(""), Bind(""), Describe('P'), Execute, Sync, binary results."""
    talk.client(pg.parse("", "SELECT doc, born FROM t"), bind_formats("", "", (1,)))
    talk.client(pg.describe("P", ""), pg.execute(), pg.sync())
    document = b"\x01" + json.dumps({"contact": EMAIL, "n": 1}).encode()
    received = talk.server(
        pg.parse_complete(),
        pg.bind_complete(),
        typed_row_description(("doc", JSONB, 1), ("born", DATE, 1)),
        pg.data_row(document, struct.pack("!i", -3650)),
        pg.command_complete("SELECT 1"),
        pg.ready_for_query("I"),
    )
    [[doc, born]] = rows(received)
    assert doc is not None and doc[:1] == b"\x01"  # binary jsonb keeps its version byte
    assert json.loads(doc[1:]) == {"contact": "[EMAIL_ADDRESS]", "n": 1}
    assert born == struct.pack("!i", -3650)
    assert ("must_null", "born", "1990-01-03") in talk.masker.calls


def test_an_execute_of_a_statement_never_described_fails_closed(talk):
    talk.client(pg.parse("", "SELECT email FROM t"), pg.bind("", ""), pg.execute(), pg.sync())
    received = talk.server(
        pg.parse_complete(),
        pg.bind_complete(),
        pg.data_row(EMAIL.encode()),
        pg.command_complete("SELECT 1"),
        pg.ready_for_query("I"),
    )
    assert kinds(received) == "12EZ"
    assert received[-1][1] == b"I"


def test_binary_values_of_a_type_that_cannot_be_decoded_end_the_statement(talk):
    talk.client(pg.parse("", "SELECT email FROM t"), bind_formats("", "", (1,)))
    talk.client(pg.describe("P", ""), pg.execute(), pg.sync())
    received = talk.server(
        pg.parse_complete(),
        pg.bind_complete(),
        typed_row_description(("email", 16402, 1)),  # citext: an extension's OID
        pg.data_row(b"\x00\x00\x00\x01"),
        pg.command_complete("SELECT 1"),
        pg.ready_for_query("T"),
    )
    assert kinds(received) == "12TEZ"
    assert error_fields(received[3][1])["M"].endswith(
        "binary values of type 16402 cannot be inspected"
    )
    assert received[-1][1] == b"E"


def test_an_error_mid_pipeline_skips_to_sync_and_tracking_continues(talk):
    talk.client(pg.parse("a", "SELECT 1/0"), pg.bind("", "a"), pg.execute(), pg.sync())
    talk.client(pg.parse("b", "SELECT email FROM t"), pg.describe("S", "b"), pg.sync())
    talk.client(bind_formats("", "b", ()), pg.execute(), pg.sync())
    received = talk.server(
        pg.parse_complete(),
        pg.bind_complete(),
        pg.error("22012", "division by zero"),
        pg.ready_for_query("I"),
        pg.parse_complete(),
        pg.parameter_description(),
        typed_row_description(("email", TEXT, 0)),
        pg.ready_for_query("I"),
        pg.bind_complete(),
        pg.data_row(EMAIL.encode()),
        pg.command_complete("SELECT 1"),
        pg.ready_for_query("I"),
    )
    assert kinds(received) == "12EZ1tTZ2DCZ"
    assert rows(received) == [[b"[EMAIL_ADDRESS]"]]


def test_an_error_before_sync_discards_the_pipelined_executes(talk):
    talk.client(pg.parse("", "SELECT x"), pg.bind("", ""), pg.describe("P", ""))
    talk.client(pg.execute(), pg.parse("", "SELECT y"), pg.execute(), pg.sync())
    received = talk.server(pg.error("42703", "column x does not exist"), pg.ready_for_query("I"))
    assert kinds(received) == "EZ"
    talk.client(pg.query("SELECT email FROM t"))
    received = talk.server(
        typed_row_description(("email", TEXT, 0)),
        pg.data_row(EMAIL.encode()),
        pg.command_complete("SELECT 1"),
        pg.ready_for_query("I"),
    )
    assert rows(received) == [[b"[EMAIL_ADDRESS]"]]


def test_a_portal_suspended_and_resumed_keeps_its_shape(talk):
    talk.client(pg.parse("c", "SELECT email FROM t"), pg.describe("S", "c"), pg.sync())
    talk.server(
        pg.parse_complete(),
        pg.parameter_description(),
        typed_row_description(("email", TEXT, 0)),
        pg.ready_for_query("T"),
    )
    talk.client(bind_formats("p", "c", ()), pg.execute("p", 1), pg.execute("p", 1), pg.sync())
    received = talk.server(
        pg.bind_complete(),
        pg.data_row(EMAIL.encode()),
        pg.portal_suspended(),
        pg.data_row(b"bob@example.org"),
        pg.command_complete("SELECT 1"),
        pg.ready_for_query("T"),
    )
    assert rows(received) == [[b"[EMAIL_ADDRESS]"], [b"[EMAIL_ADDRESS]"]]


# -- failing closed when the masker fails ------------------------------------------------------
def test_a_masking_failure_replaces_the_rest_of_the_result_with_an_error():
    talk = Conversation(EngineMasker(fail_on="SLOW"))
    talk.client(pg.query("BEGIN; SELECT note FROM t; SELECT 2"))
    received = talk.server(
        pg.command_complete("BEGIN"),
        typed_row_description(("note", TEXT, 0)),
        pg.data_row(b"fine"),
        pg.data_row(b"SLOW value"),
        pg.data_row(EMAIL.encode()),
        pg.command_complete("SELECT 3"),
        pg.parameter_status("application_name", "x"),
        typed_row_description(("?column?", INT4, 0)),
        pg.data_row(b"2"),
        pg.command_complete("SELECT 1"),
        pg.ready_for_query("T"),
    )
    assert kinds(received) == "CTDESZ"
    assert rows(received) == [[b"fine"]]
    error = error_fields(received[3][1])
    assert error["S"] == "ERROR" and error["C"] == MASKING_FAILED_SQLSTATE
    assert error["M"] == (
        "the gateway could not mask this result: masking took longer than its budget"
    )
    assert received[-1] == ("Z", b"E")
    # The masker never sees values of a statement that has already failed.
    assert not any(EMAIL in value for _, _, value in talk.masker.calls)
    # The next statement is masked as usual.
    talk.client(pg.query("SELECT email FROM t"))
    received = talk.server(
        typed_row_description(("email", TEXT, 0)),
        pg.data_row(EMAIL.encode()),
        pg.command_complete("SELECT 1"),
        pg.ready_for_query("E"),
    )
    assert kinds(received) == "TDCZ"


def test_a_masking_failure_in_the_extended_protocol_drops_everything_until_sync():
    talk = Conversation(EngineMasker(fail_on="SLOW"))
    talk.client(pg.parse("", "SELECT note FROM t"), bind_formats("", "", ()))
    talk.client(pg.describe("P", ""), pg.execute())
    talk.client(pg.parse("", "SELECT 1"), pg.bind("", ""), pg.execute(), pg.sync())
    received = talk.server(
        pg.parse_complete(),
        pg.bind_complete(),
        typed_row_description(("note", TEXT, 0)),
        pg.data_row(b"SLOW"),
        pg.command_complete("SELECT 1"),
        pg.parse_complete(),
        pg.bind_complete(),
        pg.data_row(b"1"),
        pg.command_complete("SELECT 1"),
        pg.ready_for_query("T"),
    )
    assert kinds(received) == "12TEZ"
    assert received[-1] == ("Z", b"E")


# -- COPY TO STDOUT ----------------------------------------------------------------------------
def copy_conversation(talk: Conversation, sql: str, *data: bytes) -> list[tuple[str, bytes]]:
    talk.client(pg.query(sql))
    return talk.server(
        copy_out_response(),
        *(pg.copy_data(chunk) for chunk in data),
        pg.message("c"),
        pg.command_complete(f"COPY {len(data)}"),
        pg.ready_for_query("I"),
    )


def copied(received: list[tuple[str, bytes]]) -> bytes:
    return b"".join(body for kind, body in received if kind == "d")


def test_copy_text_masks_fields_and_keeps_escapes_and_nulls(talk):
    row = f"1\\tab {EMAIL}\t\\N\tline\\nbreak\\\\\t{CARD}\n".encode()
    received = copy_conversation(talk, "COPY t TO STDOUT", row, b"2\tplain\t\\N\tx\ty\n")
    assert kinds(received) == "HddcCZ"
    assert copied(received) == (
        b"1\\tab [EMAIL_ADDRESS]\t\\N\tline\\nbreak\\\\\t[CREDIT_CARD]\n2\tplain\t\\N\tx\ty\n"
    )
    assert ("mask_text", "", f"1\tab {EMAIL}") in talk.masker.calls


def test_copy_text_with_a_custom_delimiter_splits_on_unescaped_ones_only(talk):
    row = f"a\\|b|{EMAIL}|NIL\n".encode()
    received = copy_conversation(talk, "COPY t TO STDOUT WITH DELIMITER '|' NULL 'NIL'", row)
    assert copied(received) == b"a\\|b|[EMAIL_ADDRESS]|NIL\n"
    assert ("mask_text", "", "a|b") in talk.masker.calls


def test_copy_csv_masks_quoted_fields_and_keeps_nulls_and_quoting(talk):
    row = f'1,"say ""hi"", {EMAIL}",,"",{SSN}\n'.encode()
    multiline = b'2,"line one\nline two",x,"",y\n'
    received = copy_conversation(talk, "COPY (SELECT * FROM t) TO STDOUT (FORMAT csv)", row)
    assert copied(received) == b'1,"say ""hi"", [EMAIL_ADDRESS]",,"","[US_SSN]"\n'
    received = copy_conversation(talk, "COPY t TO STDOUT WITH CSV HEADER", multiline)
    assert copied(received) == multiline


def test_copy_csv_with_its_own_delimiter_quote_and_escape(talk):
    sql = "COPY t TO STDOUT (FORMAT csv, DELIMITER ';', QUOTE '''', ESCAPE '\\')"
    row = f"1;'it\\'s {EMAIL}';plain\n".encode()
    received = copy_conversation(talk, sql, row)
    assert copied(received) == b"1;'it\\'s [EMAIL_ADDRESS]';plain\n"


def test_a_copy_row_split_across_copy_data_is_held_until_its_end(talk):
    received = copy_conversation(talk, "COPY t TO STDOUT", b"1\talice@exa", b"mple.com\n")
    assert [body for kind, body in received if kind == "d"] == [b"1\t[EMAIL_ADDRESS]\n"]


def test_an_unterminated_last_copy_row_is_masked_whole_at_copy_done(talk):
    received = copy_conversation(talk, "COPY t TO STDOUT", f"1\t{EMAIL}".encode())
    assert kinds(received) == "HdcCZ"
    assert copied(received) == b"1\t[EMAIL_ADDRESS]"


def test_binary_copy_is_refused(talk):
    talk.client(pg.query("COPY t TO STDOUT (FORMAT binary)"))
    received = talk.server(
        copy_out_response(overall=1),
        pg.copy_data(b"PGCOPY\n\xff\r\n\x00" + EMAIL.encode()),
        pg.message("c"),
        pg.command_complete("COPY 1"),
        pg.ready_for_query("I"),
    )
    assert kinds(received) == "EZ"
    assert error_fields(received[0][1])["M"].endswith("binary COPY cannot be inspected")


def test_copy_in_passes_and_the_pipelined_sync_is_read_as_copy_data(talk):
    talk.client(pg.parse("", "COPY t FROM STDIN"), pg.bind("", ""), pg.execute(), pg.sync())
    received = talk.server(pg.parse_complete(), pg.bind_complete(), pg.copy_in_response())
    assert kinds(received) == "12G"
    talk.client(pg.copy_data(b"x\n"), pg.copy_done(), pg.sync())
    received = talk.server(pg.command_complete("COPY 1"), pg.ready_for_query("I"))
    assert kinds(received) == "CZ"
    talk.client(pg.query("SELECT email FROM t"))
    received = talk.server(
        typed_row_description(("email", TEXT, 0)),
        pg.data_row(EMAIL.encode()),
        pg.command_complete("SELECT 1"),
        pg.ready_for_query("I"),
    )
    assert rows(received) == [[b"[EMAIL_ADDRESS]"]]


# -- text outside rows -------------------------------------------------------------------------
def test_error_and_notice_fields_that_echo_values_are_masked(talk):
    talk.client(pg.query("INSERT INTO customers VALUES ('alice@example.com')"))
    error = pg.message(
        "E",
        b"SERROR\x00C23505\x00Mduplicate key value violates unique constraint\x00"
        + f"DKey (email)=({EMAIL}) already exists.\x00".encode()
        + b"ncustomers_email_key\x00\x00",
    )
    received = talk.server(pg.notice(f"saw {EMAIL}"), error, pg.ready_for_query("I"))
    assert kinds(received) == "NEZ"
    assert error_fields(received[0][1])["M"] == "saw [EMAIL_ADDRESS]"
    fields = error_fields(received[1][1])
    assert fields["D"] == "Key (email)=([EMAIL_ADDRESS]) already exists."
    assert fields["C"] == "23505" and fields["n"] == "customers_email_key"


def test_notification_payloads_are_masked(talk):
    [(kind, body)] = talk.server(notification("signups", f"new {EMAIL}"))
    assert kind == "A"
    assert body == pg.i32(4242) + pg.s("signups") + pg.s("new [EMAIL_ADDRESS]")


def test_a_function_result_in_text_is_masked_and_in_binary_refused(talk):
    talk.client(function_call(0))
    received = talk.server(pg.function_call_response(EMAIL.encode()), pg.ready_for_query("I"))
    assert received[0] == ("V", pg.i32(15) + b"[EMAIL_ADDRESS]")
    talk.client(function_call(1))
    received = talk.server(pg.function_call_response(b"\x00\x01"), pg.ready_for_query("I"))
    assert kinds(received) == "EZ"


# -- column rules ------------------------------------------------------------------------------
def test_a_column_rule_nulls_typed_and_opaque_columns_whatever_their_content():
    rules = CustomRules(column_rules={"ssn": "US_SSN", "scan": "US_SSN"})
    talk = Conversation(EngineMasker(MaskingEngine(custom=rules)))
    talk.client(pg.query("SELECT ssn, scan, other, amount FROM t"))
    received = talk.server(
        typed_row_description(
            ("ssn", INT4, 0), ("scan", BYTEA, 0), ("other", BYTEA, 0), ("amount", NUMERIC, 0)
        ),
        pg.data_row(b"536228119", b"\\x0102", b"\\x0304", b"12.50"),
        pg.command_complete("SELECT 1"),
        pg.ready_for_query("I"),
    )
    assert rows(received) == [[None, None, b"\\x0304", b"12.50"]]


def test_bind_is_read_with_its_result_formats_and_malformed_ones_are_refused():
    body = bind_formats("p", "s", (0, 1))[5:]
    bound = parse_bind_formats(body)
    assert (bound.portal, bound.statement, bound.formats) == ("p", "s", (0, 1))
    with_values = pg.bind("", "s", [b"abc", None])[5:]
    assert parse_bind_formats(with_values).formats == (0,)
    for broken in (body[:-1], body + b"\x00", b"p", body[:4]):
        with pytest.raises(ProtocolViolation):
            parse_bind_formats(broken)


def test_copy_in_the_extended_protocol_takes_its_options_from_the_prepared_statement(talk):
    talk.client(pg.parse("", "COPY t TO STDOUT (FORMAT csv)"), pg.bind("", ""))
    talk.client(pg.execute(), pg.sync())
    received = talk.server(
        pg.parse_complete(),
        pg.bind_complete(),
        copy_out_response(),
        pg.copy_data(f'"a\tb",{EMAIL}\n'.encode()),
        pg.message("c"),
        pg.command_complete("COPY 1"),
        pg.ready_for_query("I"),
    )
    assert kinds(received) == "12HdcCZ"
    assert copied(received) == b'"a\tb","[EMAIL_ADDRESS]"\n'


def test_a_masking_failure_during_copy_drops_the_rest_of_the_copy():
    talk = Conversation(EngineMasker(fail_on="SLOW"))
    received = copy_conversation(
        talk, "COPY t TO STDOUT", b"1\tfine\n", b"2\tSLOW\n", f"3\t{EMAIL}\n".encode()
    )
    assert kinds(received) == "HdEZ"
    assert copied(received) == b"1\tfine\n"
