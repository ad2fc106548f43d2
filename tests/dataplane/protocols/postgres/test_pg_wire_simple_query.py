"""The gateway's own statements: the simple query state machine, fed server transcripts, and
quoting that no string can break out of."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataplane.protocols.postgres.wire import messages
from dataplane.protocols.postgres.wire.errors import IllegalTransition, ProtocolViolation
from dataplane.protocols.postgres.wire.framing import MessageFramer
from dataplane.protocols.postgres.wire.simple_query import (
    QueryFailed,
    QueryState,
    SimpleQuery,
    quote_identifier,
    quote_literal,
)
from tests.dataplane.protocols.postgres import pgbytes as pg


def _feed(query: SimpleQuery, transcript: bytes) -> None:
    for message_type, body in MessageFramer(1 << 20).feed(transcript):
        query.receive(message_type, body)


# -- the state machine ----------------------------------------------------------------------
def test_start_sends_one_query_message() -> None:
    query = SimpleQuery("select 1")
    assert query.start() == pg.query("select 1")
    assert query.state is QueryState.SENT


def test_rows_and_command_tags_are_collected_until_ready_for_query() -> None:
    query = SimpleQuery("select rolname, comment from roles")
    query.start()
    _feed(
        query,
        pg.row_description("rolname", "comment")
        + pg.data_row(b"gh_s_0123456789abcdef", b"gatehouse: agent=edge-1")
        + pg.data_row(b"gh_s_fedcba9876543210", None)
        + pg.command_complete("SELECT 2"),
    )
    assert not query.done
    _feed(query, pg.ready_for_query("I"))
    assert query.done
    assert query.rows == [
        ("gh_s_0123456789abcdef", "gatehouse: agent=edge-1"),
        ("gh_s_fedcba9876543210", None),
    ]
    assert query.command_tags == ["SELECT 2"]
    query.raise_for_error()  # no error: returns


def test_several_statements_give_several_command_tags() -> None:
    query = SimpleQuery("CREATE ROLE a; COMMENT ON ROLE a IS 'x'")
    query.start()
    _feed(
        query,
        pg.command_complete("CREATE ROLE")
        + pg.command_complete("COMMENT")
        + pg.ready_for_query("I"),
    )
    assert query.command_tags == ["CREATE ROLE", "COMMENT"]


def test_an_error_is_kept_and_raised_on_request() -> None:
    query = SimpleQuery("DROP ROLE gh_s_0123456789abcdef")
    query.start()
    _feed(
        query,
        pg.error("42704", 'role "gh_s_0123456789abcdef" does not exist') + pg.ready_for_query("I"),
    )
    assert query.done
    assert query.error is not None and query.error["C"] == "42704"
    with pytest.raises(QueryFailed) as failed:
        query.raise_for_error()
    assert failed.value.sqlstate == "42704"


def test_notices_parameter_status_and_empty_queries_are_tolerated() -> None:
    query = SimpleQuery(";")
    query.start()
    _feed(
        query,
        pg.notice("role does not exist, skipping")
        + pg.parameter_status("is_superuser", "on")
        + pg.empty_query_response()
        + pg.ready_for_query("I"),
    )
    assert query.done and query.notices[0]["M"] == "role does not exist, skipping"


def test_copy_is_not_something_the_gateway_ever_asked_for() -> None:
    query = SimpleQuery("select 1")
    query.start()
    with pytest.raises(IllegalTransition):
        _feed(query, pg.copy_in_response())
    assert query.state is QueryState.FAILED


def test_messages_before_start_or_after_done_are_refused() -> None:
    query = SimpleQuery("select 1")
    with pytest.raises(IllegalTransition):
        query.receive(messages.READY_FOR_QUERY, b"I")
    query.start()
    _feed(query, pg.ready_for_query("I"))
    with pytest.raises(IllegalTransition):
        query.receive(messages.READY_FOR_QUERY, b"I")


def test_a_malformed_data_row_is_a_protocol_violation() -> None:
    query = SimpleQuery("select 1")
    query.start()
    with pytest.raises(ProtocolViolation):
        _feed(query, pg.message("D", pg.i16(1) + pg.i32(10) + b"abc"))


# -- quoting ----------------------------------------------------------------------------------
def _read_identifier(sql: str) -> tuple[str, int]:
    """An independent reading of a quoted identifier at the start of `sql`: (name, end)."""
    assert sql[0] == '"'
    name, i = [], 1
    while True:
        if sql[i] == '"':
            if i + 1 < len(sql) and sql[i + 1] == '"':
                name.append('"')
                i += 2
                continue
            return "".join(name), i + 1
        name.append(sql[i])
        i += 1


def _read_literal(sql: str, *, standard_conforming_strings: bool) -> tuple[str, int]:
    """An independent reading of a string literal at the start of `sql`: (value, end)."""
    i = 0
    while sql[i] == " ":
        i += 1
    escapes = sql[i] in "Ee"
    if escapes:
        i += 1
    backslash_escapes = escapes or not standard_conforming_strings
    assert sql[i] == "'"
    value, i = [], i + 1
    while True:
        ch = sql[i]
        if backslash_escapes and ch == "\\":
            value.append(sql[i + 1])  # only \\ and \' can occur in what we emit
            i += 2
        elif ch == "'":
            if i + 1 < len(sql) and sql[i + 1] == "'":
                value.append("'")
                i += 2
            else:
                return "".join(value), i + 1
        else:
            value.append(ch)
            i += 1


_TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))


@given(_TEXT.filter(lambda t: 0 < len(t.encode()) <= 63))
def test_no_identifier_ends_early(name: str) -> None:
    quoted = quote_identifier(name)
    assert _read_identifier(quoted) == (name, len(quoted))


@given(_TEXT, st.booleans())
def test_no_literal_ends_early_whatever_standard_conforming_strings_says(
    text: str, standard: bool
) -> None:
    quoted = quote_literal(text)
    assert _read_literal(quoted, standard_conforming_strings=standard) == (text, len(quoted))


@given(_TEXT.map(lambda t: t + "'; DROP ROLE admin; --\\"))
def test_injection_attempts_stay_inside_the_literal(text: str) -> None:
    quoted = quote_literal(text)
    for standard in (True, False):
        assert _read_literal(quoted, standard_conforming_strings=standard)[1] == len(quoted)


@pytest.mark.parametrize("bad", ["", "a\x00b", "x" * 64, "é" * 32])
def test_identifiers_postgresql_would_alter_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        quote_identifier(bad)


def test_a_nul_cannot_be_quoted_as_a_literal() -> None:
    with pytest.raises(ValueError):
        quote_literal("a\x00b")
