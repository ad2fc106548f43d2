"""The message bodies the ResultMasker reads and rewrites, read with struct at offsets.

Client bodies it must read to know a row's shape (Bind's result formats, Execute's portal,
FunctionCall's result format), the server's RowDescription, and the two rewrites that are
not per-type: an ErrorResponse / NoticeResponse with fields masked, and a DataRow with some
values replaced. Malformed client bodies raise ProtocolViolation, like wire.messages.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from dataplane.protocols.postgres.wire.errors import ProtocolViolation
from dataplane.protocols.postgres.wire.reader import BodyReader, decode_text

MASKED_ERROR_FIELDS: Final = frozenset(b"MDHW")

_INT32 = struct.Struct("!i")
_UINT16 = struct.Struct("!H")
_NULL = _INT32.pack(-1)

Column = tuple[str, int, int]  # name, type OID, format code
# A changed DataRow value: (start of its length field, end of its bytes, new bytes or NULL).
ValueChange = tuple[int, int, bytes | None]


@dataclass(frozen=True, slots=True)
class BindFormats:
    """What of a Bind decides its rows' shape."""

    portal: str
    statement: str
    formats: tuple[int, ...]


def parse_row_description(body: bytes) -> tuple[Column, ...]:
    """RowDescription: (name, type OID, format code) of each column."""
    reader = BodyReader(body, "RowDescription")
    columns = []
    for _ in range(reader.count()):
        name = reader.cstring()
        reader.skip(6)  # table OID, column number
        type_oid = reader.uint32()
        reader.skip(6)  # type size, type modifier
        columns.append((name, type_oid, reader.int16()))
    reader.end()
    return tuple(columns)


def parse_bind_formats(body: bytes) -> BindFormats:
    """Bind: portal, statement and the result format codes (0, 1 or one per column).

    On every extended-protocol execution, so read with struct at offsets rather than
    through BodyReader; any inconsistency is still a ProtocolViolation."""
    try:
        portal_end = body.index(0)
        statement_end = body.index(0, portal_end + 1)
        offset = statement_end + 3 + 2 * _UINT16.unpack_from(body, statement_end + 1)[0]
        (parameters,) = _UINT16.unpack_from(body, offset)
        offset += 2
        for _ in range(parameters):
            (size,) = _INT32.unpack_from(body, offset)
            offset += 4 + max(size, 0)
        (count,) = _UINT16.unpack_from(body, offset)
        formats = struct.unpack_from(f"!{count}h", body, offset + 2)
    except (ValueError, struct.error) as error:
        raise ProtocolViolation("invalid Bind message: truncated") from error
    if offset + 2 + 2 * count != len(body):
        raise ProtocolViolation("invalid Bind message: unexpected trailing bytes")
    portal = decode_text(body[:portal_end])
    return BindFormats(portal, decode_text(body[portal_end + 1 : statement_end]), formats)


def parse_execute_portal(body: bytes) -> str:
    """Execute: the portal's name (the row limit does not change a row's shape)."""
    end = body.find(0)
    if end < 0 or len(body) != end + 5:
        raise ProtocolViolation("invalid Execute message")
    return decode_text(body[:end]) if end else ""


def function_result_format(body: bytes) -> int:
    """FunctionCall: the result format code, its last field."""
    reader = BodyReader(body, "FunctionCall")
    reader.skip(4)  # function OID
    reader.skip(2 * reader.count())  # argument format codes
    reader.skip_values("argument")
    result_format = reader.int16()
    reader.end()
    return result_format


def mask_error_fields(body: bytes, mask_text: Callable[[str, str], str]) -> bytes:
    """ErrorResponse / NoticeResponse with fields M, D, H and W masked."""
    fields: list[tuple[int, bytes]] = []
    changed = False
    reader = BodyReader(body, "ErrorResponse")
    while (code := reader.byte()) != 0:
        value = reader.cstring_bytes()
        if code in MASKED_ERROR_FIELDS:
            text = decode_text(value)
            masked = mask_text("", text)
            if masked != text:
                value, changed = masked.encode("utf-8").replace(b"\x00", b""), True
        fields.append((code, value))
    if not changed:
        return body
    return b"".join(bytes([code]) + value + b"\x00" for code, value in fields) + b"\x00"


def with_changes(body: bytes, changes: list[ValueChange]) -> bytes:
    parts: list[bytes] = []
    last = 0
    for start, end, value in changes:
        parts.append(body[last:start])
        parts.append(_NULL if value is None else _INT32.pack(len(value)) + value)
        last = end
    parts.append(body[last:])
    return b"".join(parts)
