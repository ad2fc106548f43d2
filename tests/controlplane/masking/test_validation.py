"""A masking policy is stored only when every name in it means something to an agent:
known strategies and entities, custom patterns whose regex compiles."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from controlplane.masking.models import MaskingPolicy
from dataplane.contract.masking import BUILTIN_ENTITIES, STRATEGIES
from tests.controlplane.masking.conftest import policy

CARD_NUMBER = {"name": "employee-id", "entity": "EMPLOYEE_ID", "regex": r"EMP-\d{6}"}


def errors_of(**fields: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        policy("bad", **fields)
    return caught.value.message_dict


def test_a_sound_policy_is_stored_with_every_profile_field(db: None) -> None:
    stored = policy(
        "full",
        default_strategy="partial",
        strategies={"EMAIL_ADDRESS": "hash", "EMPLOYEE_ID": "redact"},
        entities=["EMAIL_ADDRESS", "US_SSN"],
        column_rules={"ssn": "US_SSN"},
        json_key_rules={"*.card": "CREDIT_CARD"},
        deny_list=["Project Falcon"],
        custom_patterns=[{**CARD_NUMBER, "validator": "luhn", "context": ["employee"]}],
        on_failure="error",
        statement_budget_ms=250,
        max_value_bytes=4096,
    )
    stored.refresh_from_db()
    assert stored.strategies == {"EMAIL_ADDRESS": "hash", "EMPLOYEE_ID": "redact"}
    assert stored.custom_patterns[0]["entity"] == "EMPLOYEE_ID"
    assert (stored.on_failure, stored.statement_budget_ms, stored.max_value_bytes) == (
        "error",
        250,
        4096,
    )
    assert MaskingPolicy.objects.count() == 1


def test_an_unknown_strategy_is_refused(db: None) -> None:
    assert "default_strategy" in errors_of(default_strategy="scramble")
    assert "strategies" in errors_of(strategies={"US_SSN": "none"})


def test_an_unknown_entity_is_refused_wherever_it_is_named(db: None) -> None:
    assert "strategies" in errors_of(strategies={"SOCIAL": "redact"})
    assert "entities" in errors_of(entities=["US_SSN", "SOCIAL"])
    assert "column_rules" in errors_of(column_rules={"ssn": "SOCIAL"})
    assert "json_key_rules" in errors_of(json_key_rules={"a.b": "SOCIAL"})


def test_a_custom_patterns_entity_becomes_a_known_name_for_that_policy(db: None) -> None:
    policy("ids", custom_patterns=[CARD_NUMBER], column_rules={"emp": "EMPLOYEE_ID"})
    assert "column_rules" in errors_of(column_rules={"emp": "EMPLOYEE_ID"})


@pytest.mark.parametrize(
    "pattern",
    [
        {**CARD_NUMBER, "regex": "EMP-(\\d"},  # does not compile
        {**CARD_NUMBER, "regex": "x*"},  # matches nothing at all: masks every value
        # What the agent would refuse (and then redact everything for) is refused here too.
        {**CARD_NUMBER, "regex": "(a+)+b"},  # nested repeats: catastrophic backtracking
        {**CARD_NUMBER, "regex": "(?<=id:)\\d+"},  # lookaround
        {**CARD_NUMBER, "regex": "(\\d)\\1"},  # backreference
        {**CARD_NUMBER, "entity": "employee id"},
        {**CARD_NUMBER, "validator": "astrology"},
        {**CARD_NUMBER, "score": 1.5},
        {**CARD_NUMBER, "flags": "i"},
        {"name": "no-regex", "entity": "X"},
    ],
)
def test_a_broken_custom_pattern_is_refused(db: None, pattern: dict[str, Any]) -> None:
    assert "custom_patterns" in errors_of(custom_patterns=[pattern])


def test_two_custom_patterns_may_not_share_a_name(db: None) -> None:
    assert "custom_patterns" in errors_of(custom_patterns=[CARD_NUMBER, CARD_NUMBER])


def test_bad_scope_and_limits_are_refused(db: None) -> None:
    assert "applies_to" in errors_of(applies_to="robots")
    assert "on_failure" in errors_of(on_failure="ignore")
    assert "statement_budget_ms" in errors_of(statement_budget_ms=0)
    assert "deny_list" in errors_of(deny_list=["  "])


def test_a_refused_policy_leaves_nothing_behind(db: None) -> None:
    errors_of(strategies={"US_SSN": "none"})
    assert not MaskingPolicy.objects.exists()


def test_the_contract_names_every_strategy_the_snapshot_reader_accepts() -> None:
    from dataplane.contract.snapshot import MASKING_STRATEGIES

    assert set(STRATEGIES) == MASKING_STRATEGIES
    assert len(set(BUILTIN_ENTITIES)) == len(BUILTIN_ENTITIES)
