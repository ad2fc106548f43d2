"""The masking benchmark's corpus: same seed, same corpus; every label points at its value."""

from __future__ import annotations

import itertools

from bench.masking.corpus import ENTITIES, hard_negatives, positives


def test_the_same_seed_generates_the_same_corpus() -> None:
    assert list(positives(7, per_entity=5)) == list(positives(7, per_entity=5))
    assert list(hard_negatives(7, target_bytes=5_000)) == list(
        hard_negatives(7, target_bytes=5_000)
    )


def test_a_different_seed_generates_a_different_corpus() -> None:
    assert list(positives(7, per_entity=5)) != list(positives(8, per_entity=5))


def test_every_entity_of_the_design_is_labelled() -> None:
    labelled = {s["entity"] for r in positives(3, per_entity=2) for s in r["spans"]}
    assert labelled == set(ENTITIES)


def test_every_label_covers_a_value_of_its_entity_in_the_text() -> None:
    for record in positives(11, per_entity=20):
        for span in record["spans"]:
            value = record["text"][span["start"] : span["end"]]
            assert value and value == value.strip(), (span, record["text"])
            assert 0 <= span["start"] < span["end"] <= len(record["text"])


def test_labels_match_values_regenerated_from_the_same_seed() -> None:
    # The value under each label is exactly what the generator produced: an email has its @,
    # a card its digits passing Luhn, a private key its PEM armour.
    for record in itertools.islice(positives(13, per_entity=10), 200):
        for span in record["spans"]:
            value = record["text"][span["start"] : span["end"]]
            if span["entity"] == "EMAIL_ADDRESS":
                assert "@" in value
            if span["entity"] == "CREDIT_CARD":
                assert _luhn("".join(c for c in value if c.isdigit()))
            if span["entity"] == "PRIVATE_KEY":
                assert value.startswith("-----BEGIN ") and value.endswith("-----")


def test_hard_negatives_carry_no_labels_and_reach_the_requested_size() -> None:
    records = list(hard_negatives(5, target_bytes=20_000))
    assert all(r["spans"] == [] for r in records)
    assert sum(len(str(r["text"]).encode()) for r in records) >= 20_000


def _luhn(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0
