"""Checksums, allocation ranges and structure checks, one validator at a time."""

import pytest

from dataplane.masking.recognizers import validators


@pytest.mark.parametrize("number", ["4111111111111111", "5555555555554444", "378282246310005"])
def test_luhn_accepts_published_test_cards(number: str) -> None:
    assert validators.luhn(number)
    assert validators.credit_card(number)


@pytest.mark.parametrize("number", ["4111111111111112", "1234567812345678", "41111111111111a1"])
def test_card_like_numbers_failing_luhn_are_rejected(number: str) -> None:
    assert not validators.credit_card(number)


def test_a_luhn_valid_number_without_an_issuer_prefix_is_not_a_card() -> None:
    assert validators.luhn("0000000000000000")
    assert not validators.credit_card("0000000000000000")


def test_a_card_number_of_a_length_its_issuer_does_not_use_is_rejected() -> None:
    assert validators.luhn("34000000000000009")  # Amex prefix, 17 digits
    assert not validators.credit_card("34000000000000009")


@pytest.mark.parametrize(
    "iban", ["DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606"]
)
def test_iban_mod97_accepts_real_ibans(iban: str) -> None:
    assert validators.iban_mod97(iban)


@pytest.mark.parametrize(
    "iban",
    [
        "DE89370400440532013001",  # check digits wrong
        "DE8937040044053201300",  # one short for Germany
        "ZZ89370400440532013000",  # no such country
        "GB82WEST1234569876543!",
    ],
)
def test_iban_mod97_rejects_bad_checksums_lengths_and_countries(iban: str) -> None:
    assert not validators.iban_mod97(iban)


def test_ssn_accepts_an_ordinary_number() -> None:
    assert validators.ssn("123456788")


@pytest.mark.parametrize(
    "number",
    ["000123456", "666123456", "900123456", "999123456", "123001234", "123450000", "078051120"],
)
def test_ssn_rejects_invalid_areas_groups_serials_and_published_examples(number: str) -> None:
    assert not validators.ssn(number)


@pytest.mark.parametrize("number", ["912501234", "912701234", "912901234", "912941234"])
def test_itin_accepts_the_allocated_group_ranges(number: str) -> None:
    assert validators.itin(number)


@pytest.mark.parametrize(
    "number", ["812701234", "912491234", "912661234", "912891234", "912931234"]
)
def test_itin_rejects_other_areas_and_groups(number: str) -> None:
    assert not validators.itin(number)


def test_ip_addresses_are_validated_by_the_standard_library() -> None:
    assert validators.ipv4("192.168.1.10")
    assert not validators.ipv4("999.1.1.1")
    assert not validators.ipv4("1.2.3")
    assert validators.ipv6("2001:db8::8a2e:370:7334")
    assert validators.ipv6("::1")
    assert not validators.ipv6("10:22:33")
    assert not validators.ipv6("00:1A:2B:3C:4D:5E")


def test_mac_needs_one_consistent_separator() -> None:
    assert validators.mac("00:1A:2B:3C:4D:5E")
    assert validators.mac("00-1A-2B-3C-4D-5E")
    assert validators.mac("001a.2b3c.4d5e")
    assert not validators.mac("00:1A-2B:3C:4D:5E")


JWT_HS256 = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


def test_jwt_needs_a_json_header_naming_an_algorithm() -> None:
    assert validators.jwt(JWT_HS256)
    assert not validators.jwt("eyJub3QiOiJhbGcifQ.eyJzdWIiOiIxIn0.c2ln")  # {"not":"alg"}
    assert not validators.jwt("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0")  # two parts
    assert not validators.jwt("eyJ!!!!.abcd.efgh")


def test_email_rejects_dotted_edges_and_hyphenated_labels() -> None:
    assert validators.email("alice.smith@example.co.uk")
    assert not validators.email(".alice@example.com")
    assert not validators.email("alice..smith@example.com")
    assert not validators.email("alice@-example.com")
    assert not validators.email("alice@example.c0m")


def test_phone_counts_digits_and_checks_north_american_numbering() -> None:
    assert validators.phone("+44 20 7946 0958")
    assert validators.phone("(415) 555-0132")
    assert not validators.phone("+1 2")
    assert not validators.phone("123-456-7890")  # area code cannot start with 1
    assert not validators.phone("415-155-0132")  # exchange cannot start with 1


def test_date_of_birth_needs_a_real_past_date() -> None:
    assert validators.date_of_birth("1985-03-12")
    assert validators.date_of_birth("12/03/1985")
    assert validators.date_of_birth("March 12, 1985")
    assert validators.date_of_birth("12 Mar 1985")
    assert not validators.date_of_birth("1985-13-45")
    assert not validators.date_of_birth("2999-01-01")
    assert not validators.date_of_birth("1850-01-01")


def test_key_material_mixes_letters_and_digits() -> None:
    assert validators.has_letters_and_digits("sk-proj-a1B2c3")
    assert not validators.has_letters_and_digits("sk-the-very-long-hyphenated-name")
