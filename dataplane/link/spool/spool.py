"""The Spool: sequence numbers, the in-memory write buffer, group commit, acknowledgements."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from collections.abc import Sequence
from enum import StrEnum
from operator import itemgetter
from pathlib import Path
from typing import Any

from dataplane.contract import Actor, AuditEvent
from dataplane.core.tasks import spawn
from dataplane.link.spool.lines import Line, decode_line, encode_line
from dataplane.link.spool.reader import SegmentReader
from dataplane.link.spool.segments import Recovered, SegmentLog, SpoolError, recover

log = logging.getLogger("gatehouse.spool")

_WRITE_RETRY_S = 1.0
WATERMARK_INTERVAL_S = 1.0
_COMPACT_AFTER = 4096
_seq_of = itemgetter(0)  # of a Line


class SpoolState(StrEnum):
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class Spool:
    """Per-agent audit event queue: sequence numbers, group-committed segments, acks.

    Create it with ``await Spool.open(directory)`` (recovery reads the disk in a worker
    thread and starts the background writer) and end it with ``await spool.close()``.
    ``append`` and ``acknowledge`` must be called from the event loop's thread.
    """

    def __init__(
        self,
        segments: SegmentLog,
        recovered: Recovered,
        *,
        flush_interval_s: float,
        flush_max_events: int,
        memory_max_events: int,
    ) -> None:
        """Internal: use ``Spool.open``."""
        self._log = segments
        self._reader = SegmentReader(segments)
        self._flush_interval_s = flush_interval_s
        self._flush_max_events = flush_max_events
        self._memory_max_events = memory_max_events
        self._state = SpoolState.OPEN
        self._acked = self._persisted_ack = recovered.acked
        self._durable_seq = self._last_appended = recovered.last_seq
        self._next_seq = max(recovered.last_seq, recovered.acked) + 1
        self._buffer: list[Line] = []  # appended, not yet handed to the writer
        self._first_buffered_at = 0.0
        # Lines of the durable unacknowledged events with acked < seq <= _memory_through, in
        # seq order from index _memory_head; later durable events are on disk only.
        self._memory: list[Line] = []
        self._memory_head = 0
        self._memory_through = recovered.acked
        self._watermark_saved_at = 0.0  # loop time of the last watermark write
        self._watermark_wanted = False  # flush() or close() wants it written now
        self._watermark_timer: asyncio.TimerHandle | None = None
        self._wake = asyncio.Event()  # the writer has work
        self._hurry = asyncio.Event()  # ... and should not wait for the flush interval
        self._durable_advanced = asyncio.Event()
        self._round_finished = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        directory: Path,
        *,
        flush_interval_s: float = 0.02,
        flush_max_events: int = 256,
        segment_max_bytes: int = 4 * 1024 * 1024,
        memory_max_events: int = 50_000,
    ) -> Spool:
        """Recover the spool in ``directory`` (created if missing) and start its writer."""
        recovered = await asyncio.to_thread(recover, directory, segment_max_bytes)
        spool = cls(
            recovered.log,
            recovered,
            flush_interval_s=flush_interval_s,
            flush_max_events=flush_max_events,
            memory_max_events=memory_max_events,
        )
        spool._writer = spawn(spool._write_continuously(), name=f"spool-writer:{directory}")
        log.info(
            "spool %s open: acked through %d, last seq %d, %d unacknowledged",
            directory,
            spool._acked,
            spool.last_seq,
            spool.backlog,
        )
        return spool

    @property
    def last_seq(self) -> int:
        """The highest seq handed out (or skipped by an acknowledgement); 0 if none."""
        return self._next_seq - 1

    @property
    def acked_seq(self) -> int:
        """The control plane has stored every event with seq <= this."""
        return self._acked

    @property
    def durable_seq(self) -> int:
        """Every appended event with seq <= this is fsync'd."""
        return self._durable_seq

    @property
    def backlog(self) -> int:
        """How many events (durable or still buffered) the control plane has not acked."""
        return max(0, self.last_seq - self._acked)

    @property
    def memory_events(self) -> int:
        """How many durable unacknowledged events' lines are held in memory (for metrics)."""
        return len(self._memory) - self._memory_head

    @property
    def state(self) -> SpoolState:
        """Open, closing (final flush under way) or closed."""
        return self._state

    def append(
        self,
        *,
        time: str,
        action: str,
        actor: Actor,
        resource: str,
        protocol: str,
        session: str,
        payload: dict[str, Any],
    ) -> int:
        """Give the event the next seq and buffer its line for the writer; returns the seq.

        Cheap and synchronous (no I/O, no AuditEvent object): the event is encoded here,
        once, and the payload is not copied. Raises TypeError/ValueError, without using up a
        seq, if the payload is not JSON-serialisable as valid UTF-8 text.
        """
        if self._state is not SpoolState.OPEN:
            raise SpoolError("the audit spool is closed")
        seq = self._next_seq
        line = encode_line(
            seq,
            time=time,
            action=action,
            actor=actor,
            resource=resource,
            protocol=protocol,
            session=session,
            payload=payload,
        )
        self._next_seq = seq + 1
        self._last_appended = seq
        buffer = self._buffer
        buffer.append((seq, line))
        if len(buffer) == 1:
            self._first_buffered_at = asyncio.get_running_loop().time()
            self._wake.set()
        if len(buffer) >= self._flush_max_events:
            self._hurry.set()
        return seq

    def durable_pending_lines(self, limit: int, *, after: int | None = None) -> list[Line]:
        """Up to ``limit`` (seq, line) of durable, unacknowledged events with seq > ``after``,
        in seq order: the bytes the link sends.

        Served from memory, or from the segment files for what does not fit in memory.
        """
        start = max(after or 0, self._acked)
        first = bisect.bisect_right(self._memory, start, lo=self._memory_head, key=_seq_of)
        lines = self._memory[first : first + limit]
        if len(lines) < limit and self._memory_through < self._durable_seq:
            disk_after = max(start, self._memory_through)
            more = self._reader.read(
                after=disk_after, through=self._durable_seq, limit=limit - len(lines)
            )
            if disk_after == self._memory_through:
                self._refill_memory(more)
            lines.extend(more)
        return lines

    def durable_pending(self, limit: int, *, after: int | None = None) -> list[AuditEvent]:
        """``durable_pending_lines`` decoded into events (for tests and tools: the link
        sends the lines without decoding them)."""
        return [decode_line(line) for _, line in self.durable_pending_lines(limit, after=after)]

    async def wait_pending(self, *, after: int | None = None) -> None:
        """Return once a durable unacknowledged event with seq > ``after`` exists."""
        while self._durable_seq <= max(after or 0, self._acked):
            if self._state is not SpoolState.OPEN:
                raise SpoolError("the audit spool is closed")
            await self._durable_advanced.wait()

    def acknowledge(self, seq: int) -> None:
        """The control plane stored everything <= ``seq``; lower or equal values are ignored.

        Drops those events from memory at once; the writer persists the watermark and then
        deletes fully acknowledged segments.
        """
        if seq <= self._acked:
            return
        if seq > self.last_seq:
            log.warning(
                "the control plane holds events through seq %d but this spool only "
                "reached %d; numbering continues after %d",
                seq,
                self.last_seq,
                seq,
            )
            self._next_seq = seq + 1
        self._acked = seq
        self._memory_through = max(self._memory_through, seq)
        self._forget_acknowledged()
        self._wake.set()
        self._hurry.set()

    async def flush(self) -> None:
        """Wait until every appended event is durable and the ack watermark is persisted."""
        while self._durable_seq < self._last_appended or self._persisted_ack < self._acked:
            self._watermark_wanted = True
            if self._state is not SpoolState.OPEN or self._writer is None or self._writer.done():
                raise SpoolError("the audit spool writer is not running")
            finished = self._round_finished
            self._hurry.set()
            self._wake.set()
            await finished.wait()

    async def close(self) -> None:
        """Stop the writer, write and fsync what is left, and close the files."""
        if self._state is not SpoolState.OPEN:
            return
        self._state = SpoolState.CLOSING
        if self._watermark_timer is not None:
            self._watermark_timer.cancel()
        self._hurry.set()
        self._wake.set()
        if self._writer is not None and not self._writer.done():
            await asyncio.wait({self._writer})
        try:
            # Also covers a writer that died: the final round raises instead of retrying.
            await self._write_round(final=True)
        finally:
            await asyncio.to_thread(self._log.close)
            self._state = SpoolState.CLOSED
            self._durable_advanced.set()
            log.info("spool closed: last seq %d, acked through %d", self.last_seq, self._acked)

    async def _write_continuously(self) -> None:
        """The background writer: one group commit per round."""
        try:
            while self._state is SpoolState.OPEN:
                await self._wake.wait()
                await self._gather()
                self._wake.clear()
                self._hurry.clear()
                await self._write_round(final=False)
        finally:
            self._announce_round()

    async def _gather(self) -> None:
        """Let more events join the batch, up to the flush interval or flush_max_events."""
        if not self._buffer or self._hurry.is_set():
            return
        loop = asyncio.get_running_loop()
        delay = self._first_buffered_at + self._flush_interval_s - loop.time()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._hurry.wait()

    async def _write_round(self, *, final: bool) -> None:
        """Write and fsync the buffer, then persist the watermark and retire segments."""
        try:
            await self._write_buffer()
            await self._retire_acknowledged(final=final)
        except OSError as exc:
            if final:
                raise
            log.error("audit spool write failed (%s); retrying in %.0fs", exc, _WRITE_RETRY_S)
            await asyncio.sleep(_WRITE_RETRY_S)
            self._wake.set()
        finally:
            self._announce_round()

    async def _write_buffer(self) -> None:
        if not self._buffer:
            return
        lines = self._buffer
        self._buffer = []
        try:
            await asyncio.to_thread(self._log.append, lines)
        except BaseException:
            # Not durable: put the batch back in front of anything appended meanwhile.
            self._buffer = lines + self._buffer
            raise
        self._mark_durable(lines)

    async def _retire_acknowledged(self, *, final: bool) -> None:
        """Persist the ack watermark and delete acknowledged segments, at most once a
        WATERMARK_INTERVAL_S (each write is a temp file, two fsyncs and a rename). A watermark
        lost in a crash only means re-sending events the control plane then ignores."""
        acked = self._acked
        if acked <= self._persisted_ack:
            return
        now = asyncio.get_running_loop().time()
        due = now - self._watermark_saved_at >= WATERMARK_INTERVAL_S
        if not (due or final or self._watermark_wanted):
            self._schedule_watermark(self._watermark_saved_at + WATERMARK_INTERVAL_S)
            return
        await asyncio.to_thread(self._log.retire, acked)
        self._persisted_ack = acked
        self._watermark_saved_at = now
        self._watermark_wanted = False

    def _schedule_watermark(self, when: float) -> None:
        """Wake the writer once at `when` to persist a watermark that was not yet due."""
        if self._watermark_timer is None or self._watermark_timer.when() > when:
            if self._watermark_timer is not None:
                self._watermark_timer.cancel()
            self._watermark_timer = asyncio.get_running_loop().call_at(when, self._watermark_due)

    def _watermark_due(self) -> None:
        self._watermark_timer = None
        self._wake.set()

    def _mark_durable(self, lines: Sequence[Line]) -> None:
        last = lines[-1][0]
        memory_complete = self._memory_through >= self._durable_seq
        fresh = lines[bisect.bisect_right(lines, self._acked, key=_seq_of) :]
        if memory_complete and self.memory_events + len(fresh) <= self._memory_max_events:
            self._memory.extend(fresh)
            self._memory_through = max(self._memory_through, last)
        self._durable_seq = max(self._durable_seq, last)
        self._durable_advanced.set()
        self._durable_advanced = asyncio.Event()

    def _refill_memory(self, lines: Sequence[Line]) -> None:
        """Take lines just read from disk (contiguous after _memory_through) into memory."""
        room = self._memory_max_events - self.memory_events
        taken = lines[:room]
        if taken:
            self._memory.extend(taken)
            self._memory_through = taken[-1][0]

    def _forget_acknowledged(self) -> None:
        self._memory_head = bisect.bisect_right(
            self._memory, self._acked, lo=self._memory_head, key=_seq_of
        )
        if self._memory_head >= _COMPACT_AFTER or self._memory_head == len(self._memory):
            del self._memory[: self._memory_head]
            self._memory_head = 0

    def _announce_round(self) -> None:
        self._round_finished.set()
        self._round_finished = asyncio.Event()
