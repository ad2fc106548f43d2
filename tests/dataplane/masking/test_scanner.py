"""PythonScanner and HyperscanScanner give identical spans after resolution."""

import random
import re
from collections.abc import Sequence

import pytest

from dataplane.masking.engine import MaskingEngine
from dataplane.masking.recognizer import Recognizer
from dataplane.masking.scanner import (
    PythonScanner,
    Scanner,
    default_scanner,
    hyperscan_available,
)

from .rules import LOCAL

needs_hyperscan = pytest.mark.skipif(not hyperscan_available(), reason="hyperscan not importable")

PIECES = [
    "alice@example.com", "bob.smith+tag@mail.example.org", "4111 1111 1111 1111",
    "4111-1111-1111-1112", "123-45-6789", "ssn 078-05-1120", "passport C03005988",
    "C03005988", "555-123-4567", "order 2024-000123", "é", "日本", "\n", ", ", " ", "{\"a\": 1}",
    "10.0.0.1", "2001:db8::1", "00:1A:2B:3C:4D:5E", "GB82 WEST 1234 5698 7654 32",
    "AKIAIOSFODNN7EXAMPLE", "https://user:pw@db.example.com/x", "born 1990-04-12",
    "Bearer abcdefghijklmnopqrstuvwxyz012345", "550e8400-e29b-41d4-a716-446655440000",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "DL: D1234567", "_", "x",
]  # fmt: skip


def corpus(seed: int, lines: int = 200) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12))) for _ in range(lines)]


@needs_hyperscan
def test_hyperscan_and_python_scanners_find_identical_spans_on_a_generated_corpus() -> None:
    from dataplane.masking.scanner import HyperscanScanner

    fast = MaskingEngine(LOCAL, scanner=HyperscanScanner(LOCAL))
    fallback = MaskingEngine(LOCAL, scanner=PythonScanner(LOCAL))
    for text in corpus(seed=5):
        assert fast.scan(text) == fallback.scan(text), text


@needs_hyperscan
def test_a_pattern_hyperscan_rejects_still_runs_in_python() -> None:
    from dataplane.masking.scanner import HyperscanScanner

    odd = (Recognizer("X", "lookbehind", r"(?<=id=)[0-9]+"),)
    candidates = list(HyperscanScanner(odd).candidates("id=42 and 7"))
    assert [(c.start, c.end) for c in candidates] == [(3, 5)]


def test_character_offsets_not_byte_offsets_after_multibyte_text() -> None:
    text = "日本é alice@example.com"
    spans = MaskingEngine(LOCAL, scanner=default_scanner(LOCAL)).scan(text)
    assert [(s.start, s.end) for s in spans] == [(4, 21)]
    assert text[4:21] == "alice@example.com"


@needs_hyperscan
def test_both_scanners_agree_with_the_shared_registry_once_it_lands() -> None:
    from dataplane.masking.scanner import HyperscanScanner

    registry = getattr(pytest.importorskip("dataplane.masking.recognizers"), "RECOGNIZERS", None)
    if registry is None:
        pytest.skip("the shared RECOGNIZERS registry has not landed yet")
    fast = MaskingEngine(registry, scanner=HyperscanScanner(registry))
    fallback = MaskingEngine(registry, scanner=PythonScanner(registry))
    entities: set[str] = set()
    for text in corpus(seed=11):
        spans = fast.scan(text)
        assert spans == fallback.scan(text), text
        entities |= {s.entity for s in spans}
    assert {"EMAIL_ADDRESS", "CREDIT_CARD", "IP_ADDRESS"} <= entities  # not trivially empty


@needs_hyperscan
def test_text_that_is_not_valid_utf8_still_gets_every_match() -> None:
    from dataplane.masking.scanner import HyperscanScanner

    text = "\ud800 alice@example.com"
    fast = MaskingEngine(LOCAL, scanner=HyperscanScanner(LOCAL))
    assert [s.entity for s in fast.scan(text)] == ["EMAIL_ADDRESS"]


def test_the_hyperscan_form_drops_word_boundaries_only() -> None:
    from dataplane.masking.scanner import prefilter_form

    assert prefilter_form(r"\b[0-9]{9}\b") == "[0-9]{9}"
    assert prefilter_form(r"a\\b") == r"a\\b"  # an escaped backslash then a literal b
    assert prefilter_form(r"\Bx") == "x"


@needs_hyperscan
def test_patterns_with_word_boundaries_run_in_hyperscan_with_identical_results() -> None:
    from dataplane.masking.scanner import HyperscanScanner

    bounded = (Recognizer("US_SSN", "ssn", r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b"),)
    scanner = HyperscanScanner(bounded)
    assert scanner.python_only == []
    for text in ["x078-05-1120", "id 078-05-1120.", "é078-05-1120", "0078-05-1120"]:
        fast = MaskingEngine(bounded, scanner=scanner).scan(text)
        assert fast == MaskingEngine(bounded, scanner=PythonScanner(bounded)).scan(text), text


@needs_hyperscan
def test_the_default_scanner_is_hyperscan_where_it_imports() -> None:
    from dataplane.masking.scanner import HyperscanScanner

    assert isinstance(default_scanner(LOCAL), HyperscanScanner)


# Equivalence with plain `finditer`, on text from the benchmark's corpus generator.


def _reference(patterns: Sequence[Recognizer], text: str) -> list[tuple[int, int, int]]:
    """What both scanners must yield: every non-empty `finditer` match of every pattern."""
    return sorted(
        (index, m.start(), m.end())
        for index, rec in enumerate(patterns)
        for m in re.finditer(rec.pattern, text)
        if m.end() > m.start()
    )


def _mutated(texts: list[str], seed: int, count: int) -> list[str]:
    """Texts with a few characters swapped for separators, digits, letters or non-ASCII."""
    rng = random.Random(seed)
    alphabet = "aZ09 -_.:@/+()\n\té日,;\"'{}"
    out = []
    for _ in range(count):
        chars = list(rng.choice(texts))
        for _ in range(rng.randint(1, 6)):
            if chars:
                chars[rng.randrange(len(chars))] = rng.choice(alphabet)
        out.append("".join(chars))
    return out


def _generated_texts(seed: int) -> list[str]:
    pytest.importorskip("faker")
    from bench.masking.corpus import hard_negatives, positives
    from bench.masking.throughput import prose, result_rows

    texts = [str(r["text"]) for r in positives(seed, per_entity=15)]
    texts += [str(r["text"]) for r in hard_negatives(seed, target_bytes=20_000)]
    texts += result_rows(seed, 20_000) + prose(seed, 20_000) + corpus(seed, 200)
    # Non-ASCII before a value: Hyperscan's byte offsets are not character offsets there.
    texts += ["日本語のテキスト" * 20 + t for t in texts[:40]]
    return texts + _mutated(texts, seed, 1500)


def _scanners_here(patterns: Sequence[Recognizer]) -> list[Scanner]:
    scanners: list[Scanner] = [PythonScanner(patterns)]
    if hyperscan_available():
        from dataplane.masking.scanner import HyperscanScanner

        scanners.append(HyperscanScanner(patterns))
    return scanners


@pytest.mark.parametrize("seed", [5, 23])
def test_both_scanners_yield_exactly_the_finditer_candidates_on_generated_text(
    seed: int,
) -> None:
    registry = tuple(pytest.importorskip("dataplane.masking.recognizers").RECOGNIZERS)
    scanners = _scanners_here(registry)
    for text in _generated_texts(seed):
        expected = _reference(registry, text)
        for scanner in scanners:
            assert sorted(scanner.candidates(text)) == expected, (type(scanner), text)


def test_candidates_are_found_wherever_the_pattern_is_not_anchorable() -> None:
    odd = (
        Recognizer("X", "case_insensitive", r"(?i)secret-[0-9]+"),
        Recognizer("X", "category", r"\d{3}x"),
        Recognizer("X", "negated", r"[^ ]{4}!"),
        Recognizer("X", "lookbehind", r"(?<=id=)[0-9]+"),
    )
    text = "SeCrEt-12 and 123x then abcd! and id=42"
    expected = _reference(odd, text)
    assert len(expected) == 4
    for scanner in _scanners_here(odd):
        assert sorted(scanner.candidates(text)) == expected


def test_an_anchor_is_a_run_every_match_contains_with_its_furthest_start() -> None:
    from dataplane.masking.scanner import anchor_of

    ssn = anchor_of(r"[A-Za-z0-9_]?(?:[0-9]{3}-[0-9]{2}-[0-9]{4})[A-Za-z0-9_]*")
    assert ssn is not None and ssn.lead == 1 and len(ssn.runs) == 11
    assert re.fullmatch(ssn.regex(), "123-45-6789")
    email = anchor_of(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]{2,24}")
    assert email is not None and email.runs[0] == frozenset("@") and email.lead is None
    assert anchor_of(r"(?i)abc") is None  # case folding: no certain characters
    assert anchor_of(r"\d+") is None  # \d is every Unicode digit
    assert anchor_of(r"a?b*") is None  # nothing is required


def test_the_word_tail_comes_off_only_at_the_top_level() -> None:
    from dataplane.masking.scanner import without_word_tail

    assert without_word_tail("[A-Za-z0-9_]?(?:x)[A-Za-z0-9_]*") == "[A-Za-z0-9_]?(?:x)"
    assert without_word_tail(r"a|b[A-Za-z0-9_]*") == r"a|b[A-Za-z0-9_]*"  # inside a branch
    assert without_word_tail(r"a\[A-Za-z0-9_]*") == r"a\[A-Za-z0-9_]*"  # escaped bracket


def test_required_classes_are_classes_every_match_holds_a_character_of() -> None:
    from dataplane.masking.recognizers import network
    from dataplane.masking.scanner import required_classes

    mac = required_classes(network.RECOGNIZERS[2].pattern)  # two forms: `:`/`-` or `.`
    assert frozenset(":-.") in mac
    assert required_classes(r"a[0-9]+") == [frozenset("a"), frozenset("0123456789")]
    assert required_classes(r"(?i)abc") == []  # case folding: no certain characters
    assert required_classes(r"a|b?") == []  # a branch that requires nothing
    assert required_classes(r"\d{3}x") == [frozenset("x")]  # \d is every Unicode digit


def test_every_match_of_a_registry_pattern_holds_each_required_class() -> None:
    from dataplane.masking.recognizers import RECOGNIZERS
    from dataplane.masking.scanner import required_classes

    texts = corpus(seed=3, lines=300)
    checked = 0
    for rec in RECOGNIZERS:
        classes = required_classes(rec.pattern)
        for text in texts:
            for match in re.finditer(rec.pattern, text):
                assert all(not c.isdisjoint(match.group()) for c in classes), rec.name
                checked += 1
    assert checked > 100
