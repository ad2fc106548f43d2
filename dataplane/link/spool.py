"""The durable local audit spool: every audit event is on disk before it leaves the agent.

Layout of the spool directory::

    00000000000000000001.jsonl   segment files, JSON Lines, named by their first ``seq``
    00000000000000052113.jsonl   (one ``AuditEvent.to_dict()`` per line; rotated by size)
    acked.json                   {"format": 1, "acked_seq": N}: the control plane has <= N
    lock                         flock'd while a process has the spool open

Life of an event:

1. ``append`` (on the proxy hot path, synchronous) gives it the next ``seq`` and puts its
   JSON line in an in-memory write buffer. Nothing touches the disk here.
2. A background writer (group commit) writes the buffer to the current segment and fsyncs,
   at most ``flush_interval_s`` after the first buffered event, or at once when
   ``flush_max_events`` are buffered. Only then is the event *durable*, and only durable
   events are handed to the link (``durable_pending``).
3. ``acknowledge(seq)`` records that the control plane stored everything <= seq. The
   watermark is persisted (temp file, fsync, rename, fsync directory) *before* any segment
   is deleted, so a seq is never reused for a different event.

Durability window: if the agent process dies, events appended in the last ~flush_interval_s
that were not fsync'd yet may be lost. Their seqs were never sent (only durable events are),
so after the restart the control plane sees neither a gap nor a duplicate: the numbering
simply continues from the last event on disk. A torn last line (a crash mid-write) is
dropped when the spool is reopened.

Memory: durable unacknowledged events are kept in memory up to ``memory_max_events``; beyond
that (a long control-plane outage) they are read back from the segment files on demand.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import fcntl
import json
import logging
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from dataplane.contract import Actor, AuditEvent, ContractError
from dataplane.core.tasks import spawn

log = logging.getLogger("gatehouse.spool")

SPOOL_STATE_FORMAT = 1
STATE_FILENAME = "acked.json"
LOCK_FILENAME = "lock"
SEGMENT_PATTERN = re.compile(r"^(\d{20})\.jsonl$")
_WRITE_RETRY_S = 1.0
WATERMARK_INTERVAL_S = 1.0
_COMPACT_AFTER = 4096

Line = tuple[int, bytes]  # (seq, the JSON line including its "\n")


class SpoolError(RuntimeError):
    """The spool cannot do what was asked (closed, unreadable state, writer stopped)."""


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
        segments: _SegmentLog,
        recovered: _Recovered,
        *,
        flush_interval_s: float,
        flush_max_events: int,
        memory_max_events: int,
    ) -> None:
        """Internal: use ``Spool.open``."""
        self._log = segments
        self._reader = _SegmentReader(segments)
        self._flush_interval_s = flush_interval_s
        self._flush_max_events = flush_max_events
        self._memory_max_events = memory_max_events
        self._state = SpoolState.OPEN
        self._acked = self._persisted_ack = recovered.acked
        self._durable_seq = self._last_appended = recovered.last_seq
        self._next_seq = max(recovered.last_seq, recovered.acked) + 1
        self._buffer: list[Line] = []
        self._buffered: list[AuditEvent] = []
        self._first_buffered_at = 0.0
        # Durable unacknowledged events with acked < seq <= _memory_through, in seq order
        # from index _memory_head; later durable events are on disk only.
        self._memory: list[AuditEvent] = []
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
        recovered = await asyncio.to_thread(_recover, directory, segment_max_bytes)
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
        """How many durable unacknowledged events are held in memory (for metrics)."""
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
    ) -> AuditEvent:
        """Give the event the next seq and buffer it for the writer; returns the event.

        Cheap and synchronous (no I/O). Raises TypeError/ValueError, without using up a
        seq, if the payload is not JSON-serialisable as valid UTF-8 text.
        """
        if self._state is not SpoolState.OPEN:
            raise SpoolError("the audit spool is closed")
        event = AuditEvent(
            seq=self._next_seq,
            time=time,
            action=action,
            actor=actor,
            resource=resource,
            protocol=protocol,
            session=session,
            payload=dict(payload),
        )
        line = _encode_line(event)
        self._next_seq += 1
        self._last_appended = event.seq
        self._buffer.append((event.seq, line))
        self._buffered.append(event)
        if len(self._buffer) == 1:
            self._first_buffered_at = asyncio.get_running_loop().time()
            self._wake.set()
        if len(self._buffer) >= self._flush_max_events:
            self._hurry.set()
        return event

    def durable_pending(self, limit: int, *, after: int | None = None) -> list[AuditEvent]:
        """Up to ``limit`` durable, unacknowledged events with seq > ``after``, in seq order.

        Served from memory, or from the segment files for what does not fit in memory.
        """
        start = max(after or 0, self._acked)
        first = bisect.bisect_right(
            self._memory, start, lo=self._memory_head, key=lambda event: event.seq
        )
        events = self._memory[first : first + limit]
        if len(events) < limit and self._memory_through < self._durable_seq:
            disk_after = max(start, self._memory_through)
            more = self._reader.read(
                after=disk_after, through=self._durable_seq, limit=limit - len(events)
            )
            if disk_after == self._memory_through:
                self._refill_memory(more)
            events.extend(more)
        return events

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
        lines, events = self._buffer, self._buffered
        self._buffer, self._buffered = [], []
        try:
            await asyncio.to_thread(self._log.append, lines)
        except BaseException:
            # Not durable: put the batch back in front of anything appended meanwhile.
            self._buffer, self._buffered = lines + self._buffer, events + self._buffered
            raise
        self._mark_durable(events)

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

    def _mark_durable(self, events: Sequence[AuditEvent]) -> None:
        last = events[-1].seq
        memory_complete = self._memory_through >= self._durable_seq
        fresh = [event for event in events if event.seq > self._acked]
        if memory_complete and self.memory_events + len(fresh) <= self._memory_max_events:
            self._memory.extend(fresh)
            self._memory_through = max(self._memory_through, last)
        self._durable_seq = max(self._durable_seq, last)
        self._durable_advanced.set()
        self._durable_advanced = asyncio.Event()

    def _refill_memory(self, events: Sequence[AuditEvent]) -> None:
        """Take events just read from disk (contiguous after _memory_through) into memory."""
        room = self._memory_max_events - self.memory_events
        taken = events[:room]
        if taken:
            self._memory.extend(taken)
            self._memory_through = taken[-1].seq

    def _forget_acknowledged(self) -> None:
        self._memory_head = bisect.bisect_right(
            self._memory, self._acked, lo=self._memory_head, key=lambda event: event.seq
        )
        if self._memory_head >= _COMPACT_AFTER or self._memory_head == len(self._memory):
            del self._memory[: self._memory_head]
            self._memory_head = 0

    def _announce_round(self) -> None:
        self._round_finished.set()
        self._round_finished = asyncio.Event()


def _encode_line(event: AuditEvent) -> bytes:
    text = json.dumps(event.to_dict(), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8") + b"\n"


def _parse_line(line: bytes) -> AuditEvent | None:
    """The event on a complete line, or None for a torn or unreadable one."""
    if not line.endswith(b"\n"):
        return None
    try:
        document = json.loads(line)
        return AuditEvent.from_dict(document) if isinstance(document, dict) else None
    except (ValueError, ContractError):
        return None


def _segment_name(first_seq: int) -> str:
    return f"{first_seq:020d}.jsonl"


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _SegmentLog:
    """The segment files and the watermark file.

    ``append``, ``retire`` and ``close`` run on worker threads, serialised by a lock (the
    spool's writer awaits each call; the lock covers a writer cancelled mid-call while
    ``Spool.close`` starts the final round). ``segments`` may be called from the event loop.
    """

    def __init__(
        self, directory: Path, max_bytes: int, segments: list[int], last_seq: int, lock_fd: int
    ) -> None:
        self.directory = directory
        self._lock_fd = lock_fd  # the directory lock, held until close
        self._max_bytes = max_bytes
        self._lock = threading.Lock()  # guards _segments
        self._io_lock = threading.Lock()  # one file operation at a time
        self._segments = segments  # first seqs, ascending
        self._last_seq = last_seq  # the highest seq in any segment
        self._fd: int | None = None  # the active segment, opened on the first append
        self._active_first = 0
        self._size = 0  # bytes of the active segment known to be fsync'd

    def segments(self) -> list[int]:
        with self._lock:
            return list(self._segments)

    def path(self, first_seq: int) -> Path:
        return self.directory / _segment_name(first_seq)

    def append(self, lines: Sequence[Line]) -> None:
        """Write the lines and fsync, starting new segments as they fill up."""
        with self._io_lock:
            self._append(lines)

    def _append(self, lines: Sequence[Line]) -> None:
        start = 0
        while start < len(lines):
            first_seq, first_line = lines[start]
            full = self._size > 0 and self._size + len(first_line) > self._max_bytes
            if self._fd is None or full:
                self._start_segment(first_seq)
            end = self._fitting(lines, start)
            self._write(lines[start:end])
            start = end

    def retire(self, acked: int) -> None:
        """Persist the watermark, then delete the segments it fully covers."""
        with self._io_lock:
            _write_state(self.directory, acked)
            self.delete_retired(acked)

    def delete_retired(self, acked: int) -> None:
        """Delete the segments whose events all have seq <= ``acked``."""
        for first_seq in self._take_retired(acked):
            if first_seq == self._active_first:
                self._close_active()
            self.path(first_seq).unlink(missing_ok=True)

    def close(self) -> None:
        """Close the active segment and give up the directory lock."""
        with self._io_lock:
            self._close_active()
            if self._lock_fd >= 0:
                os.close(self._lock_fd)  # also releases the flock
                self._lock_fd = -1

    def _close_active(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._active_first = 0

    def _fitting(self, lines: Sequence[Line], start: int) -> int:
        size, end = self._size, start
        while end < len(lines) and (end == start or size + len(lines[end][1]) <= self._max_bytes):
            size += len(lines[end][1])
            end += 1
        return end

    def _start_segment(self, first_seq: int) -> None:
        # The previous segment is complete and fsync'd before the next one exists, so only
        # the last segment can ever have a torn tail.
        self._close_active()
        self._fd = os.open(self.path(first_seq), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._active_first = first_seq
        self._size = os.fstat(self._fd).st_size
        _fsync_directory(self.directory)
        with self._lock:
            if not self._segments or self._segments[-1] != first_seq:
                self._segments.append(first_seq)

    def _write(self, chunk: Sequence[Line]) -> None:
        assert self._fd is not None
        data = b"".join(line for _, line in chunk)
        try:
            _write_all(self._fd, data)
            os.fsync(self._fd)
        except OSError:
            self._abandon_active()
            raise
        self._size += len(data)
        self._last_seq = max(self._last_seq, chunk[-1][0])

    def _abandon_active(self) -> None:
        """After a failed write: cut the segment back to what was fsync'd, and close it."""
        assert self._fd is not None
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, self._size)
        with contextlib.suppress(OSError):
            os.close(self._fd)
        self._fd = None
        self._active_first = 0

    def _take_retired(self, acked: int) -> list[int]:
        with self._lock:
            if not self._segments:
                return []
            ends = [next_first - 1 for next_first in self._segments[1:]] + [self._last_seq]
            retired = [
                first for first, end in zip(self._segments, ends, strict=True) if end <= acked
            ]
            self._segments = [first for first in self._segments if first not in retired]
        return retired


def _write_state(directory: Path, acked: int) -> None:
    """Replace the watermark file atomically and durably."""
    path, temporary = directory / STATE_FILENAME, directory / (STATE_FILENAME + ".tmp")
    document = {"format": SPOOL_STATE_FORMAT, "acked_seq": acked}
    with open(temporary, "wb") as file:
        file.write(json.dumps(document).encode("ascii") + b"\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    _fsync_directory(directory)


def _read_state(directory: Path) -> int:
    """The persisted watermark (0 for a new spool); SpoolError if unreadable or too new."""
    try:
        document = json.loads((directory / STATE_FILENAME).read_bytes())
    except FileNotFoundError:
        return 0
    except ValueError as exc:
        raise SpoolError(f"unreadable spool state {directory / STATE_FILENAME}: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != SPOOL_STATE_FORMAT:
        raise SpoolError(f"unsupported spool state format in {directory / STATE_FILENAME}")
    acked = document.get("acked_seq")
    if not isinstance(acked, int) or isinstance(acked, bool) or acked < 0:
        raise SpoolError(f"malformed acked_seq in {directory / STATE_FILENAME}")
    return acked


@dataclass(frozen=True)
class _Recovered:
    log: _SegmentLog
    acked: int
    last_seq: int  # the highest seq on disk, 0 if none


def _recover(directory: Path, segment_max_bytes: int) -> _Recovered:
    """Read the spool back after a restart or crash (runs on a worker thread)."""
    directory.mkdir(parents=True, exist_ok=True)
    lock_fd = _lock_directory(directory)
    try:
        return _recover_locked(directory, segment_max_bytes, lock_fd)
    except BaseException:
        os.close(lock_fd)
        raise


def _lock_directory(directory: Path) -> int:
    """Hold an exclusive lock on the spool: two agents on one spool would reuse seqs."""
    fd = os.open(directory / LOCK_FILENAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise SpoolError(f"the spool {directory} is in use by another agent process") from None
    return fd


def _recover_locked(directory: Path, segment_max_bytes: int, lock_fd: int) -> _Recovered:
    (directory / (STATE_FILENAME + ".tmp")).unlink(missing_ok=True)
    acked = _read_state(directory)
    segments = sorted(
        int(match[1]) for name in os.listdir(directory) if (match := SEGMENT_PATTERN.match(name))
    )
    last_seq = 0
    while segments and not last_seq:
        last_seq = _repair_tail(directory / _segment_name(segments[-1]))
        if not last_seq:
            (directory / _segment_name(segments.pop())).unlink()
    segment_log = _SegmentLog(directory, segment_max_bytes, segments, last_seq, lock_fd)
    segment_log.delete_retired(acked)
    return _Recovered(log=segment_log, acked=acked, last_seq=last_seq)


def _repair_tail(path: Path) -> int:
    """Cut the segment at its first torn or unreadable line; return its last seq (0: none)."""
    good_end = last_seq = 0
    with open(path, "r+b") as file:
        for line in file:
            event = _parse_line(line)
            if event is None:
                break
            good_end += len(line)
            last_seq = max(last_seq, event.seq)
        size = file.seek(0, os.SEEK_END)
        if good_end < size:
            log.warning(
                "dropping %d bytes of torn tail from spool segment %s", size - good_end, path.name
            )
            file.truncate(good_end)
        # A killed process leaves its last writes in the page cache, unsynced. They are about
        # to be sent, so they must be on disk first: otherwise a later power loss could hand
        # their seqs out again for different events the control plane would then ignore.
        file.flush()
        os.fsync(file.fileno())
    return last_seq


@dataclass
class _ReadPosition:
    after: int  # the seq of the last event returned
    segment: int  # the first seq of the segment to continue in
    offset: int  # byte offset in that segment


class _SegmentReader:
    """Reads durable events back from the segment files, continuing where it left off."""

    def __init__(self, segments: _SegmentLog) -> None:
        self._log = segments
        self._position: _ReadPosition | None = None

    def read(self, *, after: int, through: int, limit: int) -> list[AuditEvent]:
        """Up to ``limit`` events with after < seq <= through, in seq order."""
        segments = self._log.segments()
        index, offset = self._locate(segments, after)
        events: list[AuditEvent] = []
        while index < len(segments):
            is_last = index == len(segments) - 1
            offset, stopped = self._scan(
                segments[index], offset, after, through, limit, events, is_last=is_last
            )
            if stopped or is_last:
                break
            index, offset = index + 1, 0
        if events and index < len(segments):
            self._position = _ReadPosition(events[-1].seq, segments[index], offset)
        return events

    def _locate(self, segments: list[int], after: int) -> tuple[int, int]:
        position = self._position
        if position is not None and position.after == after and position.segment in segments:
            return segments.index(position.segment), position.offset
        return max(bisect.bisect_right(segments, after + 1) - 1, 0), 0

    def _scan(
        self,
        first_seq: int,
        offset: int,
        after: int,
        through: int,
        limit: int,
        events: list[AuditEvent],
        *,
        is_last: bool,
    ) -> tuple[int, bool]:
        """Append events from one segment; return (offset reached, whether to stop here)."""
        try:
            file = open(self._log.path(first_seq), "rb")  # noqa: SIM115 (closed below)
        except FileNotFoundError:
            return 0, False  # retired meanwhile: everything in it was acknowledged
        with file:
            file.seek(offset)
            for line in file:
                event = _parse_line(line)
                if event is None and not line.endswith(b"\n"):
                    return offset, is_last  # still being written, or a torn tail
                if event is None:
                    log.error("skipping an unreadable line in spool segment %s", first_seq)
                elif event.seq > through or len(events) >= limit:
                    return offset, True
                elif event.seq > (events[-1].seq if events else after):
                    events.append(event)
                offset += len(line)
        return offset, False
