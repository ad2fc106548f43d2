"""Reading durable lines back from the segment files (beyond the memory cap, after a restart)."""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass

from dataplane.link.spool.lines import Line, line_seq
from dataplane.link.spool.segments import SegmentLog

log = logging.getLogger("gatehouse.spool")


@dataclass
class _ReadPosition:
    after: int  # the seq of the last line returned
    segment: int  # the first seq of the segment to continue in
    offset: int  # byte offset in that segment


class SegmentReader:
    """Reads durable lines back from the segment files, continuing where it left off.

    Every line is checked to be a readable event before it is returned: the link splices
    lines into its frames as they are, so one bad line would spoil a whole batch.
    """

    def __init__(self, segments: SegmentLog) -> None:
        self._log = segments
        self._position: _ReadPosition | None = None

    def read(self, *, after: int, through: int, limit: int) -> list[Line]:
        """Up to ``limit`` lines of events with after < seq <= through, in seq order."""
        segments = self._log.segments()
        index, offset = self._locate(segments, after)
        lines: list[Line] = []
        while index < len(segments):
            is_last = index == len(segments) - 1
            offset, stopped = self._scan(
                segments[index], offset, after, through, limit, lines, is_last=is_last
            )
            if stopped or is_last:
                break
            index, offset = index + 1, 0
        if lines and index < len(segments):
            self._position = _ReadPosition(lines[-1][0], segments[index], offset)
        return lines

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
        lines: list[Line],
        *,
        is_last: bool,
    ) -> tuple[int, bool]:
        """Append lines from one segment; return (offset reached, whether to stop here)."""
        try:
            file = open(self._log.path(first_seq), "rb")  # noqa: SIM115 (closed below)
        except FileNotFoundError:
            return 0, False  # retired meanwhile: everything in it was acknowledged
        with file:
            file.seek(offset)
            for line in file:
                seq = line_seq(line)
                if seq is None and not line.endswith(b"\n"):
                    return offset, is_last  # still being written, or a torn tail
                if seq is None:
                    log.error("skipping an unreadable line in spool segment %s", first_seq)
                elif seq > through or len(lines) >= limit:
                    return offset, True
                elif seq > (lines[-1][0] if lines else after):
                    lines.append((seq, line[:-1]))
                offset += len(line)
        return offset, False
