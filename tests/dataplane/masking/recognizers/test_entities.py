"""Each entity found in prose, in JSON and in CSV, exactly (no neighbouring characters)."""

import json

import pytest

from tests.dataplane.masking.recognizers.conftest import Found
from tests.dataplane.masking.recognizers.test_validators import JWT_HS256

# (entity, value, words before it). Context words are given only where an entity needs one.
EXAMPLES = [
    ("EMAIL_ADDRESS", "alice.smith+billing@example.co.uk", "write to"),
    ("PHONE_NUMBER", "+44 20 7946 0958", "phone"),
    ("PHONE_NUMBER", "(415) 555-0132", "call"),
    ("PHONE_NUMBER", "415-555-0132", "mobile"),
    ("CREDIT_CARD", "4111 1111 1111 1111", "paid with"),
    ("CREDIT_CARD", "5555-5555-5555-4444", "paid with"),
    ("CREDIT_CARD", "378282246310005", "paid with"),
    ("IBAN_CODE", "DE89370400440532013000", "transfer to"),
    ("IBAN_CODE", "GB82 WEST 1234 5698 7654 32", "transfer to"),
    ("US_SSN", "536-22-8412", "customer"),
    ("US_SSN", "536228412", "SSN:"),
    ("US_ITIN", "912-70-1234", "filer"),
    ("US_ITIN", "912701234", "ITIN"),
    ("US_PASSPORT", "C03005988", "passport no."),
    ("US_DRIVER_LICENSE", "D1234567", "driver's license"),
    ("IP_ADDRESS", "192.168.10.24", "from"),
    ("IP_ADDRESS", "2001:db8::8a2e:370:7334", "from"),
    ("IP_ADDRESS", "::1", "from"),
    ("MAC_ADDRESS", "00:1A:2B:3C:4D:5E", "device"),
    ("MAC_ADDRESS", "001a.2b3c.4d5e", "device"),
    ("URL", "postgres://app:s3cret@db.internal:5432", "connect with"),
    ("DATE_OF_BIRTH", "1985-03-12", "date of birth"),
    ("DATE_OF_BIRTH", "March 12, 1985", "born on"),
    ("AWS_ACCESS_KEY", "AKIAIOSFODNN7EXAMPLE", "key id"),
    ("JWT", JWT_HS256, "token"),
    ("BEARER_TOKEN", "Bearer 8f2a9c4e7b1d4f6a9e3c2b1a0d9e8f7c", "Authorization:"),
    ("API_KEY", "ghp_" + "a1B2c3D4e5" * 3 + "f6G7h8", "token"),
    ("API_KEY", "xoxb-2048617283-1234567890-AbCdEfGhIjKl", "slack"),
    ("API_KEY", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe"),
    ("API_KEY", "sk-proj-" + "Ab3dEf6hIj9lMn2pQr5tUv8x" * 2, "openai"),
    ("API_KEY", "sk-ant-api03-" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2" * 2, "anthropic"),
    ("API_KEY", "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "maps"),
]
IDS = [f"{entity}:{value[:20]}" for entity, value, _ in EXAMPLES]


@pytest.mark.parametrize(("entity", "value", "before"), EXAMPLES, ids=IDS)
def test_found_in_prose(found: Found, entity: str, value: str, before: str) -> None:
    text = f"Hi team,\n{before} {value}. Thanks!"
    assert (entity, value) in found(text)


@pytest.mark.parametrize(("entity", "value", "before"), EXAMPLES, ids=IDS)
def test_found_in_json(found: Found, entity: str, value: str, before: str) -> None:
    text = json.dumps({"note": before, "value": value, "id": 42})
    assert (entity, value) in found(text)


@pytest.mark.parametrize(("entity", "value", "before"), EXAMPLES, ids=IDS)
def test_found_in_csv(found: Found, entity: str, value: str, before: str) -> None:
    text = f"id,note,value\n7,{before},{value}\n8,none,n/a\n"
    assert (entity, value) in found(text)


def test_a_private_key_block_is_found_across_line_breaks(found: Found) -> None:
    block = (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA0Z3VS5\nJJcds3xf==\n"
        "-----END RSA PRIVATE KEY-----"
    )
    assert ("PRIVATE_KEY", block) in found(f"key:\n{block}\nbye")


def test_a_private_key_block_is_found_inside_a_json_string(found: Found) -> None:
    block = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0\n-----END PRIVATE KEY-----"
    text = json.dumps({"key": block})
    assert [entity for entity, _ in found(text)] == ["PRIVATE_KEY"]


def test_several_entities_in_one_row_are_each_found(found: Found) -> None:
    row = "17,Alice,alice@example.com,536-22-8412,4111111111111111,10.0.0.7"
    assert found(row) == [
        ("EMAIL_ADDRESS", "alice@example.com"),
        ("US_SSN", "536-22-8412"),
        ("CREDIT_CARD", "4111111111111111"),
        ("IP_ADDRESS", "10.0.0.7"),
    ]


@pytest.mark.parametrize(
    ("entity", "value"),
    [
        ("US_PASSPORT", "C03005988"),
        ("US_DRIVER_LICENSE", "D1234567"),
        ("DATE_OF_BIRTH", "1985-03-12"),
        ("US_SSN", "536228412"),
    ],
)
def test_context_required_entities_are_not_found_without_their_context(
    found: Found, entity: str, value: str
) -> None:
    assert entity not in [e for e, _ in found(f"reference {value} shipped")]
