"""Result values of the simple query protocol (text format) as JSON values, by column type.

Numbers, booleans and json columns become JSON numbers, booleans and documents; every other
type stays the text PostgreSQL sent (numeric too: a float would lose digits); NULL is null.
A masked value the type cannot parse any more (a marker in a json column) stays text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from dataplane.protocols.postgres.wire import pgtypes

# Unknown OIDs report "oid:<n>".
_INTEGERS = frozenset({pgtypes.INT2, pgtypes.INT4, pgtypes.INT8, pgtypes.OID})
_FLOATS = frozenset({pgtypes.FLOAT4, pgtypes.FLOAT8})

Converter = Callable[[str], Any]


def type_name(type_oid: int) -> str:
    return pgtypes.TYPE_NAMES.get(type_oid) or f"oid:{type_oid}"


def converter_for(type_oid: int) -> Converter:
    """How a text value of this type becomes a JSON value."""
    if type_oid in _INTEGERS:
        return _keeping_text(int)
    if type_oid in _FLOATS:
        return _float
    if type_oid == pgtypes.BOOL:
        return _bool
    if type_oid in pgtypes.JSON_TYPES:
        return _keeping_text(json.loads)
    return str


def _keeping_text(parse: Callable[[str], Any]) -> Converter:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError:  # masked into a marker, or out of the parser's reach
            return text

    return convert


def _float(text: str) -> Any:
    # NaN and Infinity are not JSON numbers: they stay text.
    try:
        value = float(text)
    except ValueError:
        return text
    return value if value == value and value not in (float("inf"), float("-inf")) else text


def _bool(text: str) -> Any:
    return {"t": True, "f": False}.get(text, text)
