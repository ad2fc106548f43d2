"""Request and response shapes for the guardrail policy and statement hold APIs. Field shapes
are checked here; whether a policy document can be read the service checks (with the
agent's own reader)."""

from __future__ import annotations

from rest_framework import serializers

from controlplane.guardrails.models import StatementHold
from controlplane.policies.serializers import HOLD_DECISION_FIELDS, HoldSerializer
from controlplane.scoped_rules.serializers import ScopedRuleSerializer


class GuardrailPolicySerializer(ScopedRuleSerializer):
    """A whole guardrail policy; PUT replaces the stored one with it, PATCH changes fields."""

    # A guardrail policy document (format_version 1), as dataplane/guardrails/document.py reads.
    policy = serializers.DictField()
    hold_timeout_s = serializers.IntegerField(min_value=1, default=300)


class StatementHoldSerializer(HoldSerializer):
    """A held statement as approvers see it: the exact text, who, where and why."""

    resource = serializers.CharField(source="resource.name", read_only=True)
    agent = serializers.CharField(source="agent.name", read_only=True)

    class Meta:
        model = StatementHold
        fields = [
            "id",
            "agent",
            "session",
            "grant",
            "identity",
            "resource",
            "statement",
            "rule",
            "reason",
            *HOLD_DECISION_FIELDS,
        ]
        read_only_fields = fields
