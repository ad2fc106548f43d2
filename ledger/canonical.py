"""RFC 8785 JSON Canonicalization Scheme (JCS): the one byte form of every audit leaf.

Objects are sorted by the UTF-16 code units of their keys, there is no whitespace, strings
escape only what JSON requires (``json.dumps`` with ``ensure_ascii=False`` does exactly the
RFC 8785 section 3.2.2.2 escaping), and numbers use ECMAScript's ``Number.prototype.toString``.

Choices where the RFC leaves room (I-JSON, RFC 7493): integers must lie within the range a
double holds exactly, ``±(2**53 - 1)`` (the same bound the ``rfc8785`` package uses); NaN and
the infinities are refused; strings must be valid Unicode (no lone surrogates); keys must be
strings. Refusing is deliberate: a leaf that another JCS implementation would serialise
differently could not be verified by an auditor's own tools.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

MAX_SAFE_INTEGER = 2**53 - 1

_encode_string = json.JSONEncoder(ensure_ascii=False).encode


class CanonicalJSONError(ValueError):
    """The value cannot be represented in RFC 8785 canonical JSON."""


def canonical_json(value: object) -> bytes:
    """Serialise ``value`` (dicts, lists/tuples, str, int, float, bool, None) per RFC 8785."""
    parts: list[str] = []
    _write(value, parts)
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as error:
        raise CanonicalJSONError("string holds a lone surrogate, not valid Unicode") from error


def parse_json(data: bytes | str) -> object:
    """Read JSON as RFC 8785 sees it: integers beyond ±(2**53 - 1) are doubles, as in
    ECMAScript, so re-serialising gives the canonical text back; NaN and Infinity are refused.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text, parse_int=_parse_int, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CanonicalJSONError(f"not UTF-8 JSON: {error}") from error


def _parse_int(text: str) -> int | float:
    value = int(text)
    return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else float(text)


def _refuse_constant(name: str) -> object:
    raise CanonicalJSONError(f"{name} is not JSON")


def _write(value: object, parts: list[str]) -> None:
    """Append the canonical text of ``value``; dispatch on the JSON type."""
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, str):
        parts.append(_encode_string(value))
    elif isinstance(value, int):
        parts.append(_integer(value))
    elif isinstance(value, float):
        parts.append(format_number(value))
    elif isinstance(value, Mapping):
        _write_object(value, parts)
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        _write_array(value, parts)
    else:
        raise CanonicalJSONError(f"{type(value).__name__} is not a JSON type")


def _write_object(value: Mapping[object, object], parts: list[str]) -> None:
    for key in value:
        if not isinstance(key, str):
            raise CanonicalJSONError(f"object key {key!r} is not a string")
    parts.append("{")
    for position, key in enumerate(sorted(value, key=_utf16_order)):  # type: ignore[arg-type]
        if position:
            parts.append(",")
        parts.append(_encode_string(key))
        parts.append(":")
        _write(value[key], parts)
    parts.append("}")


def _write_array(value: Sequence[object], parts: list[str]) -> None:
    parts.append("[")
    for position, item in enumerate(value):
        if position:
            parts.append(",")
        _write(item, parts)
    parts.append("]")


def _utf16_order(key: str) -> bytes:
    # Big-endian UTF-16 bytes compare exactly like the code units RFC 8785 3.2.3 sorts by;
    # surrogatepass lets a lone surrogate sort here and be refused at encoding instead.
    return key.encode("utf-16-be", "surrogatepass")


def _integer(value: int) -> str:
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise CanonicalJSONError(f"integer {value} is outside ±(2**53 - 1) (I-JSON)")
    return str(int(value))  # int() so an IntEnum or bool subclass prints as a number


def format_number(value: float) -> str:
    """ECMAScript Number.prototype.toString for a finite double (RFC 8785 3.2.2.3)."""
    if not math.isfinite(value):
        raise CanonicalJSONError(f"{value} is not a finite number")
    if value == 0:
        return "0"  # -0 too
    sign = "-" if value < 0 else ""
    digits, exponent = _shortest_digits(abs(value))
    return sign + _ecmascript_layout(digits, exponent)


def _shortest_digits(value: float) -> tuple[str, int]:
    """(digits, n) with value = 0.digits * 10**n and the fewest digits that round-trip.

    ``repr`` is the shortest round-trip form, the same digits ECMAScript chooses.
    """
    mantissa, _, exp_text = repr(value).partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    significant = all_digits.lstrip("0")
    leading_zeros = len(all_digits) - len(significant)
    exponent = len(whole) - leading_zeros + int(exp_text or 0)
    return significant.rstrip("0"), exponent


def _ecmascript_layout(digits: str, n: int) -> str:
    """ECMA-262 Number::toString steps 6-10 for k digits and decimal point position n."""
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    exponent = n - 1
    mark = "e+" if exponent >= 0 else "e-"
    head = digits if k == 1 else digits[0] + "." + digits[1:]
    return head + mark + str(abs(exponent))
