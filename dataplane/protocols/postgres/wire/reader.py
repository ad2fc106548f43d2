"""A bounds-checked reader over one message body.

Every parser in the wire package reads through this, so a truncated or overlong body always
surfaces as a ProtocolViolation naming the message, never as an IndexError or struct.error.
"""

from __future__ import annotations

import struct

from dataplane.protocols.postgres.wire.errors import ProtocolViolation

_INT16 = struct.Struct("!h")
_INT32 = struct.Struct("!i")
_UINT32 = struct.Struct("!I")


def decode_text(raw: bytes) -> str:
    """Text from a peer, in its client_encoding, which is usually but not always UTF-8.

    Undecodable bytes become U+FFFD: a LATIN1 client's query must still be relayed and
    audited, not refused.
    """
    return raw.decode("utf-8", "replace")


class BodyReader:
    """Reads fields front to back; `what` names the message in error messages."""

    __slots__ = ("_body", "_offset", "_what")

    def __init__(self, body: bytes, what: str) -> None:
        self._body = body
        self._offset = 0
        self._what = what

    def violation(self, problem: str) -> ProtocolViolation:
        """A ProtocolViolation about this message (for checks done by the caller)."""
        return ProtocolViolation(f"invalid {self._what} message: {problem}")

    def remaining(self) -> int:
        return len(self._body) - self._offset

    def cstring_bytes(self) -> bytes:
        """A String field: bytes up to a NUL terminator, which is consumed."""
        end = self._body.find(b"\x00", self._offset)
        if end < 0:
            raise self.violation("missing string terminator")
        value = self._body[self._offset : end]
        self._offset = end + 1
        return value

    def cstring(self) -> str:
        return decode_text(self.cstring_bytes())

    def byte(self) -> int:
        if self._offset >= len(self._body):
            raise self.violation("truncated")
        value = self._body[self._offset]
        self._offset += 1
        return value

    def int16(self) -> int:
        return self._unpack(_INT16, 2)

    def int32(self) -> int:
        return self._unpack(_INT32, 4)

    def uint32(self) -> int:
        return self._unpack(_UINT32, 4)

    def count(self) -> int:
        """An Int16 number of following items; negative counts are malformed."""
        value = self.int16()
        if value < 0:
            raise self.violation(f"negative count {value}")
        return value

    def skip(self, size: int) -> None:
        if size > self.remaining():
            raise self.violation("truncated")
        self._offset += size

    def take(self, size: int) -> bytes:
        start = self._offset
        self.skip(size)
        return self._body[start : self._offset]

    def rest(self) -> bytes:
        value = self._body[self._offset :]
        self._offset = len(self._body)
        return value

    def skip_values(self, what: str) -> int:
        """Int16 count, then that many (Int32 length, bytes) values, -1 meaning NULL.

        Returns the count. Used for Bind parameters and FunctionCall arguments.
        """
        count = self.count()
        for _ in range(count):
            size = self.int32()
            if size < -1:
                raise self.violation(f"negative {what} length {size}")
            if size > 0:
                self.skip(size)
        return count

    def end(self) -> None:
        """The body must be fully consumed: trailing bytes mean a malformed message."""
        if self._offset != len(self._body):
            raise self.violation(f"{self.remaining()} unexpected trailing bytes")

    def _unpack(self, layout: struct.Struct, size: int) -> int:
        if self._offset + size > len(self._body):
            raise self.violation("truncated")
        (value,) = layout.unpack_from(self._body, self._offset)
        self._offset += size
        return int(value)
