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
import threading
from collections.abc import Mapping, Sequence

MAX_SAFE_INTEGER = 2**53 - 1

_encode_string = json.JSONEncoder(ensure_ascii=False).encode


class CanonicalJSONError(ValueError):
    """The value cannot be represented in RFC 8785 canonical JSON."""


def _refuse_constant(name: str) -> object:
    raise CanonicalJSONError(f"{name} is not JSON")


def canonical_json(value: object) -> bytes:
    """Serialise ``value`` (dicts, lists/tuples, str, int, float, bool, None) per RFC 8785."""
    fast = _fast_canonical(value)
    return fast if fast is not None else _canonical_by_hand(value)


def _canonical_by_hand(value: object) -> bytes:
    parts: list[str] = []
    _write(value, parts)
    return _utf8("".join(parts))


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise CanonicalJSONError("string holds a lone surrogate, not valid Unicode") from error


# --- the fast path ----------------------------------------------------------------------------
# The C JSON encoder with sorted keys and no whitespace already writes RFC 8785 for most
# values: its string escaping is exactly JCS's. It differs only for floats it spells in
# exponent form or with a trailing ".0", for integers beyond the I-JSON range, for non-string
# keys it coerces, and for key order when a key holds a character at or above U+E000 (code
# point order is not UTF-16 order there). The C decoder's number hooks see every number
# literal (`_plain_number` notes any the encoder would spell differently), a scan for
# characters >= U+E000 covers key order, and those values take the by-hand writer, which is
# the reference; the hypothesis tests compare both with the ``rfc8785`` package.

_dumps = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
).encode
# For values just decoded from text, which cannot hold a cycle: skipping the check saves ~10%.
_dumps_decoded = json.JSONEncoder(
    ensure_ascii=False,
    separators=(",", ":"),
    sort_keys=True,
    allow_nan=False,
    check_circular=False,
).encode
_numbers = threading.local()  # one flag per thread: set before a decode, read after it


def _plain_float(text: str) -> float:
    value = float(text)
    # Without an exponent or a trailing ".0", repr() is ECMAScript's spelling.
    if repr(value) != text or "e" in text or "E" in text or text.endswith(".0"):
        _numbers.plain = False
    return value


def _plain_int(text: str) -> int | float:
    value = _parse_int(text)
    if isinstance(value, float) or text == "-0":
        _numbers.plain = False
    return value


_loads_noting_numbers = json.JSONDecoder(
    parse_float=_plain_float, parse_int=_plain_int, parse_constant=_refuse_constant
).decode


def _decode_noting_numbers(text: str) -> tuple[object, bool]:
    """Decode; also say whether every number is spelled as the C encoder would spell it."""
    _numbers.plain = True
    value = _loads_noting_numbers(text)
    return value, _numbers.plain


def _order_may_differ(text: str) -> bool:
    return not text.isascii() and max(text) >= "\ue000"


def _fast_canonical(value: object) -> bytes | None:
    """The C encoder's text when it is provably the canonical one, else None."""
    try:
        text = _dumps(value)
    except (TypeError, ValueError):
        return None  # non-JSON types, NaN: the by-hand writer names the problem
    if _order_may_differ(text):
        return None
    reread, plain = _decode_noting_numbers(text)
    # Equality with the re-read catches what the encoder coerced (int keys, tuples).
    if not plain or reread != value:
        return None
    return _utf8(text)


def parse_canonical_json(data: bytes) -> object:
    """Parse ``data`` and insist it is already RFC 8785 canonical (the verifier's check).

    Raises `CanonicalJSONError` for invalid JSON and for any other spelling of the value.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CanonicalJSONError(f"not UTF-8 JSON: {error}") from error
    value = _parse_fast(data, text)
    if value is _UNDECIDED:
        value = _parse_by_hand(data, text)
    return value


_UNDECIDED = object()
# A run of 16 or more digits may be an integer beyond the I-JSON range (whose canonical form
# is a double's spelling); only such data needs the per-integer hook. Found by mapping every
# digit to "0" and everything else to " " (bytes.translate and `in` run in C; a regex
# costs several times more per leaf).
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGIT_RUN = b"0" * 16


def _has_long_digit_run(data: bytes) -> bool:
    return _LONG_DIGIT_RUN in data.translate(_DIGITS_AS_ZEROS)


def _parse_fast(data: bytes, text: str) -> object:
    """The verifier's hot path: the C decoder with a hook on floats only (rare in leaves),
    then the C encoder, whose text is provably canonical when no float is spelled unlike
    ECMAScript, no integer can lie beyond the I-JSON range and key order cannot differ.
    Returns `_UNDECIDED` when those conditions do not hold."""
    if _has_long_digit_run(data) or _order_may_differ(text):
        return _UNDECIDED
    _numbers.plain = True
    try:
        value = _loads_noting_floats(text)
    except json.JSONDecodeError as error:
        raise CanonicalJSONError(f"not UTF-8 JSON: {error}") from error
    if not _numbers.plain:
        return _UNDECIDED
    if _utf8(_dumps_decoded(value)) != data:
        raise CanonicalJSONError("not in RFC 8785 canonical form")
    return value


_loads_noting_floats = json.JSONDecoder(
    parse_float=_plain_float, parse_constant=_refuse_constant
).decode


def _parse_by_hand(data: bytes, text: str) -> object:
    try:
        value, plain = _decode_noting_numbers(text)
    except json.JSONDecodeError as error:
        raise CanonicalJSONError(f"not UTF-8 JSON: {error}") from error
    if plain and not _order_may_differ(text):
        expected = _utf8(_dumps(value))
    else:
        expected = _canonical_by_hand(value)
    if expected != data:
        raise CanonicalJSONError("not in RFC 8785 canonical form")
    return value


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
