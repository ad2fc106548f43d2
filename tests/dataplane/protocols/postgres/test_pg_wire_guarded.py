"""Refusing statements by rewriting, and the row limit, at the byte level."""

from __future__ import annotations

from pglast import parser

from dataplane.protocols.postgres.wire import messages as m
from dataplane.protocols.postgres.wire.framing import MessageFramer
from dataplane.protocols.postgres.wire.guarded import (
    RowLimit,
    parameter_count,
    raising_sql,
    refused_parse,
    refused_query,
)
from dataplane.protocols.postgres.wire.messages import Parse


def _one(data: bytes) -> tuple[int, bytes]:
    frames = MessageFramer().feed(data)
    assert len(frames) == 1
    return frames[0]


def test_the_raising_statement_parses_and_keeps_any_message_intact() -> None:
    nasty = 'guardrail "it\'s" denies $gatehouse$ \\ DROP TABLE'
    sql = raising_sql("42501", nasty)
    (statement,) = parser.parse_sql(sql)
    do_body = statement.stmt.args[0].arg.sval
    assert "ERRCODE = '42501'" in do_body
    # The E'' literal carries the message back exactly.
    literal = do_body.split("MESSAGE = ", 1)[1].rsplit(";", 1)[0]
    assert literal.startswith("E'")
    decoded = literal[2:-1].replace("''", "'").replace("\\\\", "\\")
    assert decoded == nasty


def test_a_refused_query_is_one_query_message() -> None:
    kind, body = _one(refused_query("42501", "denied"))
    assert kind == m.QUERY
    assert m.parse_query(body).startswith("DO ")


def test_a_refused_parse_keeps_the_name_and_declares_every_parameter() -> None:
    original = Parse("stmt1", "DELETE FROM t WHERE a = $1 AND b = $3", (23,))
    kind, body = _one(refused_parse(original, "42501", "denied"))
    assert kind == m.PARSE
    parse = m.parse_parse(body)
    assert parse.statement == "stmt1"
    assert parse.query.startswith("DO ")
    # $1 keeps its declared int4; $2 and $3 (undeclared) become text so Bind still fits.
    assert parse.parameter_type_oids == (23, 25, 25)


def test_parameter_count_reads_the_highest_placeholder() -> None:
    assert parameter_count("select $1, $12, '$99'") == 12
    assert parameter_count("select 1") == 0
    assert parameter_count("select 'unterminated") == 0


def _row() -> bytes:
    return m.framed(m.DATA_ROW, b"\x00\x01\x00\x00\x00\x01x")


def test_rows_past_the_limit_are_dropped_and_the_result_ends_in_an_error() -> None:
    limit = RowLimit(2)
    sent = [limit.server_message(m.DATA_ROW, _row())[0] for _ in range(5)]
    assert sent[:2] == [_row(), _row()] and sent[2:] == [b"", b"", b""]
    complete = m.framed(m.COMMAND_COMPLETE, b"SELECT 5\x00")
    encoded, cut = limit.server_message(m.COMMAND_COMPLETE, complete)
    assert cut
    kind, body = _one(encoded)
    assert kind == m.ERROR_RESPONSE
    fields = m.parse_error_fields(body)
    assert fields["C"] == "54000" and "limit of 2 rows" in fields["M"]
    # The next statement starts counting afresh.
    assert limit.server_message(m.DATA_ROW, _row()) == (_row(), False)


def test_a_result_within_the_limit_passes_untouched() -> None:
    limit = RowLimit(3)
    complete = m.framed(m.COMMAND_COMPLETE, b"SELECT 3\x00")
    for _ in range(3):
        assert limit.server_message(m.DATA_ROW, _row()) == (_row(), False)
    assert limit.server_message(m.COMMAND_COMPLETE, complete) == (complete, False)
