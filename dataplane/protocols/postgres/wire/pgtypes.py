"""PostgreSQL type OIDs, and how a result value of each type is masked.

A DataRow value is masked by a *column function*: given the value's bytes it returns the
same bytes object when nothing changes (the caller then copies the original bytes), new
bytes when the value was masked, or None when the value must be sent as NULL. A column
whose function is None is passed through without being looked at; building the functions
once per result shape keeps the per-row cost to what is actually scanned.

How each type is treated (text format = format code 0, binary = 1):

| types                                              | text format       | binary format        |
|----------------------------------------------------|-------------------|----------------------|
| text, varchar, bpchar, name, char, xml, unknown    | mask_text         | UTF-8 -> mask_text   |
| json                                               | mask_json         | UTF-8 -> mask_json   |
| jsonb                                              | mask_json         | version 1 + text     |
| int2, int4, int8, numeric (card numbers, SSNs)     | must_null         | decoded -> must_null |
| date (a date of birth)                             | must_null         | decoded -> must_null |
| inet, cidr, macaddr, macaddr8 (IP / MAC addresses) | must_null         | decoded -> must_null |
| bool, float4/8, oid, uuid, money, timestamp(tz),   | passed            | passed               |
|   time(tz), interval (cannot hold an entity)       |                   |                      |
| bytea                                              | must_null(col,"") | must_null(col, "")   |
| arrays of the types above                          | mask_text         | element by element   |
| anything else (domains, enums, citext, records,    | mask_text         | MaskingFailed        |
|   extension types, arrays of those)                |                   |                      |

- must_null answers whether a typed value holds something to mask; those types cannot carry
  a marker, so a True answer sends NULL.
- The passed types are skipped for speed: a bool, a float, a uuid or a timestamp cannot hold
  any entity the engine knows. Column rules therefore do not reach them either.
- bytea is opaque (a picture, a ciphertext): it is not scanned, but must_null is asked with
  an empty text so that a column rule naming the column still turns it into NULL.
- A binary array (asyncpg sends text[] and int8[] in binary) is masked element by element
  with its element type's rule; an element that must be NULL becomes a NULL element.
- In text format every other type is text as far as masking goes (an array or a record is
  scanned in its text form). In binary format a type we cannot decode cannot be inspected,
  so the statement fails closed: MaskingFailed.
"""

from __future__ import annotations

import datetime
import ipaddress
import struct
from collections.abc import Callable
from typing import Final

from dataplane.masking.values import MaskingFailed, ValueMasker

# -- type OIDs (pg_type.dat) -----------------------------------------------------------------
BOOL: Final = 16
BYTEA: Final = 17
CHAR: Final = 18
NAME: Final = 19
INT8: Final = 20
INT2: Final = 21
INT4: Final = 23
TEXT: Final = 25
OID: Final = 26
JSON: Final = 114
XML: Final = 142
CIDR: Final = 650
FLOAT4: Final = 700
FLOAT8: Final = 701
UNKNOWN: Final = 705
MACADDR8: Final = 774
MONEY: Final = 790
MACADDR: Final = 829
INET: Final = 869
BPCHAR: Final = 1042
VARCHAR: Final = 1043
DATE: Final = 1082
TIME: Final = 1083
TIMESTAMP: Final = 1114
TIMESTAMPTZ: Final = 1184
INTERVAL: Final = 1186
TIMETZ: Final = 1266
NUMERIC: Final = 1700
UUID: Final = 2950
JSONB: Final = 3802

TEXT_FORMAT: Final = 0
BINARY_FORMAT: Final = 1

TEXT_LIKE: Final = frozenset({TEXT, VARCHAR, BPCHAR, NAME, CHAR, XML, UNKNOWN})
JSON_TYPES: Final = frozenset({JSON, JSONB})
# Typed values that can hold an entity: numbers (cards, SSNs), dates (birth), addresses.
SCANNED_TYPED: Final = frozenset({INT2, INT4, INT8, NUMERIC, DATE, INET, CIDR, MACADDR, MACADDR8})
# Types that cannot hold any entity: never looked at.
PASSED: Final = frozenset(
    {BOOL, FLOAT4, FLOAT8, OID, UUID, MONEY, TIMESTAMP, TIMESTAMPTZ, TIME, TIMETZ, INTERVAL}
)

# A column function: value bytes -> the same object (unchanged), new bytes, or None (NULL).
ColumnFunction = Callable[[bytes], bytes | None]

_INT16 = struct.Struct("!h")
_INT32 = struct.Struct("!i")
_INT64 = struct.Struct("!q")
_NUMERIC_HEADER = struct.Struct("!hhHH")
_ARRAY_HEADER = struct.Struct("!iiI")
_POSTGRES_EPOCH = datetime.date(2000, 1, 1).toordinal()
_NUMERIC_NEGATIVE = 0x4000
_NUMERIC_NAN = 0xC000
_PGSQL_AF_INET = 2
_JSONB_VERSION = 1


def column_function(
    masker: ValueMasker, column: str, type_oid: int, format_code: int
) -> ColumnFunction | None:
    """How values of one result column are masked; None when they pass untouched.

    Raises MaskingFailed for a binary column whose type cannot be decoded.
    """
    if type_oid in PASSED:
        return None
    if type_oid == BYTEA:
        return _opaque(masker, column)
    if format_code == TEXT_FORMAT:
        return _text_format(masker, column, type_oid)
    if format_code == BINARY_FORMAT:
        return _binary_format(masker, column, type_oid)
    raise MaskingFailed(f"unknown result format code {format_code}")


def _text_format(masker: ValueMasker, column: str, type_oid: int) -> ColumnFunction:
    if type_oid in JSON_TYPES:
        return _as_text(masker.mask_json, column)
    if type_oid in SCANNED_TYPED:
        return _nulled(masker, column, _decode)
    return _as_text(masker.mask_text, column)


def _binary_format(masker: ValueMasker, column: str, type_oid: int) -> ColumnFunction | None:
    if type_oid in TEXT_LIKE or type_oid == JSON:
        mask = masker.mask_json if type_oid == JSON else masker.mask_text
        return _as_text(mask, column)
    if type_oid == JSONB:
        return _jsonb_binary(masker, column)
    if type_oid in ARRAY_ELEMENTS:
        element = column_function(masker, column, ARRAY_ELEMENTS[type_oid], BINARY_FORMAT)
        return None if element is None else _binary_array(ARRAY_ELEMENTS[type_oid], element)
    decode = BINARY_DECODERS.get(type_oid)
    if decode is None:
        raise MaskingFailed(f"binary values of type {type_oid} cannot be inspected")
    return _nulled(masker, column, decode)


# -- column functions ------------------------------------------------------------------------
def _decode(raw: bytes) -> str:
    """Text from the server: UTF-8 (the proxy's client_encoding); bad bytes become U+FFFD,
    which only matters if the value is masked (an unchanged value is sent as it came)."""
    return raw.decode("utf-8", "replace")


def _as_text(mask: Callable[[str, str], str], column: str) -> ColumnFunction:
    def masked(raw: bytes) -> bytes | None:
        text = raw.decode("utf-8", "replace")  # _decode, inlined: every text value
        result = mask(column, text)
        return raw if result == text else result.encode("utf-8")

    return masked


def _jsonb_binary(masker: ValueMasker, column: str) -> ColumnFunction:
    mask_json = masker.mask_json

    def masked(raw: bytes) -> bytes | None:
        if not raw or raw[0] != _JSONB_VERSION:
            raise MaskingFailed(f"binary jsonb of version {raw[:1]!r} cannot be inspected")
        text = _decode(raw[1:])
        result = mask_json(column, text)
        return raw if result == text else raw[:1] + result.encode("utf-8")

    return masked


def _nulled(masker: ValueMasker, column: str, decode: Callable[[bytes], str]) -> ColumnFunction:
    must_null = masker.must_null

    def masked(raw: bytes) -> bytes | None:
        return None if must_null(column, decode(raw)) else raw

    return masked


def _opaque(masker: ValueMasker, column: str) -> ColumnFunction:
    must_null = masker.must_null

    def masked(raw: bytes) -> bytes | None:
        return None if must_null(column, "") else raw

    return masked


def _binary_array(element_oid: int, element: ColumnFunction) -> ColumnFunction:
    """An array in binary form (array_send): ndim, has-null flag, element OID, (size, lower
    bound) per dimension, then each element as Int32 length (-1 NULL) and bytes."""

    def masked(raw: bytes) -> bytes | None:
        try:
            ndim, _, oid = _ARRAY_HEADER.unpack_from(raw)
            offset = _ARRAY_HEADER.size + 8 * ndim
            if oid != element_oid or ndim < 0:
                raise MaskingFailed(f"a binary array of type {oid} cannot be inspected")
            changes = _masked_elements(raw, offset, element)
        except struct.error as error:
            raise MaskingFailed("a malformed binary array cannot be inspected") from error
        if not changes:
            return raw
        return _rebuilt_array(raw, changes)

    return masked


def _masked_elements(
    raw: bytes, offset: int, element: ColumnFunction
) -> list[tuple[int, int, bytes | None]]:
    changes: list[tuple[int, int, bytes | None]] = []
    size = len(raw)
    while offset < size:
        (length,) = _INT32.unpack_from(raw, offset)
        start, offset = offset, offset + 4 + max(length, 0)
        if offset > size:
            raise MaskingFailed("a malformed binary array cannot be inspected")
        if length > 0:
            value = raw[start + 4 : offset]
            masked = element(value)
            if masked is not value:
                changes.append((start, offset, masked))
    return changes


def _rebuilt_array(raw: bytes, changes: list[tuple[int, int, bytes | None]]) -> bytes:
    has_null = any(value is None for _, _, value in changes)
    parts = [raw[:4], _INT32.pack(1) if has_null else raw[4:8]]
    last = 8
    for start, end, value in changes:
        parts.append(raw[last:start])
        parts.append(_INT32.pack(-1) if value is None else _INT32.pack(len(value)) + value)
        last = end
    parts.append(raw[last:])
    return b"".join(parts)


# -- binary decoders: a value's binary form to the text PostgreSQL would print ----------------
def _int_binary(layout: struct.Struct) -> Callable[[bytes], str]:
    def decode(raw: bytes) -> str:
        if len(raw) != layout.size:
            raise MaskingFailed(f"binary integer of {len(raw)} bytes cannot be inspected")
        return str(layout.unpack(raw)[0])

    return decode


def decode_numeric(raw: bytes) -> str:
    """numeric: ndigits, weight, sign, dscale, then base-10000 digits (numeric.c)."""
    try:
        ndigits, weight, sign, dscale = _NUMERIC_HEADER.unpack_from(raw)
        digits = struct.unpack_from(f"!{ndigits}H", raw, 8)
    except struct.error as error:
        raise MaskingFailed("a truncated binary numeric cannot be inspected") from error
    if sign >= _NUMERIC_NAN:  # NaN and the infinities hold no digits
        return "NaN"
    whole = "".join(f"{digit:04d}" for digit in digits) or "0"
    # The digits stand for whole * 10000^(weight - ndigits + 1).
    exponent = 4 * (weight - ndigits + 1)
    text = whole + "0" * exponent if exponent >= 0 else _with_point(whole, -exponent)
    text = _trim(text, dscale)
    return "-" + text if sign == _NUMERIC_NEGATIVE else text


def _with_point(digits: str, fraction: int) -> str:
    digits = digits.rjust(fraction + 1, "0")
    return digits[:-fraction] + "." + digits[-fraction:]


def _trim(text: str, dscale: int) -> str:
    """Leading zeros of the integer part, and fraction digits past the display scale."""
    integer, _, fraction = text.partition(".")
    integer = integer.lstrip("0") or "0"
    fraction = fraction[:dscale].ljust(dscale, "0")
    return f"{integer}.{fraction}" if dscale else integer


def decode_date(raw: bytes) -> str:
    """date: Int32 days since 2000-01-01; dates Python cannot hold are far from any birth."""
    if len(raw) != 4:
        raise MaskingFailed(f"binary date of {len(raw)} bytes cannot be inspected")
    (days,) = _INT32.unpack(raw)
    try:
        return datetime.date.fromordinal(_POSTGRES_EPOCH + days).isoformat()
    except (ValueError, OverflowError):
        return "infinity" if days > 0 else "-infinity"


def decode_inet(raw: bytes) -> str:
    """inet / cidr: family, bits, is_cidr, address length, address bytes (network.c)."""
    if len(raw) < 4 or len(raw) != 4 + raw[3]:
        raise MaskingFailed("a malformed binary inet cannot be inspected")
    family, bits, is_cidr = raw[0], raw[1], raw[2]
    address = raw[4:]
    try:
        host = ipaddress.ip_address(address)
    except ValueError as error:
        raise MaskingFailed("a malformed binary inet cannot be inspected") from error
    full = 32 if family == _PGSQL_AF_INET else 128
    return f"{host}/{bits}" if is_cidr or bits != full else str(host)


def decode_macaddr(raw: bytes) -> str:
    """macaddr (6 bytes) / macaddr8 (8 bytes): the colon-separated form."""
    if len(raw) not in (6, 8):
        raise MaskingFailed(f"binary macaddr of {len(raw)} bytes cannot be inspected")
    return ":".join(f"{byte:02x}" for byte in raw)


BINARY_DECODERS: Final[dict[int, Callable[[bytes], str]]] = {
    INT2: _int_binary(_INT16),
    INT4: _int_binary(_INT32),
    INT8: _int_binary(_INT64),
    NUMERIC: decode_numeric,
    DATE: decode_date,
    INET: decode_inet,
    CIDR: decode_inet,
    MACADDR: decode_macaddr,
    MACADDR8: decode_macaddr,
}

# Array type OID -> element type OID, for the element types above (pg_type.dat).
ARRAY_ELEMENTS: Final[dict[int, int]] = {
    1000: BOOL,
    1001: BYTEA,
    1002: CHAR,
    1003: NAME,
    1005: INT2,
    1007: INT4,
    1016: INT8,
    1009: TEXT,
    1014: BPCHAR,
    1015: VARCHAR,
    143: XML,
    199: JSON,
    3807: JSONB,
    1028: OID,
    1021: FLOAT4,
    1022: FLOAT8,
    1231: NUMERIC,
    1182: DATE,
    1183: TIME,
    1115: TIMESTAMP,
    1185: TIMESTAMPTZ,
    1187: INTERVAL,
    1270: TIMETZ,
    1041: INET,
    651: CIDR,
    1040: MACADDR,
    775: MACADDR8,
    791: MONEY,
    2951: UUID,
}

# Type OID -> its pg_type.typname, for the types named above (results and audit events).
TYPE_NAMES: Final[dict[int, str]] = {
    BOOL: "bool",
    BYTEA: "bytea",
    CHAR: "char",
    NAME: "name",
    INT8: "int8",
    INT2: "int2",
    INT4: "int4",
    TEXT: "text",
    OID: "oid",
    JSON: "json",
    XML: "xml",
    CIDR: "cidr",
    FLOAT4: "float4",
    FLOAT8: "float8",
    UNKNOWN: "unknown",
    MACADDR8: "macaddr8",
    MONEY: "money",
    MACADDR: "macaddr",
    INET: "inet",
    BPCHAR: "bpchar",
    VARCHAR: "varchar",
    DATE: "date",
    TIME: "time",
    TIMESTAMP: "timestamp",
    TIMESTAMPTZ: "timestamptz",
    INTERVAL: "interval",
    TIMETZ: "timetz",
    NUMERIC: "numeric",
    UUID: "uuid",
    JSONB: "jsonb",
}
