"""A one-call session passes exactly one call to the server, whatever the client pipelines."""

from __future__ import annotations

from dataplane.protocols.postgres.wire.one_call import OneCallGate
from tests.dataplane.protocols.postgres import pgbytes as pg

EXTENDED_CYCLE = (
    pg.parse("", "select $1::int")
    + pg.bind("", "", [b"1"])
    + pg.message("D", b"P\x00")
    + pg.execute("", 0)
    + pg.sync()
)


def gate() -> OneCallGate:
    return OneCallGate(64 * 1024 * 1024)


def test_one_simple_query_passes_and_nothing_pipelined_after_it() -> None:
    one_call = gate()
    forward, passed = one_call.client_data(pg.query("select 1") + pg.query("drop table orders"))
    assert forward == pg.query("select 1")
    assert [chr(t) for t, _ in passed] == ["Q"] and one_call.dropped == 1


def test_one_extended_cycle_passes_up_to_its_sync_and_the_next_cycle_is_held_back() -> None:
    one_call = gate()
    forward, _ = one_call.client_data(EXTENDED_CYCLE + EXTENDED_CYCLE)
    assert forward == EXTENDED_CYCLE
    assert one_call.call_sent and one_call.dropped == 5
    assert one_call.completes_call(ord("Z"))


def test_a_second_execute_in_the_same_cycle_is_held_back() -> None:
    one_call = gate()
    second = pg.bind("", "") + pg.execute("", 0)
    forward, _ = one_call.client_data(EXTENDED_CYCLE[: -len(pg.sync())] + second + pg.sync())
    assert forward == EXTENDED_CYCLE
    assert one_call.dropped == 2


def test_a_prepare_only_cycle_is_not_the_call() -> None:
    """asyncpg prepares (Parse, Describe, Sync) before it binds and executes."""
    one_call = gate()
    prepare = pg.parse("s1", "select 1") + pg.describe("S", "s1") + pg.sync()
    run = pg.bind("", "s1") + pg.execute("", 0) + pg.sync()
    forward, _ = one_call.client_data(prepare + run + pg.query("select 2"))
    assert forward == prepare + run
    assert not one_call.completes_call(ord("Z"))  # answers the prepare
    assert one_call.completes_call(ord("Z"))  # answers the call


def test_a_call_split_across_reads_passes_whole_and_only_once() -> None:
    one_call = gate()
    data = EXTENDED_CYCLE + pg.query("select 2")
    forwarded = b""
    for index in range(0, len(data), 7):
        forwarded += one_call.client_data(data[index : index + 7])[0]
    assert forwarded == EXTENDED_CYCLE


def test_copy_data_and_terminate_still_pass_after_the_call() -> None:
    one_call = gate()
    copy = pg.message("d", b"1\n") + pg.message("c")
    data = pg.query("copy t from stdin") + copy + pg.query("select 1") + pg.message("X")
    forward, _ = one_call.client_data(data)
    assert forward == pg.query("copy t from stdin") + copy + pg.message("X")


def test_the_ready_for_query_after_the_call_completes_it_and_none_before() -> None:
    one_call = gate()
    cycle = pg.parse("", "select 1") + pg.bind("", "") + pg.execute("", 0) + pg.flush()
    one_call.client_data(cycle)  # Flush: the cycle is not over yet
    assert not one_call.call_sent
    one_call.client_data(pg.sync())
    assert not one_call.completes_call(ord("C")) and one_call.completes_call(ord("Z"))
