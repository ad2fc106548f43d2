"""The audit spool: seqs never reused, nothing durable lost, acked events forgotten."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataplane.contract import Action, Actor, AuditEvent
from dataplane.link.spool import STATE_FILENAME, Spool, SpoolError

REPO_ROOT = Path(__file__).resolve().parents[3]
ALICE = Actor(sub="id-alice", kind="user", name="alice")
T = TypeVar("T")


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(20):
            return await scenario()

    return asyncio.run(bounded())


def add(spool: Spool, count: int = 1, **payload: Any) -> list[int]:
    """Append ``count`` statements by alice; return their seqs."""
    return [
        spool.append(
            time="2025-06-01T12:00:00.000000Z",
            action=Action.STATEMENT.value,
            actor=ALICE,
            resource="orders-db",
            protocol="postgres",
            session="s-1",
            payload={"statement": "SELECT 1", **payload},
        )
        for _ in range(count)
    ]


def seqs(events: list[AuditEvent]) -> list[int]:
    return [event.seq for event in events]


def segment_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.jsonl"))


def append_bytes(path: Path, data: bytes) -> None:
    """What a crash in the middle of a write leaves behind."""
    with open(path, "ab") as file:
        file.write(data)


def test_seqs_start_at_one_and_continue_across_reopen(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = await Spool.open(tmp_path)
        assert add(spool, 3) == [1, 2, 3]
        await spool.close()

        spool = await Spool.open(tmp_path)
        assert spool.last_seq == 3
        assert add(spool, 2) == [4, 5]
        await spool.close()

    run(scenario)


def test_an_event_is_durable_only_after_the_group_commit(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = await Spool.open(tmp_path, flush_interval_s=0.3)
        loop = asyncio.get_running_loop()
        started = loop.time()
        add(spool)
        assert spool.durable_pending(10) == []
        assert spool.durable_seq == 0

        await spool.wait_pending()

        assert loop.time() - started >= 0.25
        assert seqs(spool.durable_pending(10)) == [1]
        [segment] = segment_files(tmp_path)
        assert json.loads(segment.read_bytes())["seq"] == 1
        await spool.close()

    run(scenario)


def test_a_full_batch_is_committed_without_waiting_for_the_interval(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = await Spool.open(tmp_path, flush_interval_s=30, flush_max_events=5)
        add(spool, 5)
        async with asyncio.timeout(2):
            await spool.wait_pending()
        assert seqs(spool.durable_pending(10)) == [1, 2, 3, 4, 5]
        await spool.close()

    run(scenario)


def test_durable_pending_pages_after_a_cursor(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = await Spool.open(tmp_path)
        add(spool, 10)
        await spool.flush()

        assert seqs(spool.durable_pending(3)) == [1, 2, 3]
        assert seqs(spool.durable_pending(3, after=3)) == [4, 5, 6]
        assert seqs(spool.durable_pending(100, after=8)) == [9, 10]
        assert spool.durable_pending(100, after=10) == []
        await spool.close()

    run(scenario)


def test_wait_pending_waits_for_events_after_the_cursor(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = await Spool.open(tmp_path)
        add(spool, 2)
        await spool.flush()
        waiter = asyncio.ensure_future(spool.wait_pending(after=2))
        await asyncio.sleep(0.05)
        assert not waiter.done()

        add(spool)
        async with asyncio.timeout(2):
            await waiter
        await spool.close()

    run(scenario)


def test_a_torn_last_line_is_dropped_on_reopen(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = await Spool.open(tmp_path)
        add(spool, 3)
        await spool.close()
        [segment] = segment_files(tmp_path)
        append_bytes(segment, b'{"format":1,"seq":4,"time":"2025-06-01T')

        spool = await Spool.open(tmp_path)
        assert spool.last_seq == 3
        assert seqs(spool.durable_pending(10)) == [1, 2, 3]
        assert add(spool) == [4]
        await spool.close()

        spool = await Spool.open(tmp_path)
        assert seqs(spool.durable_pending(10)) == [1, 2, 3, 4]
        await spool.close()
        for path in segment_files(tmp_path):
            for line in path.read_bytes().splitlines():
                AuditEvent.from_dict(json.loads(line))

    run(scenario)


def test_a_segment_holding_only_a_torn_line_is_removed(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = await Spool.open(tmp_path)
        add(spool, 2)
        await spool.close()
        (tmp_path / f"{3:020d}.jsonl").write_bytes(b'{"format":1,"se')

        spool = await Spool.open(tmp_path)
        assert spool.last_seq == 2
        assert add(spool) == [3]
        await spool.flush()
        assert seqs(spool.durable_pending(10)) == [1, 2, 3]
        await spool.close()

    run(scenario)


def test_the_ack_watermark_survives_a_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = await Spool.open(tmp_path)
        add(spool, 5)
        await spool.flush()
        spool.acknowledge(3)
        await spool.flush()
        state = json.loads((tmp_path / STATE_FILENAME).read_text())
        assert state == {"format": 1, "acked_seq": 3}
        await spool.close()

        spool = await Spool.open(tmp_path)
        assert spool.acked_seq == 3
        assert seqs(spool.durable_pending(10)) == [4, 5]
        assert spool.backlog == 2
        await spool.close()

    run(scenario)


def test_acknowledgements_only_move_forward(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = await Spool.open(tmp_path)
        add(spool, 5)
        await spool.flush()
        spool.acknowledge(4)
        spool.acknowledge(2)

        assert spool.acked_seq == 4
        assert seqs(spool.durable_pending(10)) == [5]
        await spool.close()

    run(scenario)


def test_segments_are_deleted_once_every_event_in_them_is_acknowledged(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = await Spool.open(tmp_path, segment_max_bytes=600)
        add(spool, 20)
        await spool.flush()
        before = segment_files(tmp_path)
        assert len(before) >= 4

        spool.acknowledge(10)
        await spool.flush()
        remaining = segment_files(tmp_path)
        assert 0 < len(remaining) < len(before)
        first_kept = int(remaining[0].stem)
        assert first_kept <= 11
        assert seqs(spool.durable_pending(100)) == list(range(11, 21))

        spool.acknowledge(20)
        await spool.flush()
        assert segment_files(tmp_path) == []
        await spool.close()

        spool = await Spool.open(tmp_path, segment_max_bytes=600)
        assert add(spool) == [21]
        await spool.close()

    run(scenario)


def test_past_the_memory_cap_pending_events_are_read_from_disk(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = await Spool.open(tmp_path, memory_max_events=10, segment_max_bytes=2_000)
        for _ in range(10):
            add(spool, 10)
            await spool.flush()
        assert spool.memory_events <= 10

        assert seqs(spool.durable_pending(1_000)) == list(range(1, 101))
        assert seqs(spool.durable_pending(5, after=50)) == [51, 52, 53, 54, 55]
        paged: list[int] = []
        while batch := spool.durable_pending(7, after=paged[-1] if paged else 0):
            paged.extend(seqs(batch))
        assert paged == list(range(1, 101))
        assert spool.memory_events <= 10

        spool.acknowledge(95)
        assert seqs(spool.durable_pending(100)) == [96, 97, 98, 99, 100]
        await spool.close()

    run(scenario)


def test_a_large_backlog_is_served_from_disk_after_a_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = await Spool.open(tmp_path, segment_max_bytes=2_000)
        add(spool, 60)
        await spool.close()

        spool = await Spool.open(tmp_path, memory_max_events=8, segment_max_bytes=2_000)
        assert spool.backlog == 60
        assert seqs(spool.durable_pending(100)) == list(range(1, 61))
        add(spool, 3)
        await spool.flush()
        assert seqs(spool.durable_pending(100, after=58)) == [59, 60, 61, 62, 63]
        await spool.close()

    run(scenario)


def test_a_payload_that_is_not_json_uses_no_seq(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = await Spool.open(tmp_path)
        with pytest.raises(TypeError):
            add(spool, unserialisable=object())
        with pytest.raises(ValueError):
            add(spool, broken="\udcff")
        with pytest.raises(ValueError):
            add(spool, duration_ms=float("nan"))

        assert add(spool) == [1]
        await spool.close()

    run(scenario)


def test_an_ack_beyond_the_last_seq_moves_the_numbering_past_it(tmp_path: Path) -> None:
    """A control plane that already holds seqs this spool never saw (a wiped state dir)."""

    async def scenario() -> None:
        spool = await Spool.open(tmp_path)
        spool.acknowledge(41)
        assert add(spool) == [42]
        await spool.close()

        spool = await Spool.open(tmp_path)
        assert add(spool) == [43]
        await spool.close()

    run(scenario)


def test_backlog_counts_every_unacknowledged_event(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = await Spool.open(tmp_path, flush_interval_s=30)
        add(spool, 4)
        assert spool.backlog == 4
        await spool.flush()
        spool.acknowledge(1)
        assert spool.backlog == 3
        await spool.close()

    run(scenario)


def test_close_writes_what_is_still_buffered(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = await Spool.open(tmp_path, flush_interval_s=30)
        add(spool, 3)
        await spool.close()

        with pytest.raises(SpoolError):
            add(spool)
        spool = await Spool.open(tmp_path)
        assert seqs(spool.durable_pending(10)) == [1, 2, 3]
        await spool.close()

    run(scenario)


def test_a_spool_cannot_be_opened_twice_at_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = await Spool.open(tmp_path)
        with pytest.raises(SpoolError, match="in use"):
            await Spool.open(tmp_path)
        await spool.close()

        again = await Spool.open(tmp_path)
        await again.close()

    run(scenario)


CRASHING_WRITER = """
import asyncio, sys
from pathlib import Path
from dataplane.contract import Actor
from dataplane.link.spool import Spool

async def main():
    spool = await Spool.open(Path(sys.argv[1]), flush_interval_s=float(sys.argv[2]))
    actor = Actor(sub="id-ai", kind="service_account", name="ai-agent")
    stop_at = int(sys.argv[3]) or float("inf")
    while True:
        for _ in range(20 if spool.last_seq < stop_at else 0):
            spool.append(time="2025-06-01T12:00:00Z", action="statement", actor=actor,
                         resource="orders-db", protocol="postgres", session="s",
                         payload={"statement": "SELECT 1"})
        print(spool.durable_seq, spool.last_seq, flush=True)
        await asyncio.sleep(0.002)

asyncio.run(main())
"""


def crash_while_appending(
    directory: Path, *, flush_interval_s: float, until_durable: int, stop_at: int = 0
) -> int:
    """Run a writer in a child process, SIGKILL it, return the last durable seq it saw.

    The child appends 20 events at a time, stopping once it handed out ``stop_at`` seqs
    (0: never); it is killed once it reports ``until_durable`` and has stopped.
    """
    argv = [str(directory), str(flush_interval_s), str(stop_at)]
    child = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, *argv],
        stdout=subprocess.PIPE,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        text=True,
    )
    try:
        assert child.stdout is not None
        durable = 0
        for line in child.stdout:
            durable, last = (int(field) for field in line.split())
            if durable >= until_durable and last >= stop_at:
                break
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    return durable


def test_a_killed_agent_loses_nothing_that_was_durable(tmp_path: Path) -> None:
    reported_durable = crash_while_appending(tmp_path, flush_interval_s=0.005, until_durable=300)

    async def scenario() -> None:
        spool = await Spool.open(tmp_path)
        recovered = seqs(spool.durable_pending(100_000))
        assert recovered == list(range(1, spool.last_seq + 1))
        assert spool.last_seq >= reported_durable
        last = spool.last_seq
        assert add(spool) == [last + 1]
        await spool.close()

    run(scenario)


def test_a_killed_agent_reuses_only_seqs_that_never_became_durable(tmp_path: Path) -> None:
    # With an hour-long flush interval only full batches (flush_max_events=256) are
    # committed: 260 events become durable, the 40 appended after them stay in memory.
    reported_durable = crash_while_appending(
        tmp_path, flush_interval_s=3600, until_durable=256, stop_at=300
    )
    assert reported_durable == 260

    async def scenario() -> None:
        spool = await Spool.open(tmp_path)
        assert seqs(spool.durable_pending(100_000)) == list(range(1, reported_durable + 1))
        assert add(spool) == [reported_durable + 1]
        await spool.close()

    run(scenario)


operations = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(1, 30)),
        st.tuples(st.just("ack"), st.integers(0, 120)),
        st.tuples(st.just("reopen"), st.just(0)),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_the_spool_agrees_with_a_simple_model(ops: list[tuple[str, int]]) -> None:
    """Seqs are never reused, and exactly the unacknowledged events come back, in order."""

    async def scenario(directory: Path) -> None:
        def reopen() -> Awaitable[Spool]:
            return Spool.open(directory, memory_max_events=16, segment_max_bytes=1_500)

        spool = await reopen()
        issued: list[int] = []
        acked = 0
        for op, value in ops:
            if op == "append":
                issued.extend(add(spool, value))
            elif op == "ack":
                spool.acknowledge(value)
                acked = max(acked, value)
            else:
                await spool.close()
                spool = await reopen()
        await spool.flush()
        assert issued == sorted(set(issued))
        assert seqs(spool.durable_pending(10_000)) == [s for s in issued if s > acked]
        assert add(spool)[0] > max([acked, *issued])
        await spool.close()

    with tempfile.TemporaryDirectory() as directory:
        run(lambda: scenario(Path(directory)))
