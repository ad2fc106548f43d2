"""StatementTracker on hand-built conversations: the edge cases real clients rarely show.

Each conversation goes through MessageFramers with the tracker's `wanted` sets, exactly as
the proxy wires it, so bodies the tracker does not ask for really arrive empty.
"""

from __future__ import annotations

import pytest

from dataplane.protocols.postgres.wire.errors import ProtocolViolation
from dataplane.protocols.postgres.wire.framing import MessageFramer
from dataplane.protocols.postgres.wire.statements import (
    CLIENT_TYPES_TRACKED,
    SERVER_TYPES_TRACKED,
    StatementFinished,
    StatementTracker,
)
from tests.dataplane.protocols.postgres import pgbytes as pg


class Conversation:
    """A tracker between two framers, with a clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0
        self.tracker = StatementTracker(clock=lambda: self.now)
        self.client_framer = MessageFramer(wanted=CLIENT_TYPES_TRACKED)
        self.server_framer = MessageFramer(wanted=SERVER_TYPES_TRACKED)

    def client(self, *messages: bytes) -> None:
        for message_type, body in self.client_framer.feed(b"".join(messages)):
            self.tracker.client_message(message_type, body)

    def server(self, *messages: bytes) -> list[StatementFinished]:
        finished: list[StatementFinished] = []
        for message_type, body in self.server_framer.feed(b"".join(messages)):
            finished += self.tracker.server_message(message_type, body)
        return finished


def outcome(event: StatementFinished) -> tuple[object, ...]:
    """Everything but the duration."""
    return (
        event.text,
        event.protocol,
        event.statement_name,
        event.parameter_count,
        event.command_tags,
        event.rows,
        event.error_sqlstate,
        event.error_message,
    )


@pytest.fixture
def talk() -> Conversation:
    return Conversation()


# -- simple protocol ------------------------------------------------------------------------------
def test_a_simple_query_is_one_statement_with_all_its_command_tags(talk):
    talk.client(pg.query("SELECT 1; INSERT INTO t VALUES (1), (2)"))
    assert (
        talk.server(
            pg.row_description("?column?"),
            pg.data_row(b"1"),
            pg.command_complete("SELECT 1"),
            pg.command_complete("INSERT 0 2"),
        )
        == []
    )
    [event] = talk.server(pg.ready_for_query())
    assert outcome(event) == (
        "SELECT 1; INSERT INTO t VALUES (1), (2)",
        "simple",
        "",
        0,
        ("SELECT 1", "INSERT 0 2"),
        3,
        None,
        None,
    )
    assert talk.tracker.in_flight == 0


def test_data_rows_count_only_for_commands_whose_tag_has_no_row_count(talk):
    talk.client(pg.query("SHOW TimeZone; BEGIN"))
    [event] = talk.server(
        pg.row_description("TimeZone"),
        pg.data_row(b"UTC"),
        pg.command_complete("SHOW"),
        pg.command_complete("BEGIN"),
        pg.ready_for_query("T"),
    )
    assert (event.command_tags, event.rows) == (("SHOW", "BEGIN"), 1)


def test_commands_without_rows_report_rows_as_none(talk):
    talk.client(pg.query("CREATE TABLE t (a int)"))
    [event] = talk.server(pg.command_complete("CREATE TABLE"), pg.ready_for_query())
    assert event.rows is None


def test_an_error_in_a_simple_query_is_recorded_with_the_tags_before_it(talk):
    talk.client(pg.query("SELECT 1; SELECT 1/0; SELECT 3"))
    [event] = talk.server(
        pg.data_row(b"1"),
        pg.command_complete("SELECT 1"),
        pg.error("22012", "division by zero"),
        pg.ready_for_query(),
    )
    assert outcome(event) == (
        "SELECT 1; SELECT 1/0; SELECT 3",
        "simple",
        "",
        0,
        ("SELECT 1",),
        1,
        "22012",
        "division by zero",
    )


def test_rows_sent_before_an_error_are_counted(talk):
    talk.client(pg.query("SELECT 1/(3-i) FROM generate_series(1, 5) i"))
    [event] = talk.server(
        pg.data_row(b"0"), pg.data_row(b"1"), pg.error("22012", "division"), pg.ready_for_query()
    )
    assert (event.rows, event.error_sqlstate) == (2, "22012")


def test_an_empty_query_is_reported_without_tags(talk):
    talk.client(pg.query(""))
    [event] = talk.server(pg.empty_query_response(), pg.ready_for_query())
    assert outcome(event) == ("", "simple", "", 0, (), None, None, None)


def test_duration_runs_from_the_client_message_to_its_completion(talk):
    talk.client(pg.query("SELECT pg_sleep(2)"))
    talk.now += 2.5
    [event] = talk.server(pg.data_row(b""), pg.command_complete("SELECT 1"), pg.ready_for_query())
    assert event.duration_s == 2.5


def test_notices_parameter_status_and_notifications_change_nothing(talk):
    talk.client(pg.query("SELECT 1"))
    noise = (
        pg.notice("hello"),
        pg.parameter_status("TimeZone", "UTC"),
        pg.message("A", pg.i32(1) + pg.s("channel") + pg.s("payload")),
    )
    assert talk.server(*noise, pg.command_complete("SELECT 1"), *noise) == []
    [event] = talk.server(pg.ready_for_query())
    assert event.command_tags == ("SELECT 1",)


# -- extended protocol ----------------------------------------------------------------------------
def test_each_execute_is_one_statement_with_the_text_its_portal_was_bound_to(talk):
    talk.client(pg.parse("s1", "SELECT $1::int", (23,)), pg.sync())
    assert talk.server(pg.parse_complete(), pg.ready_for_query()) == []
    for value in (b"1", b"2"):
        talk.client(pg.bind("", "s1", [value]), pg.execute(), pg.sync())
        [event] = talk.server(
            pg.bind_complete(), pg.data_row(value), pg.command_complete("SELECT 1")
        )
        assert outcome(event) == (
            "SELECT $1::int",
            "extended",
            "s1",
            1,
            ("SELECT 1",),
            1,
            None,
            None,
        )
        assert talk.server(pg.ready_for_query()) == []


def test_the_unnamed_statement_is_replaced_by_each_parse(talk):
    talk.client(
        pg.parse("", "SELECT 1"),
        pg.bind("", ""),
        pg.execute(),
        pg.parse("", "SELECT 2"),
        pg.bind("", ""),
        pg.execute(),
        pg.sync(),
    )
    events = talk.server(
        pg.parse_complete(),
        pg.bind_complete(),
        pg.command_complete("SELECT 1"),
        pg.parse_complete(),
        pg.bind_complete(),
        pg.command_complete("SELECT 1"),
        pg.ready_for_query(),
    )
    assert [e.text for e in events] == ["SELECT 1", "SELECT 2"]


def test_an_error_in_a_pipeline_skips_everything_until_sync_and_skipped_executes_are_not_reported(
    talk,
):
    talk.client(
        pg.parse("", "INSERT INTO t VALUES ($1)"),
        *(pg.bind("", "", [v]) + pg.execute() for v in (b"1", b"x", b"3")),
        pg.sync(),
        pg.parse("", "SELECT 4"),
        pg.bind("", ""),
        pg.execute(),
        pg.sync(),
    )
    events = talk.server(
        pg.parse_complete(),
        pg.bind_complete(),
        pg.command_complete("INSERT 0 1"),
        pg.error("22P02", 'invalid input syntax for type integer: "x"'),
        pg.ready_for_query(),
        pg.parse_complete(),
        pg.bind_complete(),
        pg.data_row(b"4"),
        pg.command_complete("SELECT 1"),
        pg.ready_for_query(),
    )
    assert [outcome(e) for e in events] == [
        ("INSERT INTO t VALUES ($1)", "extended", "", 1, ("INSERT 0 1",), 1, None, None),
        # The failed Bind is an audited attempt; the third Execute never ran.
        (
            "INSERT INTO t VALUES ($1)",
            "extended",
            "",
            1,
            (),
            None,
            "22P02",
            'invalid input syntax for type integer: "x"',
        ),
        ("SELECT 4", "extended", "", 0, ("SELECT 1",), 1, None, None),
    ]
    assert talk.tracker.in_flight == 0


def test_an_execute_that_fails_is_reported_with_its_error(talk):
    talk.client(pg.parse("", "SELECT 1/0"), pg.bind("", ""), pg.execute(), pg.sync())
    [event] = talk.server(
        pg.parse_complete(), pg.bind_complete(), pg.error("22012", "division by zero")
    )
    assert outcome(event) == (
        "SELECT 1/0",
        "extended",
        "",
        0,
        (),
        None,
        "22012",
        "division by zero",
    )
    assert talk.server(pg.ready_for_query()) == []


def test_what_the_client_sends_after_an_error_is_discarded_until_sync(talk):
    talk.client(pg.parse("", "SELEC 1"), pg.flush())
    [failed] = talk.server(pg.error("42601", 'syntax error at or near "SELEC"'))
    assert failed.text == "SELEC 1"
    # The server ignores all of this (a Query included) until the Sync.
    talk.client(pg.bind("", ""), pg.execute(), pg.query("SELECT 'ignored'"), pg.sync())
    assert talk.server(pg.ready_for_query()) == []
    assert talk.tracker.in_flight == 0
    talk.client(pg.query("SELECT 'seen'"))
    [after] = talk.server(pg.command_complete("SELECT 1"), pg.ready_for_query())
    assert after.text == "SELECT 'seen'"


def test_a_failed_parse_is_reported_with_its_text_and_registers_nothing(talk):
    talk.client(pg.parse("bad", "SELEC $1", (23,)), pg.sync())
    [event] = talk.server(pg.error("42601", "syntax error"), pg.ready_for_query())
    assert outcome(event) == ("SELEC $1", "extended", "bad", 1, (), None, "42601", "syntax error")
    talk.client(pg.bind("", "bad"), pg.execute(), pg.sync())
    # Binding an unknown statement fails without a report: nothing was attempted.
    assert (
        talk.server(
            pg.error("26000", 'prepared statement "bad" does not exist'), pg.ready_for_query()
        )
        == []
    )


def test_describe_waits_for_its_row_description_or_no_data_and_flush_for_nothing(talk):
    talk.client(pg.parse("s", "SELECT $1::int"), pg.describe("S", "s"), pg.flush())
    assert (
        talk.server(pg.parse_complete(), pg.parameter_description(23), pg.row_description("int4"))
        == []
    )
    talk.client(pg.bind("p", "s", [b"1"]), pg.describe("P", "p"), pg.execute("p"), pg.sync())
    [event] = talk.server(
        pg.bind_complete(),
        pg.row_description("int4"),
        pg.data_row(b"1"),
        pg.command_complete("SELECT 1"),
    )
    assert (event.text, event.statement_name, event.parameter_count) == ("SELECT $1::int", "s", 1)
    talk.client(pg.parse("", "SET x = 1"), pg.describe("S", ""), pg.sync())
    assert (
        talk.server(
            pg.ready_for_query(),
            pg.parse_complete(),
            pg.parameter_description(),
            pg.no_data(),
            pg.ready_for_query(),
        )
        == []
    )
    assert talk.tracker.in_flight == 0


def test_portal_suspended_ends_an_execute_and_the_next_execute_continues_the_portal(talk):
    talk.client(pg.query("BEGIN"))
    talk.server(pg.command_complete("BEGIN"), pg.ready_for_query("T"))
    talk.client(
        pg.parse("", "SELECT generate_series(1, 3)"),
        pg.bind("c", ""),
        pg.execute("c", 2),
        pg.sync(),
    )
    [first] = talk.server(
        pg.parse_complete(),
        pg.bind_complete(),
        pg.data_row(b"1"),
        pg.data_row(b"2"),
        pg.portal_suspended(),
    )
    talk.server(pg.ready_for_query("T"))
    # The portal outlives the Sync inside a transaction block.
    talk.client(pg.execute("c", 2), pg.sync())
    [second] = talk.server(
        pg.data_row(b"3"), pg.command_complete("SELECT 1"), pg.ready_for_query("T")
    )
    assert (first.text, first.command_tags, first.rows) == ("SELECT generate_series(1, 3)", (), 2)
    assert (second.text, second.command_tags, second.rows) == (first.text, ("SELECT 1",), 1)


def test_portals_end_with_their_transaction(talk):
    talk.client(pg.parse("", "SELECT 1"), pg.bind("c", ""), pg.sync())
    talk.server(pg.parse_complete(), pg.bind_complete(), pg.ready_for_query("I"))
    talk.client(pg.execute("c"), pg.sync())
    [event] = talk.server(pg.error("34000", 'portal "c" does not exist'), pg.ready_for_query())
    assert (event.text, event.error_sqlstate) == ("", "34000")


def test_an_empty_query_ends_an_execute(talk):
    talk.client(pg.parse("", ""), pg.bind("", ""), pg.execute(), pg.sync())
    [event] = talk.server(pg.parse_complete(), pg.bind_complete(), pg.empty_query_response())
    assert outcome(event) == ("", "extended", "", 0, (), None, None, None)


def test_closing_a_statement_forgets_it_and_the_portals_bound_to_it(talk):
    talk.client(pg.parse("s", "SELECT 1"), pg.bind("p", "s"), pg.sync())
    talk.server(pg.parse_complete(), pg.bind_complete(), pg.ready_for_query("T"))
    talk.client(pg.close("S", "s"), pg.sync())
    assert talk.server(pg.close_complete(), pg.ready_for_query("T")) == []
    talk.client(pg.execute("p"), pg.sync())
    [event] = talk.server(pg.error("34000", 'portal "p" does not exist'), pg.ready_for_query())
    assert event.text == ""
    talk.client(pg.bind("", "s"), pg.execute(), pg.sync())
    assert talk.server(pg.error("26000", "no such statement"), pg.ready_for_query("E")) == []


def test_closing_a_portal_keeps_its_statement(talk):
    talk.client(pg.parse("s", "SELECT 1"), pg.bind("p", "s"), pg.close("P", "p"), pg.sync())
    talk.server(pg.parse_complete(), pg.bind_complete(), pg.close_complete(), pg.ready_for_query())
    talk.client(pg.bind("", "s"), pg.execute(), pg.sync())
    [event] = talk.server(pg.bind_complete(), pg.command_complete("SELECT 1"), pg.ready_for_query())
    assert event.text == "SELECT 1"


def test_discard_all_forgets_prepared_statements(talk):
    talk.client(pg.parse("s", "SELECT 1"), pg.sync(), pg.query("DISCARD ALL"))
    talk.server(
        pg.parse_complete(),
        pg.ready_for_query(),
        pg.command_complete("DISCARD ALL"),
        pg.ready_for_query(),
    )
    talk.client(pg.bind("", "s"), pg.sync())
    assert talk.server(pg.error("26000", "no such statement"), pg.ready_for_query()) == []


# -- function calls -------------------------------------------------------------------------------
def test_a_function_call_is_reported_with_protocol_function(talk):
    talk.client(pg.function_call(1598, [b"\x00\x00\x00\x05", None]))
    assert talk.server(pg.function_call_response(b"0.5")) == []
    [event] = talk.server(pg.ready_for_query())
    assert outcome(event) == (
        "FunctionCall(function_oid=1598)",
        "function",
        "",
        2,
        (),
        None,
        None,
        None,
    )


def test_a_failed_function_call_carries_its_error(talk):
    talk.client(pg.function_call(1, []))
    [event] = talk.server(pg.error("42883", "function 1 does not exist"), pg.ready_for_query())
    assert (event.protocol, event.error_sqlstate) == ("function", "42883")


# -- COPY -----------------------------------------------------------------------------------------
def test_copy_from_stdin_counts_rows_from_the_copy_tag(talk):
    talk.client(pg.query("COPY t FROM STDIN"))
    assert talk.server(pg.copy_in_response()) == []
    talk.client(pg.copy_data(b"1\n2\n"), pg.copy_data(b"3\n"), pg.copy_done())
    [event] = talk.server(pg.command_complete("COPY 3"), pg.ready_for_query())
    assert (event.text, event.command_tags, event.rows) == ("COPY t FROM STDIN", ("COPY 3",), 3)


def test_copy_to_stdout_counts_rows_from_the_copy_tag(talk):
    talk.client(pg.query("COPY t TO STDOUT"))
    [event] = talk.server(
        pg.copy_out_response(),
        pg.copy_data(b"1\n"),
        pg.copy_data(b"2\n"),
        pg.copy_done(),
        pg.command_complete("COPY 2"),
        pg.ready_for_query(),
    )
    assert (event.command_tags, event.rows) == (("COPY 2",), 2)


def test_copy_fail_ends_the_copy_with_the_server_error(talk):
    talk.client(pg.query("COPY t FROM STDIN"))
    talk.server(pg.copy_in_response())
    talk.client(pg.copy_data(b"1\n"), pg.copy_fail("client gave up"))
    [event] = talk.server(
        pg.error("57014", "COPY from stdin failed: client gave up"), pg.ready_for_query()
    )
    assert (event.error_sqlstate, event.command_tags) == ("57014", ())
    talk.client(pg.query("SELECT 1"))
    [after] = talk.server(pg.command_complete("SELECT 1"), pg.ready_for_query())
    assert after.text == "SELECT 1"


def test_copy_through_execute_ignores_the_syncs_a_client_sends_during_the_copy(talk):
    # libpq sends Sync with the Execute and again after CopyDone; the server ignores the
    # first one because it arrives in copy-in mode, so only one ReadyForQuery comes.
    talk.client(pg.parse("", "COPY t FROM STDIN"), pg.bind("", ""), pg.execute(), pg.sync())
    talk.server(pg.parse_complete(), pg.bind_complete(), pg.copy_in_response())
    talk.client(pg.copy_data(b"1\n"), pg.copy_done(), pg.sync())
    [event] = talk.server(pg.command_complete("COPY 1"))
    assert (event.text, event.protocol, event.rows) == ("COPY t FROM STDIN", "extended", 1)
    assert talk.server(pg.ready_for_query()) == []
    assert talk.tracker.in_flight == 0


def test_a_client_that_pipelines_its_copy_data_is_followed_too(talk):
    talk.client(
        pg.query("COPY t FROM STDIN"), pg.copy_data(b"1\n"), pg.copy_done(), pg.query("SELECT 1")
    )
    events = talk.server(
        pg.copy_in_response(),
        pg.command_complete("COPY 1"),
        pg.ready_for_query(),
        pg.command_complete("SELECT 1"),
        pg.ready_for_query(),
    )
    assert [(e.text, e.rows) for e in events] == [("COPY t FROM STDIN", 1), ("SELECT 1", 1)]


def test_copy_data_after_a_server_error_during_copy_in_is_ignored(talk):
    talk.client(pg.query("COPY t FROM STDIN"))
    talk.server(pg.copy_in_response())
    talk.client(pg.copy_data(b"x\n"))
    [event] = talk.server(pg.error("22P02", "invalid input syntax"), pg.ready_for_query())
    talk.client(pg.copy_data(b"2\n"), pg.copy_done(), pg.query("SELECT 1"))
    [after] = talk.server(pg.command_complete("SELECT 1"), pg.ready_for_query())
    assert (event.error_sqlstate, after.text) == ("22P02", "SELECT 1")


# -- a proxy never dies on a strange server ----------------------------------------------------
def test_server_messages_with_nothing_pending_are_ignored(talk):
    assert (
        talk.server(
            pg.command_complete("SELECT 1"),
            pg.ready_for_query(),
            pg.data_row(b"1"),
            pg.parse_complete(),
            pg.bind_complete(),
            pg.close_complete(),
            pg.portal_suspended(),
            pg.empty_query_response(),
            pg.copy_in_response(),
            pg.error("57P01", "terminating connection", "FATAL"),
        )
        == []
    )
    talk.client(pg.query("SELECT 1"))
    [event] = talk.server(pg.command_complete("SELECT 1"), pg.ready_for_query())
    assert event.command_tags == ("SELECT 1",)


def test_a_ready_for_query_nobody_asked_for_does_not_drop_pending_messages(talk):
    talk.client(pg.parse("", "SELECT 1"), pg.bind("", ""), pg.execute(), pg.flush())
    talk.server(pg.ready_for_query())
    [event] = talk.server(pg.parse_complete(), pg.bind_complete(), pg.command_complete("SELECT 1"))
    assert event.text == "SELECT 1"


def test_malformed_server_bodies_do_not_raise(talk):
    talk.client(pg.query("SELECT 1"))
    assert talk.server(pg.message("C", b"no terminator"), pg.message("E", b"Mx")) == []
    [event] = talk.server(pg.message("Z", b"?"))
    assert event.text == "SELECT 1"


@pytest.mark.parametrize(
    "message",
    [
        pg.message("Q", b"SELECT 1"),  # no terminator
        pg.message("P", pg.s("") + pg.s("SELECT $1") + pg.i16(2) + pg.i32(23)),
        pg.message("B", pg.s("") + pg.s("") + pg.i16(0) + pg.i16(1) + pg.i32(10) + b"short"),
        pg.message("E", pg.s("portal")),
        pg.message("C", b"X" + pg.s("name")),
        pg.message("F", pg.i32(1)),
    ],
    ids=["Query", "Parse", "Bind", "Execute", "Close", "FunctionCall"],
)
def test_malformed_client_messages_raise_protocol_violation(talk, message):
    with pytest.raises(ProtocolViolation):
        talk.client(message)


def test_a_closed_connection_reports_what_was_still_running(talk):
    talk.client(
        pg.query("DELETE FROM t"),
        pg.parse("", "SELECT 1"),
        pg.bind("", ""),
        pg.execute(),
        pg.sync(),
    )
    [delete, select] = talk.tracker.connection_closed()
    assert (delete.text, delete.protocol, delete.error_sqlstate) == (
        "DELETE FROM t",
        "simple",
        "08006",
    )
    assert (select.protocol, select.error_sqlstate) == ("extended", "08006")
    assert talk.tracker.in_flight == 0


def test_the_transaction_status_follows_ready_for_query(talk):
    assert talk.tracker.transaction_status == b"I"
    talk.client(pg.query("BEGIN"))
    talk.server(pg.command_complete("BEGIN"), pg.ready_for_query("T"))
    assert talk.tracker.transaction_status == b"T"
