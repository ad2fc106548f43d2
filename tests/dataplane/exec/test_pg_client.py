"""The exec API's minimal PostgreSQL client, driven by byte transcripts of what the
gateway's driver sends (messages built by hand from the protocol documentation)."""

from __future__ import annotations

import pytest

from dataplane.exec.pg_client import ClientState, SimpleQueryClient
from dataplane.protocols.postgres.wire.errors import IllegalTransition
from dataplane.protocols.postgres.wire.framing import MessageFramer, StartupFramer
from dataplane.protocols.postgres.wire.startup import StartupMessage, parse_startup_packet
from tests.dataplane.protocols.postgres import pgbytes as pg

INT4, TEXT, BOOL, FLOAT8, JSONB, NUMERIC = 23, 25, 16, 701, 3802, 1700


def typed_row_description(*columns: tuple[str, int]) -> bytes:
    fields = b"".join(
        pg.s(name) + pg.i32(0) + pg.i16(0) + pg.i32(oid) + pg.i16(-1) + pg.i32(-1) + pg.i16(0)
        for name, oid in columns
    )
    return pg.message("T", pg.i16(len(columns)) + fields)


GREETING = (
    pg.authentication(0)
    + pg.parameter_status("server_version", "16.4")
    + pg.backend_key_data(42, 7)
    + pg.ready_for_query()
)


def client(sql: str = "select 1", max_rows: int = 100) -> SimpleQueryClient:
    return SimpleQueryClient(
        database="appdb",
        token="tok.en",
        sql=sql,
        max_rows=max_rows,
        parameters={"gatehouse.correlation_id": "run-7", "gatehouse.exec_id": "call-1"},
    )


def replay(subject: SimpleQueryClient, server_bytes: bytes) -> bytes:
    """Feed the server's bytes; return everything the client sent back."""
    sent = b""
    for message_type, body in MessageFramer().feed(server_bytes):
        sent += subject.receive(message_type, body)
        if subject.finished:
            break
    return sent


def frontend(data: bytes) -> list[tuple[str, bytes]]:
    return [(chr(kind), body) for kind, body in MessageFramer().feed(data)]


def test_startup_names_the_resource_and_carries_the_correlation_and_exec_ids() -> None:
    packets = StartupFramer().feed(client().start())
    startup = parse_startup_packet(packets[0])

    assert isinstance(startup, StartupMessage)
    assert startup.parameters["database"] == "appdb"
    assert startup.parameters["user"]
    assert startup.parameters["gatehouse.correlation_id"] == "run-7"
    assert startup.parameters["gatehouse.exec_id"] == "call-1"


def test_the_password_request_is_answered_with_the_token_then_the_query_follows() -> None:
    subject = client("select id from t")

    sent = replay(subject, pg.authentication(3))
    assert frontend(sent) == [("p", b"tok.en\x00")]
    sent = replay(subject, GREETING)
    assert frontend(sent) == [("Q", b"select id from t\x00")]
    assert subject.state is ClientState.QUERY


def test_rows_come_back_as_json_values_by_column_type() -> None:
    subject = client()
    replay(subject, GREETING)
    result = (
        typed_row_description(
            ("id", INT4),
            ("name", TEXT),
            ("ok", BOOL),
            ("score", FLOAT8),
            ("profile", JSONB),
            ("amount", NUMERIC),
        )
        + pg.data_row(b"1", b"Ada", b"t", b"1.5", b'{"tier": "gold"}', b"10.50")
        + pg.data_row(b"2", None, b"f", b"NaN", b"[EMAIL_ADDRESS]", None)
        + pg.command_complete("SELECT 2")
        + pg.ready_for_query()
    )

    sent = replay(subject, result)

    assert frontend(sent) == [("X", b"")]
    assert subject.state is ClientState.DONE and subject.error is None
    assert subject.result.to_dict() == {
        "columns": [
            {"name": "id", "type": "int4"},
            {"name": "name", "type": "text"},
            {"name": "ok", "type": "bool"},
            {"name": "score", "type": "float8"},
            {"name": "profile", "type": "jsonb"},
            {"name": "amount", "type": "numeric"},
        ],
        "rows": [
            [1, "Ada", True, 1.5, {"tier": "gold"}, "10.50"],
            [2, None, False, "NaN", "[EMAIL_ADDRESS]", None],
        ],
        "row_count": 2,
        "command_tag": "SELECT 2",
        "truncated": False,
    }


def test_rows_past_max_rows_are_dropped_and_the_result_says_truncated() -> None:
    subject = client(max_rows=2)
    replay(subject, GREETING)
    rows = b"".join(pg.data_row(str(n).encode()) for n in range(5))

    replay(
        subject,
        typed_row_description(("n", INT4))
        + rows
        + pg.command_complete("SELECT 5")
        + pg.ready_for_query(),
    )

    assert subject.result.rows == [[0], [1]]
    assert subject.result.truncated is True
    assert subject.result.row_count == 5


def test_a_statement_error_is_kept_and_the_session_ends_normally() -> None:
    subject = client("select * from nowhere")
    replay(subject, GREETING)

    sent = replay(
        subject, pg.error("42P01", 'relation "nowhere" does not exist') + pg.ready_for_query()
    )

    assert subject.error is not None and subject.error["C"] == "42P01"
    assert subject.refusal is None
    assert frontend(sent) == [("X", b"")]


def test_a_refusal_at_startup_ends_the_call_with_the_gateways_reason() -> None:
    subject = client()

    replay(subject, pg.authentication(3) + pg.error("28000", "no active access grant", "FATAL"))

    assert subject.state is ClientState.FAILED
    assert subject.refusal is not None and subject.refusal["C"] == "28000"


def test_the_last_result_set_of_several_statements_is_reported() -> None:
    subject = client("create temp table t (n int); insert into t values (1); select 7 as n")
    replay(subject, GREETING)

    replay(
        subject,
        pg.command_complete("CREATE TABLE")
        + pg.command_complete("INSERT 0 1")
        + typed_row_description(("n", INT4))
        + pg.data_row(b"7")
        + pg.command_complete("SELECT 1")
        + pg.ready_for_query(),
    )

    assert subject.result.rows == [[7]] and subject.result.command_tag == "SELECT 1"


def test_a_command_without_rows_reports_its_tag_and_count() -> None:
    subject = client("update t set n = 2")
    replay(subject, GREETING)

    replay(subject, pg.notice("hello") + pg.command_complete("UPDATE 3") + pg.ready_for_query())

    assert subject.result.to_dict()["command_tag"] == "UPDATE 3"
    assert subject.result.row_count == 3 and subject.result.columns == []


def test_copy_from_stdin_is_refused_with_copy_fail() -> None:
    subject = client("copy t from stdin")
    replay(subject, GREETING)

    sent = replay(subject, pg.copy_in_response())

    assert frontend(sent)[0][0] == "f"


def test_the_gateway_closing_early_fails_the_call() -> None:
    subject = client()
    replay(subject, GREETING)

    subject.connection_closed()

    assert subject.state is ClientState.FAILED and subject.refusal is not None


def test_a_message_out_of_place_is_an_illegal_transition() -> None:
    subject = client()

    with pytest.raises(IllegalTransition):
        replay(subject, pg.data_row(b"1"))
