"""The precheck only ever skips values the engine would find nothing in.

Checked against the engine's own scan (Hyperscan here, not the anchors the precheck reads)
over the benchmark corpus: whole records, every labelled value, every token and sliding
windows of the lengths the precheck handles, each under several column names.
"""

import re
from collections.abc import Iterator

import pytest

from bench.masking.corpus import hard_negatives, positives
from dataplane.contract import MaskingProfile
from dataplane.contract.snapshot import CustomPattern
from dataplane.masking.engine import MaskingEngine
from dataplane.masking.precheck import PRECHECK_MAX_LENGTH, Precheck
from dataplane.masking.profile import compile_profile
from dataplane.masking.recognizer import Recognizer
from dataplane.masking.recognizers import RECOGNIZERS

SEED = 5
WINDOWS = (2, 5, 8, 9, 11, 13, 15, 20, 24, 40, PRECHECK_MAX_LENGTH)
# Column names: none, plain, and the context words of every gated built-in pattern.
LABELS = ("", "note", "date_of_birth", "dl", "ssn", "passport", "tin", "driver")
TOKEN_SEPARATORS = re.compile(r"[\s,;\"'{}\[\]]+")


def corpus_texts() -> list[str]:
    records = [*positives(SEED, per_entity=15), *hard_negatives(SEED, target_bytes=40_000)]
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
            for start in range(0, max(1, len(text) - width + 1), 5):
                yield text[start : start + width]


@pytest.fixture(scope="module")
def corpus_values() -> list[str]:
    return sorted(set(values(corpus_texts())))


def assert_exact(engine: MaskingEngine, deny: re.Pattern[str] | None, values: list[str]) -> int:
    """No value the precheck skips, under any label, holds a span the engine would mask;
    returns how many (value, label) pairs it skipped."""
    precheck = Precheck(engine.recognizers, deny)
    skipped = 0
    for label in LABELS:
        passed = [v for v in values if not precheck.might_match(v, label)]
        assert [v for v in passed if engine.scan(v, label)] == [], label
        skipped += len(passed)
    return skipped


def test_the_precheck_never_skips_a_value_the_engine_would_mask(
    corpus_values: list[str],
) -> None:
    skipped = assert_exact(MaskingEngine(), None, corpus_values)
    # ...and it does skip: the test is not vacuous.
    assert skipped > len(corpus_values) * len(LABELS) // 10


def test_the_precheck_is_exact_with_a_deny_list_and_custom_patterns(
    corpus_values: list[str],
) -> None:
    profile = MaskingProfile(
        "p",
        deny_list=("Smith", "acme", "K"),
        custom_patterns=(
            CustomPattern("emp", "EMPLOYEE_ID", r"EMP-[0-9]{6}"),
            CustomPattern("word", "CODENAME", r"[a-z]{3}ing"),
            CustomPattern("badge", "BADGE", r"[0-9]{4}", context=("badge",), context_required=True),
        ),
    )
    compiled = compile_profile(profile, "")
    deny = compiled.engine.custom.deny_list_pattern()
    assert_exact(compiled.engine, deny, corpus_values)


def test_a_context_word_in_the_label_or_the_value_makes_a_gated_pattern_count() -> None:
    precheck = Precheck(RECOGNIZERS, None)
    assert not precheck.might_match("1985-01-02", "created_at")
    assert precheck.might_match("1985-01-02", "date_of_birth")
    assert precheck.might_match("born 1985-01-02", "")
    assert precheck.might_match("1234567", "dl")  # the engine reads "dl: 1234567"


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
