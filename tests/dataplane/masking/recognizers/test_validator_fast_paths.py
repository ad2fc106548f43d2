"""The validators' ASCII fast paths answer exactly as the plain definitions do.

The references below are the straightforward per-character definitions the fast paths
replaced; random card-, SSN- and phone-shaped strings (and a few odd ones) must get the
same answer from both.
"""

import random

import pytest

from dataplane.masking.recognizers import validators


def reference_digits_only(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def reference_luhn(number: str) -> bool:
    if not number.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def reference_card_issuer(number: str) -> bool:
    return any(
        low <= number[: len(low)] <= high and len(number) in lengths
        for low, high, lengths in validators.CARD_ISSUERS
    )


def shaped(rng: random.Random) -> str:
    """Digits of card, SSN and phone lengths, sometimes with separators or odd characters."""
    length = rng.choice([0, 1, 3, 4, 9, 10, 13, 14, 15, 16, 17, 18, 19, 20])
    prefix = rng.choice(["", "4", "5", "2221", "2720", "34", "37", "6011", "65", "36", "62"])
    chars = list(prefix + "".join(rng.choice("0123456789") for _ in range(length)))
    for _ in range(rng.choice([0, 0, 1, 3])):
        if chars:
            chars.insert(rng.randrange(len(chars)), rng.choice(" -.()/+a٣²"))
    return "".join(chars)


@pytest.fixture(scope="module")
def samples() -> list[str]:
    rng = random.Random(7)
    return [shaped(rng) for _ in range(20_000)] + ["", "٣٣٣٣", "4111111111111111", "0" * 16]


def test_digits_only_matches_the_per_character_definition(samples: list[str]) -> None:
    assert [validators.digits_only(s) for s in samples] == [
        reference_digits_only(s) for s in samples
    ]


def test_luhn_and_the_issuer_table_match_the_plain_definitions(samples: list[str]) -> None:
    numbers = [*samples, *(reference_digits_only(s) for s in samples)]
    for number in numbers:
        try:
            expected = reference_luhn(number)
        except ValueError:  # a digit int() cannot read (a superscript) raises in both
            with pytest.raises(ValueError):
                validators.luhn(number)
            continue
        assert validators.luhn(number) == expected, number
        assert validators.card_issuer(number) == reference_card_issuer(number), number


def test_card_issuers_are_found_by_prefix_and_length() -> None:
    assert validators.card_issuer("4111111111111111")
    assert validators.card_issuer("2720990000000000")
    assert not validators.card_issuer("2721000000000000")
    assert not validators.card_issuer("411111111111111")  # Visa has no 15-digit numbers
