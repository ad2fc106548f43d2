"""Validation, context, overlap resolution, fail-closed masking."""

from dataplane.masking.engine import MaskingEngine, Span, resolve
from dataplane.masking.recognizer import Recognizer
from dataplane.masking.strategies import MaskingPolicy

from .rules import LOCAL


def engine() -> MaskingEngine:
    return MaskingEngine(LOCAL)


def test_an_email_in_prose_is_redacted_and_counted() -> None:
    result = engine().mask("Contact alice@example.com today")
    assert result.text == "Contact [EMAIL_ADDRESS] today"
    assert result.counts == {"EMAIL_ADDRESS": 1}
    assert result.failed == 0


def test_a_card_number_failing_luhn_is_not_a_card() -> None:
    assert engine().scan("ref 4111 1111 1111 1112") == []
    assert [s.entity for s in engine().scan("card 4111 1111 1111 1111")] == ["CREDIT_CARD"]


def test_a_context_word_raises_the_score() -> None:
    (plain,) = engine().scan("id 078-05-1120")
    (boosted,) = engine().scan("SSN: 078-05-1120")
    assert boosted.score > plain.score


def test_a_context_required_entity_needs_its_context_word() -> None:
    assert engine().scan("code C03005988") == []
    assert [s.entity for s in engine().scan("passport no. C03005988")] == ["US_PASSPORT"]


def test_min_score_drops_weak_matches() -> None:
    assert MaskingEngine(LOCAL, min_score=0.7).scan("call 555-123-4567") == []


def test_overlaps_resolve_to_higher_score_then_longer_then_earlier() -> None:
    low = Span("A", 0, 10, 0.5, "a")
    high = Span("B", 5, 8, 0.9, "b")
    longer = Span("C", 20, 30, 0.7, "c")
    shorter = Span("D", 22, 25, 0.7, "d")
    earlier = Span("E", 40, 45, 0.7, "e")
    later = Span("F", 42, 47, 0.7, "f")
    assert resolve([low, high, shorter, longer, later, earlier]) == [high, longer, earlier]


def test_resolution_is_deterministic_whatever_the_input_order() -> None:
    spans = [Span("A", 0, 5, 0.8, "x"), Span("B", 0, 5, 0.8, "y"), Span("C", 3, 9, 0.8, "z")]
    assert resolve(spans) == resolve(list(reversed(spans)))


def test_a_recognizer_that_raises_fails_closed() -> None:
    def broken(value: str) -> bool:
        raise RuntimeError("validator bug")

    bad = Recognizer("EMAIL_ADDRESS", "broken", r"[a-z]+@[a-z]+\.com", validator=broken)
    result = MaskingEngine((bad,)).mask("mail bob@corp.com now")
    assert result.text == "[REDACTED]"
    assert result.failed == 1


def test_masking_never_returns_a_raw_value_when_a_strategy_fails() -> None:
    class Exploding(MaskingPolicy):
        def apply(self, entity: str, value: str) -> str:
            raise RuntimeError("strategy bug")

    result = engine().mask("alice@example.com", Exploding())
    assert "alice" not in result.text
    assert result.failed == 1
