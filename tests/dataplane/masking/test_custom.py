"""Per-deployment rules: regexes with validators, deny list, column and JSON key rules."""

import json

from dataplane.masking.custom import CustomRules
from dataplane.masking.engine import MaskingEngine
from dataplane.masking.recognizer import Recognizer

from .rules import LOCAL

EMPLOYEE_ID = Recognizer(
    "EMPLOYEE_ID", "employee_id", r"EMP-[0-9]{6}", validator=lambda v: not v.endswith("000000")
)


def engine(**rules: object) -> MaskingEngine:
    return MaskingEngine(LOCAL, custom=CustomRules(**rules))  # type: ignore[arg-type]


def test_a_custom_regex_with_its_validator() -> None:
    masked = engine(regexes=[EMPLOYEE_ID]).mask("EMP-123456 and EMP-000000").text
    assert masked == "[EMPLOYEE_ID] and EMP-000000"


def test_the_deny_list_is_case_insensitive_and_whole_word() -> None:
    masked = engine(deny_list=["Project Falcon", "acme"]).mask(
        "project falcon for ACME acme, not acmeCorp"
    )
    assert masked.text == "[DENY_LIST] for [DENY_LIST] [DENY_LIST], not acmeCorp"
    assert masked.counts == {"DENY_LIST": 3}


def test_a_column_rule_masks_whatever_the_content() -> None:
    rules = engine(column_rules={"ssn": "US_SSN"})
    assert rules.mask_column("SSN", "not even a number").text == "[US_SSN]"
    assert rules.mask_column("notes", "mail alice@example.com").text == "mail [EMAIL_ADDRESS]"


def test_json_string_values_are_masked_recursively() -> None:
    doc = {"user": {"contacts": ["alice@example.com", {"note": "card 4111111111111111"}]}, "n": 7}
    result = engine().mask_json(doc)
    assert result.value == {
        "user": {"contacts": ["[EMAIL_ADDRESS]", {"note": "card [CREDIT_CARD]"}]},
        "n": 7,
    }
    assert result.counts == {"EMAIL_ADDRESS": 1, "CREDIT_CARD": 1}


def test_json_encoded_inside_a_string_is_masked_and_stays_json() -> None:
    doc = {"payload": json.dumps({"email": "bob@example.org", "ok": True})}
    result = engine().mask_json(doc)
    assert isinstance(result.value, dict)
    assert json.loads(str(result.value["payload"])) == {"email": "[EMAIL_ADDRESS]", "ok": True}


def test_json_key_path_rules_mask_whatever_the_content() -> None:
    rules = engine(json_key_rules={"customer.email": "EMAIL_ADDRESS", "*.ssn": "US_SSN"})
    doc = {"customer": {"email": "not-an-email", "ssn": 123}, "ssn": "x", "other": {"email": "y"}}
    assert rules.mask_json(doc).value == {
        "customer": {"email": "[EMAIL_ADDRESS]", "ssn": "[US_SSN]"},
        "ssn": "[US_SSN]",
        "other": {"email": "y"},
    }
