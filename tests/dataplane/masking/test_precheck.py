"""The precheck only ever skips values no pattern can match: checked against plain `re`.

The ground truth is each recognizer's own pattern run by Python's `finditer` (what both
scanners reproduce), over the benchmark corpus: whole records, every labelled value, every
token and sliding windows of the lengths the precheck handles.
"""

import re
from collections.abc import Iterator

import pytest

from bench.masking.corpus import hard_negatives, positives
from dataplane.contract import MaskingProfile
from dataplane.contract.snapshot import CustomPattern
from dataplane.masking.precheck import PRECHECK_MAX_LENGTH, Precheck
from dataplane.masking.profile import compile_profile
from dataplane.masking.recognizer import Recognizer
from dataplane.masking.recognizers import RECOGNIZERS

SEED = 5
WINDOWS = (2, 5, 8, 9, 11, 13, 15, 20, 24, 40, PRECHECK_MAX_LENGTH)
TOKEN_SEPARATORS = re.compile(r"[\s,;\"'{}\[\]]+")


def corpus_texts() -> list[str]:
    records = [*positives(SEED, per_entity=25), *hard_negatives(SEED, target_bytes=40_000)]
    return [str(r["text"]) for r in records] + [
        str(r["text"])[int(s["start"]) : int(s["end"])]  # type: ignore[call-overload]
        for r in records
        for s in r["spans"]  # type: ignore[attr-defined]
    ]


def values(texts: list[str]) -> Iterator[str]:
    """Short values like the ones columns hold, cut every way from the corpus."""
    for text in texts:
        yield text
        yield from (t for t in TOKEN_SEPARATORS.split(text) if t)
        for width in WINDOWS:
            for start in range(0, max(1, len(text) - width + 1), 3):
                yield text[start : start + width]


@pytest.fixture(scope="module")
def corpus_values() -> list[str]:
    return sorted(set(values(corpus_texts())))


def can_match(patterns: list[re.Pattern[str]], value: str) -> bool:
    return any(m.end() > m.start() for p in patterns for m in p.finditer(value))


def assert_exact(
    recognizers: tuple[Recognizer, ...],
    deny: re.Pattern[str] | None,
    corpus_values: list[str],
) -> int:
    """Every skipped value has no match; returns how many were skipped."""
    precheck = Precheck(recognizers, deny)
    patterns = [re.compile(r.pattern) for r in recognizers] + ([deny] if deny else [])
    skipped = [v for v in corpus_values if not precheck.might_match(v)]
    wrongly = [v for v in skipped if can_match(patterns, v)]
    assert wrongly == []
    return len(skipped)


def test_the_precheck_never_skips_a_value_a_built_in_pattern_matches(
    corpus_values: list[str],
) -> None:
    skipped = assert_exact(RECOGNIZERS, None, corpus_values)
    assert skipped > len(corpus_values) // 10  # and it does skip: the test is not vacuous


def test_the_precheck_is_exact_with_a_deny_list_and_custom_patterns(
    corpus_values: list[str],
) -> None:
    profile = MaskingProfile(
        "p",
        deny_list=("Smith", "acme", "K"),
        custom_patterns=(
            CustomPattern("emp", "EMPLOYEE_ID", r"EMP-[0-9]{6}"),
            CustomPattern("word", "CODENAME", r"[a-z]{3}ing"),
        ),
    )
    compiled = compile_profile(profile, "")
    deny = compiled.engine.custom.deny_list_pattern()
    assert_exact(compiled.engine.recognizers, deny, corpus_values)


def test_a_pattern_without_an_anchor_disables_the_precheck() -> None:
    precheck = Precheck((Recognizer("X", "x", r"(?i)secret"),), None)
    assert precheck.might_match("plain")


@pytest.mark.parametrize("value", ["Alice", "Springfield", "active", "42", "Alice Johnson"])
def test_ordinary_short_values_are_skipped(value: str) -> None:
    assert not Precheck(RECOGNIZERS, None).might_match(value)


@pytest.mark.parametrize(
    "value",
    ["a@b.com", "10.1.2.3", "::1", "536-22-8726", "eyJhbGciOiJIUzI1NiJ9", "x" * 65],
)
def test_values_that_might_hold_an_entity_are_scanned(value: str) -> None:
    assert Precheck(RECOGNIZERS, None).might_match(value)


def test_a_deny_list_term_is_never_skipped() -> None:
    deny = re.compile(r"(?i)(?<![A-Za-z0-9_])(?:falcon)(?![A-Za-z0-9_])")
    assert Precheck(RECOGNIZERS, deny).might_match("FALCON")
