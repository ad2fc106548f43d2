"""Framing: splitting a byte stream into PostgreSQL messages, without doing any I/O.

Two phases, two framers. A connection opens in the untyped startup phase (StartupFramer:
`Int32 length, contents`), then switches to typed messages (MessageFramer: `Byte1 type,
Int32 length, body`). In both, the length counts itself.

The relay forwards the raw bytes it read and uses MessageFramer only to see message
boundaries and the few bodies it inspects, so the framer is built for that: one pass per
chunk with struct.unpack_from at an offset, bodies the caller did not ask for are neither
copied nor buffered.
"""

from __future__ import annotations

import struct

from dataplane.protocols.postgres.wire.errors import ProtocolViolation
from dataplane.protocols.postgres.wire.messages import GSSENC_REQUEST_CODE, SSL_REQUEST_CODE

_LENGTH = struct.Struct("!I")
_HEADER_SIZE = 5  # Byte1 type + Int32 length

MAX_STARTUP_PACKET = 10_000  # the server's MAX_STARTUP_PACKET_LENGTH
_MIN_STARTUP_PACKET = 8  # length + protocol version / request code
# Packets after which the stream stays in the startup phase: the server answers 'S'/'N' (or
# 'G'/'N') and, after 'N', the client sends another startup packet.
_NEGOTIATION_CODES = frozenset(
    _LENGTH.pack(code) for code in (SSL_REQUEST_CODE, GSSENC_REQUEST_CODE)
)


class MessageFramer:
    """Splits the typed phase of one direction of a connection into (type, body) pairs.

    `wanted`, when given, is the set of message types whose bodies the caller needs; other
    messages are still reported, in order, but with an empty body, and their bytes are
    skipped without being copied or buffered (a 1 GB CopyData costs nothing). Messages are
    reported once complete. After a ProtocolViolation the stream is unusable.
    """

    __slots__ = (
        "_buffer",
        "_max_message_size",
        "_needed",
        "_skip_remaining",
        "_skip_total",
        "_skip_type",
        "_wanted",
    )

    def __init__(
        self, max_message_size: int = 64 * 1024 * 1024, wanted: frozenset[int] | None = None
    ) -> None:
        self._max_message_size = max_message_size
        self._wanted = wanted
        self._buffer = bytearray()  # the start of an incomplete message we must keep
        self._needed = _HEADER_SIZE  # bytes the buffered message needs to be complete
        self._skip_type = 0  # type of the unwanted message being skipped
        self._skip_remaining = 0  # its bytes still to come
        self._skip_total = 0  # its whole size, type byte included

    @property
    def buffered(self) -> int:
        """Bytes of the incomplete message received so far; 0 exactly at a message boundary.

        The bytes of an unwanted message are counted here although they are not held.
        """
        return len(self._buffer) + self._skip_total - self._skip_remaining

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """The messages completed by `data`, in stream order."""
        messages: list[tuple[int, bytes]] = []
        start = self._continue_skip(data, messages) if self._skip_remaining else 0
        if self._buffer:
            self._buffer += memoryview(data)[start:]
            if len(self._buffer) < self._needed:
                return messages
            stream, start = bytes(self._buffer), 0
            self._buffer = bytearray()
        else:
            stream = data
        end = self._split(stream, start, messages)
        if end < len(stream):
            self._buffer += memoryview(stream)[end:]
        return messages

    def _continue_skip(self, data: bytes, messages: list[tuple[int, bytes]]) -> int:
        """Consume the rest of an unwanted message; returns where the next message starts."""
        consumed = min(len(data), self._skip_remaining)
        self._skip_remaining -= consumed
        if not self._skip_remaining:
            messages.append((self._skip_type, b""))
            self._skip_total = 0
        return consumed

    def _split(self, stream: bytes, offset: int, messages: list[tuple[int, bytes]]) -> int:
        """Append every complete message from `offset`; returns the offset of what is left.

        An incomplete unwanted message at the end turns into a skip and counts as consumed;
        an incomplete wanted one (or a partial header) is left for the caller to buffer.
        """
        unpack, append = _LENGTH.unpack_from, messages.append
        wanted, limit, size = self._wanted, self._max_message_size, len(stream)
        while size - offset >= _HEADER_SIZE:
            message_type = stream[offset]
            (length,) = unpack(stream, offset + 1)
            if length < 4 or length > limit:
                raise _bad_length(message_type, length, limit)
            end = offset + 1 + length
            keep = wanted is None or message_type in wanted
            if end > size:
                if keep:
                    self._needed = 1 + length
                    return offset
                self._skip_type, self._skip_total = message_type, 1 + length
                self._skip_remaining = end - size
                return size
            append((message_type, stream[offset + _HEADER_SIZE : end] if keep else b""))
            offset = end
        self._needed = _HEADER_SIZE
        return offset


def _bad_length(message_type: int, length: int, limit: int) -> ProtocolViolation:
    what = "too short" if length < 4 else f"over the limit of {limit} bytes"
    return ProtocolViolation(f"message of type 0x{message_type:02x} with length {length} is {what}")


class StartupFramer:
    """Splits the untyped startup phase into packet contents (after the Int32 length).

    It frames SSLRequest / GSSENCRequest packets and the one packet that ends the phase
    (StartupMessage, CancelRequest, anything else); bytes after that packet belong to the
    next phase (typed messages) and stay in the buffer for `take_remaining()`. A client must
    send nothing after a packet until it is answered, so a caller may treat `buffered > 0`
    after a packet as a protocol violation (CVE-2021-23214).
    """

    __slots__ = ("_buffer", "_finished")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._finished = False

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    @property
    def finished(self) -> bool:
        """True once the packet that ends the startup phase has been returned."""
        return self._finished

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        packets: list[bytes] = []
        while not self._finished and (packet := self._next_packet()) is not None:
            packets.append(packet)
            self._finished = packet[:4] not in _NEGOTIATION_CODES
        return packets

    def take_remaining(self) -> bytes:
        """Everything buffered, handed over to whoever reads the next phase."""
        remaining, self._buffer = bytes(self._buffer), bytearray()
        return remaining

    def _next_packet(self) -> bytes | None:
        if len(self._buffer) < 4:
            return None
        (length,) = _LENGTH.unpack_from(self._buffer)
        if length < _MIN_STARTUP_PACKET or length > MAX_STARTUP_PACKET:
            raise ProtocolViolation(f"invalid length of startup packet: {length}")
        if len(self._buffer) < length:
            return None
        packet = bytes(self._buffer[4:length])
        del self._buffer[:length]
        return packet
