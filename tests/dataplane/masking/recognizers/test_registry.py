"""The registry: Presidio entity names, unique rule names, patterns both engines accept."""

import re

import pytest

from dataplane.masking.recognizer import Recognizer
from dataplane.masking.recognizers import RECOGNIZERS

ENTITIES = {
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "US_ITIN",
    "US_PASSPORT", "US_DRIVER_LICENSE", "IP_ADDRESS", "MAC_ADDRESS", "URL", "DATE_OF_BIRTH",
    "AWS_ACCESS_KEY", "PRIVATE_KEY", "JWT", "BEARER_TOKEN", "API_KEY",
}  # fmt: skip


def test_every_agreed_entity_has_a_recognizer() -> None:
    assert {r.entity for r in RECOGNIZERS} == ENTITIES


def test_recognizer_names_are_unique() -> None:
    names = [r.name for r in RECOGNIZERS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("recognizer", RECOGNIZERS, ids=lambda r: r.name)
def test_pattern_uses_only_the_shared_syntax(recognizer: Recognizer) -> None:
    pattern = recognizer.pattern
    re.compile(pattern)
    for forbidden in ("(?=", "(?!", "(?<=", "(?<!", "\\b", "\\1"):
        assert forbidden not in pattern


def test_every_pattern_runs_in_the_one_hyperscan_database() -> None:
    # The scanner needs no start-of-match tracking (it bounds starts from first-match
    # ends), so patterns only have to compile the way it compiles them; none may fall
    # back to Python.
    pytest.importorskip("hyperscan")
    from dataplane.masking.scanner import HyperscanScanner

    assert HyperscanScanner(RECOGNIZERS).python_only == []
