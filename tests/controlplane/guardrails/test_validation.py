"""A guardrail policy is stored only when the agent's own reader accepts its document:
a policy that cannot be read must never become a weaker one."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from controlplane.guardrails.models import GuardrailPolicy
from controlplane.guardrails.services import GuardrailPolicySpec, guardrail_policy_create
from tests.controlplane.guardrails.conftest import NO_DROP, policy

pytestmark = pytest.mark.django_db


def refused(**fields: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        guardrail_policy_create(actor=None, name="p", spec=GuardrailPolicySpec(**fields))
    assert not GuardrailPolicy.objects.exists()
    return caught.value.message_dict


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({"rules": []}, "format_version"),
        ({"format_version": 2, "rules": []}, "format_version"),
        ({"format_version": 1, "rules": [{"kind": "regex", "name": "x"}]}, "unknown"),
        (
            {
                "format_version": 1,
                "rules": [
                    {"kind": "deny_statements", "name": "x", "classes": ["delete_everything"]}
                ],
            },
            "unknown statement classes",
        ),
        ({"format_version": 1, "rules": [], "surprise": True}, "unknown keys"),
        (
            {
                "format_version": 1,
                "rules": [{"kind": "read_only", "name": "r", "verdict": "allow"}],
            },
            "not allow",
        ),
        ({"format_version": 1, "rules": [], "max_rows": -1}, "max_rows"),
        (
            {
                "format_version": 1,
                "rules": [
                    {
                        "kind": "deny_statements",
                        "name": "s",
                        "classes": ["set_parameter"],
                        "parameters": [7],
                    }
                ],
            },
            "",
        ),
    ],
)
def test_a_document_the_agent_cannot_read_is_refused(
    document: dict[str, Any], fragment: str
) -> None:
    errors = refused(policy=document)
    assert fragment in errors["policy"][0]


def test_a_document_must_be_an_object() -> None:
    assert "JSON object" in refused(policy=["not", "a", "policy"])["policy"][0]  # type: ignore[arg-type]


def test_hold_timeout_applies_to_and_groups_are_checked() -> None:
    errors = refused(policy=NO_DROP, hold_timeout_s=0, applies_to="robots", groups=[" "])
    assert set(errors) == {"hold_timeout_s", "applies_to", "groups"}


def test_a_readable_document_is_stored_as_given() -> None:
    stored = policy("no-drop")
    assert stored.policy == NO_DROP
    assert (stored.hold_timeout_s, stored.applies_to, stored.enabled) == (300, "everyone", True)
