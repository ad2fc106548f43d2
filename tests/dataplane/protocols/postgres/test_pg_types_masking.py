"""pgtypes: binary values decode to the text PostgreSQL prints, and each type gets the
masking its values can need; copy_rows: COPY options read from the statement's SQL."""

from __future__ import annotations

import struct

import pytest

from dataplane.masking.values import MaskingFailed
from dataplane.protocols.postgres.wire import pgtypes as t
from dataplane.protocols.postgres.wire.copy_rows import (
    CSV_DEFAULTS,
    TEXT_DEFAULTS,
    CopyFormat,
    copy_format,
    split_text_fields,
    unescape_text,
)
from tests.dataplane.protocols.postgres.test_pg_result_masking import EngineMasker


def numeric(weight: int, sign: int, dscale: int, *digits: int) -> bytes:
    return struct.pack(f"!hhHH{len(digits)}H", len(digits), weight, sign, dscale, *digits)


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (numeric(3, 0, 0, 4111, 1111, 1111, 1111), "4111111111111111"),
        (numeric(0, 0, 2, 12, 5000), "12.50"),
        (numeric(-1, 0, 2, 500), "0.05"),
        (numeric(0, 0x4000, 0, 7), "-7"),
        (numeric(1, 0, 0, 5), "50000"),
        (numeric(0, 0, 0), "0"),
        (numeric(0, 0xC000, 0), "NaN"),
    ],
)
def test_binary_numeric_decodes_to_its_text_form(raw, text):
    assert t.decode_numeric(raw) == text


def test_binary_dates_inet_and_macaddr_decode_to_their_text_form():
    assert t.decode_date(struct.pack("!i", 0)) == "2000-01-01"
    assert t.decode_date(struct.pack("!i", -3650)) == "1990-01-03"
    assert t.decode_date(struct.pack("!i", 2**31 - 1)) == "infinity"
    assert t.decode_inet(bytes([2, 32, 0, 4, 192, 168, 0, 7])) == "192.168.0.7"
    assert t.decode_inet(bytes([2, 24, 1, 4, 10, 0, 0, 0])) == "10.0.0.0/24"
    v6 = bytes([3, 128, 0, 16]) + bytes(15) + b"\x01"
    assert t.decode_inet(v6) == "::1"
    assert t.decode_macaddr(bytes.fromhex("08002b010203")) == "08:00:2b:01:02:03"


@pytest.mark.parametrize(
    "decode", [t.decode_numeric, t.decode_date, t.decode_inet, t.decode_macaddr]
)
def test_malformed_binary_values_fail_closed(decode):
    with pytest.raises(MaskingFailed):
        decode(b"\x05")


def test_types_that_cannot_hold_an_entity_pass_without_a_function():
    masker = EngineMasker()
    for oid in (t.BOOL, t.FLOAT8, t.UUID, t.TIMESTAMPTZ, t.OID):
        assert t.column_function(masker, "c", oid, 0) is None
        assert t.column_function(masker, "c", oid, 1) is None


def test_binary_text_like_values_are_masked_as_text_and_unknown_binary_types_refused():
    masker = EngineMasker()
    function = t.column_function(masker, "note", t.VARCHAR, 1)
    assert function is not None
    assert function(b"mail alice@example.com") == b"mail [EMAIL_ADDRESS]"
    plain = b"nothing here"
    assert function(plain) is plain  # unchanged values are the same object: copied as they came
    with pytest.raises(MaskingFailed, match="binary values of type 600 cannot be inspected"):
        t.column_function(masker, "where", 600, 1)  # point
    assert t.column_function(masker, "where", 600, 0) is not None  # in text, scanned as text


def test_binary_integers_holding_a_card_number_become_null():
    function = t.column_function(EngineMasker(), "n", t.INT8, 1)
    assert function is not None
    assert function(struct.pack("!q", 4111111111111111)) is None
    small = struct.pack("!q", 42)
    assert function(small) is small


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("COPY t TO STDOUT", TEXT_DEFAULTS),
        ("copy t to stdout with csv header", CSV_DEFAULTS),
        ("COPY t TO STDOUT (FORMAT 'csv', HEADER true)", CSV_DEFAULTS),
        (
            "COPY t TO STDOUT WITH DELIMITER AS ';' NULL AS 'none'",
            CopyFormat(delimiter=";", null="none"),
        ),
        (
            "COPY t TO STDOUT (FORMAT csv, DELIMITER E'\\t', QUOTE '''', NULL 'x')",
            CopyFormat(csv=True, delimiter="\t", null="x", quote="'", escape="'"),
        ),
        (
            "COPY t TO STDOUT (FORMAT csv, ESCAPE '\\')",
            CopyFormat(csv=True, delimiter=",", null="", escape="\\"),
        ),
    ],
)
def test_copy_options_are_read_from_the_sql(sql, expected):
    assert copy_format(sql) == expected


def test_each_copy_of_a_multi_statement_query_gets_its_own_options():
    sql = "COPY a TO STDOUT (FORMAT csv, DELIMITER ';'); COPY b TO STDOUT"
    assert copy_format(sql, 0).delimiter == ";" and copy_format(sql, 0).csv
    assert copy_format(sql, 1) == TEXT_DEFAULTS
    assert copy_format("SELECT copy_rows()", 0) == TEXT_DEFAULTS


def test_text_fields_split_only_on_unescaped_delimiters_and_unescape():
    assert split_text_fields("a\\,b,c", ",") == ["a\\,b", "c"]
    assert split_text_fields("a\tb", "\t") == ["a", "b"]
    assert unescape_text("a\\tb\\\\c\\101\\x42\\,") == "a\tb\\cAB,"


def binary_array(element_oid: int, *elements: bytes | None) -> bytes:
    """array_send of a one-dimensional array with lower bound 1."""
    has_null = int(any(e is None for e in elements))
    out = struct.pack("!iiIii", 1, has_null, element_oid, len(elements), 1)
    for element in elements:
        size = -1 if element is None else len(element)
        out += struct.pack("!i", size) + (element or b"")
    return out


def test_binary_arrays_are_masked_element_by_element():
    masker = EngineMasker()
    texts = t.column_function(masker, "tags", 1009, 1)
    assert texts is not None
    masked = texts(binary_array(t.TEXT, b"x", b"carol@example.net", None))
    assert masked == binary_array(t.TEXT, b"x", b"[EMAIL_ADDRESS]", None)
    cards = t.column_function(masker, "cards", 1016, 1)
    assert cards is not None
    card, small = struct.pack("!q", 4111111111111111), struct.pack("!q", 7)
    assert cards(binary_array(t.INT8, small, card)) == binary_array(t.INT8, small, None)
    plain = binary_array(t.TEXT, b"a", b"b")
    assert texts(plain) is plain
    assert t.column_function(masker, "flags", 1000, 1) is None  # bool[]: nothing to look at
    with pytest.raises(MaskingFailed):
        texts(binary_array(t.INT4, struct.pack("!i", 1)))  # not the element type described
    with pytest.raises(MaskingFailed):
        texts(binary_array(t.TEXT, b"abc")[:-1])
