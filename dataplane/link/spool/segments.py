"""The spool's files: the segment log, the ack watermark, the directory lock, and recovery."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dataplane.link.spool.lines import Line, line_seq

log = logging.getLogger("gatehouse.spool")

SPOOL_STATE_FORMAT = 1
STATE_FILENAME = "acked.json"
LOCK_FILENAME = "lock"
SEGMENT_PATTERN = re.compile(r"^(\d{20})\.jsonl$")


class SpoolError(RuntimeError):
    """The spool cannot do what was asked (closed, unreadable state, writer stopped)."""


def segment_name(first_seq: int) -> str:
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


class SegmentLog:
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
        return self.directory / segment_name(first_seq)

    def append(self, lines: Sequence[Line]) -> None:
        """Write the lines (each plus its newline) and fsync, starting new segments as they
        fill up."""
        with self._io_lock:
            self._append(lines)

    def _append(self, lines: Sequence[Line]) -> None:
        start = 0
        while start < len(lines):
            first_seq, first_line = lines[start]
            full = self._size > 0 and self._size + len(first_line) + 1 > self._max_bytes
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
        while end < len(lines) and (
            end == start or size + len(lines[end][1]) + 1 <= self._max_bytes
        ):
            size += len(lines[end][1]) + 1
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
        lines = [line for _, line in chunk]
        lines.append(b"")  # for the last newline, without copying the joined bytes again
        data = b"\n".join(lines)
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
class Recovered:
    log: SegmentLog
    acked: int
    last_seq: int  # the highest seq on disk, 0 if none


def recover(directory: Path, segment_max_bytes: int) -> Recovered:
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


def _recover_locked(directory: Path, segment_max_bytes: int, lock_fd: int) -> Recovered:
    (directory / (STATE_FILENAME + ".tmp")).unlink(missing_ok=True)
    acked = _read_state(directory)
    segments = sorted(
        int(match[1]) for name in os.listdir(directory) if (match := SEGMENT_PATTERN.match(name))
    )
    last_seq = 0
    while segments and not last_seq:
        last_seq = _repair_tail(directory / segment_name(segments[-1]))
        if not last_seq:
            (directory / segment_name(segments.pop())).unlink()
    segment_log = SegmentLog(directory, segment_max_bytes, segments, last_seq, lock_fd)
    segment_log.delete_retired(acked)
    return Recovered(log=segment_log, acked=acked, last_seq=last_seq)


def _repair_tail(path: Path) -> int:
    """Cut the segment at its first torn or unreadable line; return its last seq (0: none)."""
    good_end = last_seq = 0
    with open(path, "r+b") as file:
        for line in file:
            seq = line_seq(line)
            if seq is None:
                break
            good_end += len(line)
            last_seq = max(last_seq, seq)
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
