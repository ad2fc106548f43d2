"""Masking generic HTTP response bodies: JSON string values and text are masked by the
session's real masker; what cannot be read whole is refused, never passed on."""

from __future__ import annotations

import json

import pytest

from dataplane.contract import MaskingProfile
from dataplane.masking.session import masker_for
from dataplane.protocols.http.body_masking import (
    MAX_MASKED_BODY,
    CannotMask,
    check_maskable,
    mask_body,
)

EMAIL = "alice.example@example.com"
REDACT_ALL = MaskingProfile(name="ai-agents")


def test_json_string_values_are_masked_and_the_document_stays_json() -> None:
    body = json.dumps({"id": 4711, "email": EMAIL, "tags": [f"mail {EMAIL}"]}).encode()
    masked = json.loads(mask_body(masker_for(REDACT_ALL, ""), "json", body))
    assert masked["id"] == 4711
    assert EMAIL not in json.dumps(masked)


def test_text_is_masked_as_free_text() -> None:
    masked = mask_body(masker_for(REDACT_ALL, ""), "text", f"write to {EMAIL}".encode())
    assert masked.startswith(b"write to ") and EMAIL.encode() not in masked


def test_json_key_rules_mask_a_whole_value_by_its_key() -> None:
    profile = MaskingProfile(name="keys", json_key_rules={"customer.ref": "ID"})
    body = json.dumps({"customer": {"ref": "A-1234"}}).encode()
    masked = json.loads(mask_body(masker_for(profile, ""), "json", body))
    assert masked["customer"]["ref"] != "A-1234"


@pytest.mark.parametrize(
    ("content_type", "encoding", "length"),
    [
        ("application/octet-stream", None, 10),
        ("image/png", None, 10),
        (None, None, 10),
        ("text/event-stream", None, None),
        ("application/json", "gzip", 10),
        ("application/json", None, MAX_MASKED_BODY + 1),
    ],
)
def test_what_cannot_be_masked_whole_is_refused(
    content_type: str | None, encoding: str | None, length: int | None
) -> None:
    with pytest.raises(CannotMask):
        check_maskable(content_type, encoding, length)


def test_json_text_and_vendor_json_types_can_be_masked() -> None:
    assert check_maskable("application/json; charset=utf-8", None, 10) == "json"
    assert check_maskable("application/problem+json", "identity", None) == "json"
    assert check_maskable("text/html", None, None) == "text"


def test_a_body_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(CannotMask):
        mask_body(masker_for(REDACT_ALL, ""), "text", b"\xff\xfe\x00")
