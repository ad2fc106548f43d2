"""Each masking strategy: redact, partial, keyed hash pseudonym, format-preserving."""

import pytest

from dataplane.masking.engine import MaskingEngine
from dataplane.masking.strategies import MaskingPolicy, Strategy

from .rules import LOCAL, luhn

KEY = b"deployment-key-one"


def policy(kind: str, key: bytes = KEY) -> MaskingPolicy:
    return MaskingPolicy(Strategy(kind), {}, key)  # type: ignore[arg-type]


def test_redact_names_the_entity() -> None:
    assert policy("redact").apply("EMAIL_ADDRESS", "a@b.io") == "[EMAIL_ADDRESS]"


def test_partial_keeps_the_last_four_and_the_separators() -> None:
    assert policy("partial").apply("CREDIT_CARD", "4111 1111 1111 1234") == "**** **** **** 1234"


def test_partial_redacts_a_value_too_short_to_hide_anything() -> None:
    assert policy("partial").apply("PIN", "1234") == "[PIN]"


def test_keyed_hash_is_consistent_across_calls_so_joins_still_work() -> None:
    first = policy("hash").apply("EMAIL_ADDRESS", "alice@example.com")
    again = policy("hash").apply("EMAIL_ADDRESS", "alice@example.com")
    assert first == again
    assert first.startswith("<EMAIL_ADDRESS_") and len(first) == len("<EMAIL_ADDRESS_>") + 8


def test_keyed_hash_differs_across_keys_and_values() -> None:
    one = policy("hash").apply("EMAIL_ADDRESS", "alice@example.com")
    other_key = policy("hash", b"another-deployment").apply("EMAIL_ADDRESS", "alice@example.com")
    other_value = policy("hash").apply("EMAIL_ADDRESS", "bob@example.com")
    assert len({one, other_key, other_value}) == 3


def test_format_preserving_keeps_length_and_character_classes() -> None:
    value = "AB-12cd 99"
    masked = policy("format_preserving").apply("CUSTOM", value)
    assert masked != value and len(masked) == len(value)
    for before, after in zip(value, masked, strict=True):
        assert before.isdigit() == after.isdigit()
        assert before.isupper() == after.isupper()
        assert before.islower() == after.islower()
        if not before.isalnum():
            assert before == after


def test_format_preserving_is_deterministic_and_cards_stay_luhn_valid() -> None:
    card = "4111 1111 1111 1111"
    masked = policy("format_preserving").apply("CREDIT_CARD", card)
    assert masked == policy("format_preserving").apply("CREDIT_CARD", card)
    assert masked != card and luhn(masked)


def test_keyed_strategies_refuse_an_empty_key() -> None:
    with pytest.raises(ValueError):
        policy("hash", b"")


def test_a_policy_chooses_per_entity() -> None:
    human = MaskingPolicy(Strategy("redact"), {"CREDIT_CARD": Strategy("partial")}, KEY)
    text = "card 4111 1111 1111 1111 mail alice@example.com"
    masked = MaskingEngine(LOCAL).mask(text, human).text
    assert masked == "card **** **** **** 1111 mail [EMAIL_ADDRESS]"
