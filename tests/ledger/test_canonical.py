"""RFC 8785 canonical JSON: the RFC's own examples and agreement with the `rfc8785` package."""

from __future__ import annotations

import json
import math
import struct

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import (
    MAX_SAFE_INTEGER,
    CanonicalJSONError,
    _canonical_by_hand,
    canonical_json,
    parse_canonical_json,
    parse_json,
)


def test_the_rfc_section_3_2_2_example() -> None:
    source = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical_json(json.loads(source)) == expected.encode("utf-8")


def test_keys_sort_by_utf16_code_units_as_in_rfc_section_3_2_3() -> None:
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    order = list(json.loads(canonical_json(value)).values())
    # U+1F600 is the surrogate pair D83D DE00, so it sorts before U+FB33 (not after it).
    assert order == [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh",
    ]


# RFC 8785 Appendix B: IEEE 754 bit patterns and their ECMAScript serialisation.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B)
def test_numbers_of_rfc_appendix_b(bits: str, expected: str) -> None:
    (value,) = struct.unpack(">d", bytes.fromhex(bits))
    assert canonical_json(value) == expected.encode()


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])
def test_nan_and_infinities_are_refused(bits: str) -> None:
    (value,) = struct.unpack(">d", bytes.fromhex(bits))
    with pytest.raises(CanonicalJSONError, match="not a finite number"):
        canonical_json([value])


@pytest.mark.parametrize(
    "value",
    [
        MAX_SAFE_INTEGER + 1,
        -MAX_SAFE_INTEGER - 1,
        {1: "non-string key"},
        "lone \ud800 surrogate",
        b"bytes",
        {1, 2},
        object(),
    ],
)
def test_values_outside_i_json_are_refused(value: object) -> None:
    with pytest.raises(CanonicalJSONError):
        canonical_json({"value": value})


def test_the_largest_safe_integers_pass_through() -> None:
    assert (
        canonical_json([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER])
        == b"[9007199254740991,-9007199254740991]"
    )


def test_control_characters_and_html_are_escaped_only_as_json_requires() -> None:
    assert canonical_json("\x00\x1f\x7f<>&\u2028é") == '"\\u0000\\u001f\x7f<>&\u2028é"'.encode()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=500, deadline=None)
@given(json_values)
def test_agrees_with_the_rfc8785_package(value: object) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)
    # The by-hand writer is the reference the C-encoder fast path falls back to.
    assert _canonical_by_hand(value) == rfc8785.dumps(value)


@settings(max_examples=500, deadline=None)
@given(
    json_values,
    st.sampled_from([(",", ":"), (", ", ": ")]),
    st.booleans(),
    st.booleans(),
)
def test_parse_canonical_accepts_exactly_the_canonical_spelling(
    value: object, separators: tuple[str, str], sort_keys: bool, ensure_ascii: bool
) -> None:
    canonical = canonical_json(value)
    assert parse_canonical_json(canonical) == parse_json(canonical)
    spelling = json.dumps(
        value, separators=separators, sort_keys=sort_keys, ensure_ascii=ensure_ascii
    )
    other = spelling.encode("utf-8", "surrogatepass")
    if other == canonical:
        parse_canonical_json(other)
    else:
        with pytest.raises(CanonicalJSONError):
            parse_canonical_json(other)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        (b"[1e-7]", True),
        (b"[1e-07]", False),
        (b"[1e+30]", True),
        (b"[1e30]", False),
        (b"[100]", True),
        (b"[100.0]", False),
        (b"[0.000001]", True),
        (b"[-0]", False),
        (b"[9007199254740992]", True),  # a double, spelled as ECMAScript spells it
        (b"[9007199254740993]", False),
        ({"\ufb33": 1, "\U0001f600": 2}, False),  # code point order, not UTF-16
        ({"\U0001f600": 2, "\ufb33": 1}, True),
        (b'{"a":1,"a":1}', False),
        (b'"\\ud800"', False),
    ],
)
def test_parse_canonical_on_the_hard_cases(text: bytes | dict[str, int], canonical: bool) -> None:
    if isinstance(text, dict):  # keys in this insertion order, written without escapes
        text = ("{" + ",".join(f'"{key}":{value}' for key, value in text.items()) + "}").encode()
    if canonical:
        assert canonical_json(parse_canonical_json(text)) == text
    else:
        with pytest.raises(CanonicalJSONError):
            parse_canonical_json(text)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_canonical_text_parses_back_to_the_same_value_and_is_a_fixed_point(value: object) -> None:
    text = canonical_json(value)
    parsed = parse_json(text)
    assert _same(parsed, value)
    assert canonical_json(parsed) == text


def _same(left: object, right: object) -> bool:
    if isinstance(left, float) or isinstance(right, float):  # JSON numbers are doubles
        return (
            isinstance(left, int | float)
            and isinstance(right, int | float)
            and float(left) == float(right)
        )
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_same, left, right))
    return left == right and type(left) is type(right)


def test_negative_zero_is_zero() -> None:
    assert canonical_json(-0.0) == b"0"
    assert math.copysign(1, json.loads(canonical_json(-0.0))) == 1


def test_parsing_reads_large_integers_as_doubles_like_ecmascript() -> None:
    assert parse_json(b"[27587475392454850, 9007199254740991]") == [
        2.758747539245485e16,
        MAX_SAFE_INTEGER,
    ]
    assert canonical_json(parse_json(b"27587475392454850")) == b"27587475392454850"
    assert canonical_json(parse_json(b"9007199254740993")) == b"9007199254740992"


@pytest.mark.parametrize("text", [b"NaN", b"[Infinity]", b"-Infinity", b"\xff"])
def test_parsing_refuses_what_json_does_not_allow(text: bytes) -> None:
    with pytest.raises(CanonicalJSONError):
        parse_json(text)
