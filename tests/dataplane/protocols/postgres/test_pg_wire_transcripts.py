"""What the tracker reports for real clients, replayed from recorded transcripts.

The transcripts in ./transcripts/ were captured from real psql, psycopg and asyncpg sessions
against PostgreSQL 15 by capture_transcripts.py (a recording relay; see its docstring to
re-capture). They are replayed here without sockets: the client's startup packet through
StartupFramer, the server's login through UpstreamLogin, then both directions through
MessageFramers into a StatementTracker, as the proxy does.
"""

from __future__ import annotations

import pytest

from dataplane.protocols.postgres.wire.startup import StartupMessage, parse_startup_packet
from dataplane.protocols.postgres.wire.statements import StatementFinished
from tests.dataplane.protocols.postgres.replay import Replay, Transcript, load, scenarios

NO_ERROR = (None, None)


def outcomes(events: list[StatementFinished]) -> list[tuple[object, ...]]:
    return [
        (e.text, e.protocol, e.statement_name, e.parameter_count, e.command_tags, e.rows,
         e.error_sqlstate, e.error_message)
        for e in events
    ]  # fmt: skip


def replayed(scenario: str) -> list[tuple[object, ...]]:
    replay = Replay()
    events = replay.play(load(scenario))
    assert replay.tracker.in_flight == 0, "every request got its response"
    return outcomes(events)


def test_psql_reports_one_statement_per_query_message_with_all_its_tags_and_errors():
    assert replayed("psql_simple") == [
        ("SELECT 1 AS one; SELECT generate_series(1, 3) AS n", "simple", "", 0,
         ("SELECT 1", "SELECT 3"), 4, *NO_ERROR),
        ("CREATE TEMP TABLE t (a int); INSERT INTO t VALUES (1), (2); "
         "UPDATE t SET a = a + 1; DELETE FROM t WHERE a = 3", "simple", "", 0,
         ("CREATE TABLE", "INSERT 0 2", "UPDATE 2", "DELETE 1"), 5, *NO_ERROR),
        ("SELECT 1/0", "simple", "", 0, (), None, "22012", "division by zero"),
        ("SELECT 'after the error'", "simple", "", 0, ("SELECT 1",), 1, *NO_ERROR),
    ]  # fmt: skip


def test_psql_copy_in_and_out_take_their_row_counts_from_the_copy_tags():
    assert replayed("psql_copy") == [
        ("CREATE TEMP TABLE c (a int, b text)", "simple", "", 0, ("CREATE TABLE",), None,
         *NO_ERROR),
        ("COPY c FROM STDIN", "simple", "", 0, ("COPY 3",), 3, *NO_ERROR),
        ("COPY c TO STDOUT", "simple", "", 0, ("COPY 3",), 3, *NO_ERROR),
    ]  # fmt: skip


def test_psycopg_prepared_statements_report_each_execution_under_the_statement_name():
    doubled = ("SELECT $1::int * 2 AS doubled", "extended", "_pg3_0", 1, ("SELECT 1",), 1,
               *NO_ERROR)  # fmt: skip
    assert replayed("psycopg_prepared") == [
        doubled,
        doubled,
        doubled,
        ("SELECT $1::text || $2::text", "extended", "", 2, ("SELECT 1",), 1, *NO_ERROR),
    ]


def test_psycopg_binary_results_and_a_syntax_error_at_parse():
    assert replayed("psycopg_binary") == [
        ("SELECT $1::int, $2::text, $3::bytea", "extended", "", 3, ("SELECT 1",), 1, *NO_ERROR),
        ("SELEC $1", "extended", "", 1, (), None, "42601", 'syntax error at or near "SELEC"'),
        ("SELECT generate_series(1, 4)", "extended", "", 0, ("SELECT 4",), 4, *NO_ERROR),
    ]


def test_psycopg_pipeline_error_reports_the_failure_and_not_the_skipped_insert():
    # The division by zero is found while planning at Bind (the parameter is a constant), so
    # the failure is the Bind's; the third INSERT, before the Sync, never ran.
    assert replayed("psycopg_pipeline_error") == [
        ("CREATE TEMP TABLE p (a int)", "simple", "", 0, ("CREATE TABLE",), None, *NO_ERROR),
        ("INSERT INTO p VALUES ($1)", "extended", "", 1, ("INSERT 0 1",), 1, *NO_ERROR),
        ("INSERT INTO p VALUES (1 / $1)", "extended", "", 1, (), None, "22012",
         "division by zero"),
        ("SELECT count(*) FROM p", "simple", "", 0, ("SELECT 1",), 1, *NO_ERROR),
    ]  # fmt: skip


def test_psycopg_copy_and_a_copy_the_client_aborts_with_copy_fail():
    aborted = "COPY from stdin failed: error from Python: _ClientAbort - "
    assert replayed("psycopg_copy") == [
        ("CREATE TEMP TABLE k (id int, note text)", "simple", "", 0, ("CREATE TABLE",), None,
         *NO_ERROR),
        ("COPY k FROM STDIN", "simple", "", 0, ("COPY 5",), 5, *NO_ERROR),
        ("COPY k TO STDOUT", "simple", "", 0, ("COPY 5",), 5, *NO_ERROR),
        ("COPY k FROM STDIN", "simple", "", 0, (), None, "57014", aborted),
    ]  # fmt: skip


def test_asyncpg_statement_cache_executemany_cursor_and_syntax_error():
    plus_one = ("SELECT $1::int + 1", "extended", "__asyncpg_stmt_1__", 1, (), 1, *NO_ERROR)
    insert = ("INSERT INTO a VALUES ($1)", "extended", "__asyncpg_stmt_3__", 1, ("INSERT 0 1",), 1,
              *NO_ERROR)  # fmt: skip
    cursor = ("SELECT x FROM a ORDER BY x", "extended", "__asyncpg_stmt_4__", 0)
    assert replayed("asyncpg_session") == [
        # fetchval executes with a row limit of 1: PortalSuspended, no command tag.
        plus_one,
        plus_one,
        ("SELECT $1::text || '!'", "extended", "__asyncpg_stmt_2__", 1, (), 1, *NO_ERROR),
        ("CREATE TEMP TABLE a (x int); INSERT INTO a VALUES (0)", "simple", "", 0,
         ("CREATE TABLE", "INSERT 0 1"), 1, *NO_ERROR),
        # executemany: three Bind/Execute pairs pipelined before one Sync.
        insert,
        insert,
        insert,
        ("BEGIN;", "simple", "", 0, ("BEGIN",), None, *NO_ERROR),
        # A cursor with prefetch=3 over 4 rows: suspended after 3, completed after 1 more.
        (*cursor, (), 3, *NO_ERROR),
        (*cursor, ("SELECT 1",), 1, *NO_ERROR),
        ("COMMIT;", "simple", "", 0, ("COMMIT",), None, *NO_ERROR),
        ("SELEC 1", "extended", "__asyncpg_stmt_6__", 0, (), None, "42601",
         'syntax error at or near "SELEC"'),
    ]  # fmt: skip


@pytest.mark.parametrize("scenario", scenarios())
def test_chunk_boundaries_do_not_change_what_is_reported(scenario):
    recorded = load(scenario)
    one_byte_at_a_time = Transcript(
        scenario,
        [
            (direction, data[i : i + 1])
            for direction, data in recorded.chunks
            for i in range(len(data))
        ],
    )
    assert outcomes(Replay().play(one_byte_at_a_time)) == replayed(scenario)


@pytest.mark.parametrize("scenario", scenarios())
def test_every_client_opens_with_a_protocol_3_startup_message_naming_the_user(scenario):
    replay = Replay()
    replay.play(load(scenario))
    [packet] = replay.startup_packets
    startup = parse_startup_packet(packet)
    assert isinstance(startup, StartupMessage)
    assert startup.protocol_version == 196608
    assert startup.parameters["user"] == "postgres"


@pytest.mark.parametrize("scenario", scenarios())
def test_the_upstream_login_completes_on_a_real_trust_login(scenario):
    replay = Replay()
    replay.play(load(scenario))
    login = replay.login
    assert login.done
    assert login.backend_pid > 0
    assert login.transaction_status == b"I"
    assert ("client_encoding", "UTF8") in login.parameter_statuses
    assert "server_version" in dict(login.parameter_statuses)
