"""The gaps the accuracy benchmark found: each fixed, and held fixed here.

Dates of birth only by their own label, Stripe keys without a digit (and other common
key shapes), and a grouped IBAN followed by a word.
"""

import json

import pytest

from dataplane.masking.recognizer import Recognizer
from dataplane.masking.recognizers import validators
from tests.dataplane.masking.recognizers.conftest import Found


def test_a_date_in_the_next_csv_field_is_not_a_date_of_birth(found: Found) -> None:
    row = "17,Smith,DOB,1985-03-12,2024-05-06,Springfield\n"
    assert found(row) == [("DATE_OF_BIRTH", "1985-03-12")]


def test_a_date_in_a_neighbouring_json_field_is_not_a_date_of_birth(found: Found) -> None:
    text = json.dumps({"dob": "1985-03-12", "created": "2024-05-06"})
    assert found(text) == [("DATE_OF_BIRTH", "1985-03-12")]


@pytest.mark.parametrize(
    "text",
    [
        "date of birth:\n1985-03-12",
        "She was born in Springfield, Illinois on 12 March 1985.",
        'customer {"date_of_birth": "03/12/1985"}',
        "name,dob,city\nAlice,1985-03-12,Paris",
    ],
)
def test_a_date_right_after_its_birth_label_is_found(found: Found, text: str) -> None:
    assert [entity for entity, _ in found(text)] == ["DATE_OF_BIRTH"]


def test_a_birth_word_far_before_the_date_does_not_label_it(found: Found) -> None:
    text = "Born and raised in the city, the customer wrote to us about the order on 1985-03-12"
    assert found(text) == []


def test_a_context_gap_ties_the_word_to_the_value_without_digits_between() -> None:
    rec = Recognizer("X", "x", "[0-9]+", context=("dob",), context_gap=10)
    assert rec.has_context("dob: 1", 5)
    assert not rec.has_context("dob,1,2", 6)  # a digit (another value) sits in between
    assert not rec.has_context("dob" + " " * 11 + "1", 14)  # too far
    assert Recognizer("X", "x", "[0-9]+", context=("dob",)).has_context("dob,1,2", 6)


@pytest.mark.parametrize(
    "key",
    [
        "sk_live_uzaurhYkcUGsUNcqRdqMxkEd",  # no digit: missed before
        "sk_test_ODEXUqJwIeJzqNWwASdMhipL",
        "rk_live_51HgAbCdEfGhIjKlMnOpQr",
        "whsec_" + "Ab3dEf6hIj9lMn2pQr5tUv8xYz1bC4dE",
        "glpat-" + "xY9zAb3dEf6hIj9lMn2p",
        "npm_" + "a1B2c3D4e5" * 3 + "f6G7h8",
        "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh",
        "SG." + "Ab3dEf6hIj9lMn2pQr5tUv" + "." + "Ab3dEf6hIj9lMn2pQr5tUv8xYz1bC4dE7gH0jK3mN6p",
        "shpat_" + "0a1b2c3d4e5f" * 2 + "a9b8c7d6",
        "dop_v1_" + "0123456789abcdef" * 4,
        "pypi-AgEIcHlwaS5vcmc" + "Ab3dEf6hIj9lMn2pQr5tUv8x" * 3,
    ],
)
def test_common_api_key_shapes_are_found(found: Found, key: str) -> None:
    assert ("API_KEY", key) in found(f"api key: {key} (rotate monthly)")


@pytest.mark.parametrize(
    "text",
    [
        "see sk-this-is-just-a-long-sentence-of-plain-words",
        "setting sk_live_configurationvalues_here",
        "config glpat-placeholder-goes-here-later",
    ],
)
def test_words_after_a_key_prefix_are_not_keys(found: Found, text: str) -> None:
    assert [e for e, _ in found(text) if e == "API_KEY"] == []


def test_key_material_needs_two_kinds_of_character() -> None:
    assert validators.key_material("sk_live_uzaurhYkcUGsUNcqRdqMxkEd")
    assert validators.key_material("sk-proj-a1b2c3")
    assert not validators.key_material("sk-the-very-long-hyphenated-name")
    assert not validators.key_material("SK_ALL_UPPER_CASE")


@pytest.mark.parametrize(
    ("iban", "after"),
    [
        ("BE71 0961 2345 6769", " Hi there"),
        ("BE71 0961 2345 6769", " THANKS"),
        ("GB82 WEST 1234 5698 7654 32", " Thanks"),
        ("GB82 WEST 1234 5698 7654 32", " OK"),
        ("DE89 3704 0044 0532 0130 00", " Bank"),
        ("FR14 2004 1010 0505 0001 3M02 606", " Merci"),
    ],
)
def test_a_grouped_iban_followed_by_a_word_is_found(found: Found, iban: str, after: str) -> None:
    assert ("IBAN_CODE", iban) in found(f"wire to {iban}{after}")


def test_an_iban_of_the_wrong_length_for_its_country_is_not_found(found: Found) -> None:
    assert found("wire to GB82 WEST 1234 5698 7654 3 now") == []
