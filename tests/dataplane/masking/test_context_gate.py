"""A pattern that counts only beside a context word is not run where no such word is.

The gate must change no span: the engine with it finds exactly what the engine without it
finds, over the precheck's corpus of short values and whole records under several labels.
"""

import pytest

from dataplane.masking.engine import MaskingEngine, _ContextGate
from dataplane.masking.recognizer import Recognizer
from dataplane.masking.recognizers import RECOGNIZERS

from .test_precheck import LABELS, corpus_texts, values


def ungated(engine: MaskingEngine) -> MaskingEngine:
    engine._gate = _ContextGate(())  # no pattern is gated: every candidate is validated
    return engine


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    texts = corpus_texts()
    return sorted(set(values(texts)))[::7] + texts  # a sample of the values, every record


def test_the_gate_changes_no_span(corpus: list[str]) -> None:
    gated, plain = MaskingEngine(), ungated(MaskingEngine())
    checked = 0
    for label in (*LABELS, "passport_no", "customer_notes"):
        for text in corpus:
            assert gated.scan(text, label) == plain.scan(text, label), (label, text)
            checked += 1
    assert checked > 10_000


def test_a_gated_pattern_is_not_validated_without_its_word() -> None:
    calls: list[str] = []

    def badge(value: str) -> bool:
        calls.append(value)
        return True

    rec = Recognizer("BADGE", "badge", "[0-9]{4}", badge, context=("badge",), context_required=True)
    engine = MaskingEngine((rec,))
    assert engine.scan("id 1234", "room") == []
    assert calls == []
    assert [s.entity for s in engine.scan("id 1234", "badge_no")] == ["BADGE"]
    assert [s.entity for s in engine.scan("Badge 1234", "")] == ["BADGE"]
    assert calls == ["1234", "1234"]


def test_words_the_gate_cannot_trust_leave_the_pattern_running() -> None:
    odd = Recognizer("X", "x", "[0-9]{4}", context=("nº",), context_required=True)
    assert _ContextGate((odd, *RECOGNIZERS)).gated.isdisjoint({0})
