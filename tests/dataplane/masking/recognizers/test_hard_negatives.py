"""Values that look like PII but are not: none of them may be masked."""

import pytest

from tests.dataplane.masking.recognizers.conftest import Found

HARD_NEGATIVES = {
    "uuid": "request 550e8400-e29b-41d4-a716-446655440000 accepted",
    "sha1": "commit da39a3ee5e6b4b0d3255bfef95601890afd80709 merged",
    "sha256": "digest e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ok",
    "iso timestamp": "created 2024-01-15T10:22:33.123456Z by cron",
    "log timestamp": "2024-01-15 10:22:33,123 INFO worker started",
    "unix millis": "ts=1705314153123 seq=42",
    "order number": "order ORD-2024-000123456 shipped, invoice INV-5512-88",
    "long order id": "order 123456789012 shipped",
    "card failing luhn": "reference 4111 1111 1111 1112 noted",
    "card-like in a longer run": "batch 41111111111111110 done",
    "ssn area 000": "id 000-12-3456 on file",
    "ssn area 666": "id 666-12-3456 on file",
    "ssn area 9xx": "id 923-12-3456 on file",
    "ssn group 00": "id 123-00-4567 on file",
    "ssn serial 0000": "id 123-45-0000 on file",
    "ssn inside a longer number": "part 1234-56-78901 and A123-45-6789",
    "version string": "running v1.2.3 (build 10.0.19041.1) and 2.7.18",
    "four-part version run": "release 1.2.3.4.5 tagged",
    "bad ip": "peer 999.1.1.1 and 256.0.0.1 rejected",
    "clock time": "meeting at 10:22:33 and 12:30",
    "mac too long": "id 00:11:22:33:44:55:66 ignored",
    "iban bad checksum": "ref DE89370400440532013001 here",
    "phone with bad area code": "ticket 123-456-7890 open",
    "hyphenated words after sk": "task-management-and-the-very-long-roadmap-item",
    "email with a digit tld": "user@host.c0m",
    "nine digits without context": "tracking 536228412 delivered",
    "date without birth context": "invoice date 1985-03-12",
}


@pytest.mark.parametrize("text", HARD_NEGATIVES.values(), ids=HARD_NEGATIVES.keys())
def test_hard_negative_is_not_detected(found: Found, text: str) -> None:
    assert found(text) == []
