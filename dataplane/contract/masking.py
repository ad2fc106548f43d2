"""The names both halves agree on for masking: built-in entities, strategies and custom
pattern validators. The control plane validates policies against these; the agent's
masking engine must know every one of them (its tests check that it does)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

# Longest custom pattern accepted: it runs against every result value.
MAX_PATTERN_LENGTH = 1000

# The entities the agent's built-in recognisers detect.
BUILTIN_ENTITIES: tuple[str, ...] = (
    "API_KEY",
    "AWS_ACCESS_KEY",
    "BEARER_TOKEN",
    "CREDIT_CARD",
    "DATE_OF_BIRTH",
    "EMAIL_ADDRESS",
    "IBAN_CODE",
    "IP_ADDRESS",
    "JWT",
    "MAC_ADDRESS",
    "PHONE_NUMBER",
    "PRIVATE_KEY",
    "URL",
    "US_DRIVER_LICENSE",
    "US_ITIN",
    "US_PASSPORT",
    "US_SSN",
)

# The entity a deny-list term is reported as.
DENY_LIST_ENTITY = "DENY_LIST"

# How a value is masked. "hash" and "format_preserving" need the deployment's masking key.
STRATEGIES: tuple[str, ...] = ("redact", "partial", "hash", "format_preserving")
KEYED_STRATEGIES: frozenset[str] = frozenset({"hash", "format_preserving"})

# Checks a custom pattern may name for its matches ("" = none).
CUSTOM_PATTERN_VALIDATORS: tuple[str, ...] = (
    "luhn",
    "credit_card",
    "iban",
    "ssn",
    "itin",
    "ipv4",
    "ipv6",
    "mac",
    "jwt",
    "email",
    "phone",
    "date_of_birth",
)


def pattern_problem(regex: str) -> str:
    """Why a custom pattern's regex is refused ("" if it is fine): invalid, matching the
    empty string, or able to backtrack badly. The control plane refuses such a policy; the
    agent, should one reach it, makes the profile redact every value.

    Every result value runs through it, so a pattern that backtracks exponentially is a
    denial of service: lookaround, backreferences and a repeat nested in an unbounded
    repeat are refused outright (the recognizer syntax allows none of them anyway).
    """
    if len(regex) > MAX_PATTERN_LENGTH:
        return f"pattern longer than {MAX_PATTERN_LENGTH} characters"
    try:
        compiled = re.compile(regex)
        parsed = sre_parse.parse(regex)
    except (re.error, OverflowError, RecursionError) as exc:
        return f"invalid pattern {regex!r}: {exc}"
    if compiled.fullmatch("") is not None or parsed.getwidth()[0] == 0:
        return f"pattern {regex!r} matches the empty string"
    try:
        _check_items(regex, parsed.data, inside_unbounded=False)
    except ValueError as exc:
        return str(exc)
    return ""


_UNSAFE = {"ASSERT", "ASSERT_NOT", "GROUPREF", "GROUPREF_EXISTS", "GROUPREF_IGNORE"}
_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}
_UNBOUNDED = int(sre_parse.MAXREPEAT)


def _check_items(regex: str, items: Sequence[Any], inside_unbounded: bool) -> None:
    for op, arg in items:
        name = str(op)
        if name in _UNSAFE:
            raise ValueError(f"pattern {regex!r}: lookaround and backreferences not allowed")
        if name in _REPEATS:
            if inside_unbounded:
                raise ValueError(f"pattern {regex!r}: nested repeats can backtrack badly")
            unbounded = int(arg[1]) >= _UNBOUNDED
            _check_items(regex, arg[2].data, inside_unbounded or unbounded)
        for sub in _subpatterns(name, arg):
            _check_items(regex, sub, inside_unbounded)


def _subpatterns(name: str, arg: Any) -> list[Sequence[Any]]:
    if name == "SUBPATTERN":
        return [arg[3].data]
    if name == "ATOMIC_GROUP":
        return [arg.data]
    if name == "BRANCH":
        return [b.data for b in arg[1]]
    return []
