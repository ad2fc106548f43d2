"""Server-Sent Events split incrementally from a byte stream, each kept byte-exact.

An event ends at a blank line; lines end in CRLF, LF or CR (the EventSource spec). Each
event keeps its raw bytes (terminator included) so one the gateway does not change is
passed on exactly as it came; only its ``data`` (lines joined with LF) and ``event`` fields
are decoded. Bytes of an event whose blank line has not arrived yet are held.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LINE_END = re.compile(rb"\r\n|\r|\n")
# Past this many bytes without a blank line the stream is no SSE the gateway can read.
MAX_EVENT_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class SseEvent:
    raw: bytes  # as received, terminating blank line included
    event: str  # the `event:` field ("" when absent)
    data: str | None  # `data:` lines joined with "\n"; None: no data line (a comment)


class SseOverflow(ValueError):
    """An event grew past MAX_EVENT_BYTES without ending: not an event stream."""


class SseParser:
    """Feed bytes, get the events completed by them, in order."""

    def __init__(self) -> None:
        self._buffer = b""
        self._scanned = 0  # offset of the first line not yet read
        self._fields: list[bytes] = []  # lines of the event being read

    def feed(self, data: bytes) -> list[SseEvent]:
        """The events `data` completes; raises SseOverflow on a runaway event."""
        self._buffer += data
        events: list[SseEvent] = []
        start = 0  # where the current event's raw bytes begin
        position = self._scanned
        while True:
            found = LINE_END.search(self._buffer, position)
            if found is None:
                break
            if found.group() == b"\r" and found.end() == len(self._buffer):
                break  # a CR at the end may be the first half of a CRLF
            line = self._buffer[position : found.start()]
            position = found.end()
            if line:
                self._fields.append(line)
                continue
            events.append(_event(self._buffer[start:position], self._fields))
            self._fields, start = [], position
        self._buffer, self._scanned = self._buffer[start:], position - start
        if len(self._buffer) > MAX_EVENT_BYTES:
            raise SseOverflow(f"no event boundary in {len(self._buffer)} bytes")
        return events

    def close(self) -> bytes:
        """The bytes of an unfinished last event (the spec drops it; the relay sends it)."""
        held, self._buffer, self._scanned, self._fields = self._buffer, b"", 0, []
        return held


def _event(raw: bytes, lines: list[bytes]) -> SseEvent:
    name = ""
    data: list[str] = []
    for line in lines:
        field, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if field == b"data":
            data.append(value.decode("utf-8", "replace"))
        elif field == b"event":
            name = value.decode("utf-8", "replace")
    return SseEvent(raw, name, "\n".join(data) if data else None)


def encode_event(data: str, event: str = "") -> bytes:
    """A new event with one data line (`data` must hold no line break: compact JSON)."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data}\n\n".encode()


def replace_data(raw: bytes, data: str) -> bytes:
    """`raw` with its data lines replaced by one line of `data`, other fields kept."""
    kept: list[bytes] = []
    placed = False
    for line in LINE_END.split(raw):
        if not line:
            continue
        if line.partition(b":")[0] == b"data":
            if not placed:
                kept.append(b"data: " + data.encode())
                placed = True
            continue
        kept.append(line)
    return b"\n".join(kept) + b"\n\n"
