"""Request and response shapes for the tool rule and tool-call hold APIs."""

from __future__ import annotations

from rest_framework import serializers

from controlplane.mcp_server.models import EVERY_TOOL, TOOL_NAMES, ToolCallHold, ToolRule
from controlplane.policies.serializers import HOLD_DECISION_FIELDS, HoldSerializer
from controlplane.scoped_rules.serializers import ScopedRuleSerializer


class ToolRuleSerializer(ScopedRuleSerializer):
    """A whole tool rule; PUT replaces the stored one with it, PATCH changes fields. A rule
    for every resource (null) also decides calls naming none."""

    tool = serializers.ChoiceField(choices=[EVERY_TOOL, *TOOL_NAMES], default=EVERY_TOOL)
    effect = serializers.ChoiceField(choices=ToolRule.Effect.choices)
    hold_timeout_s = serializers.IntegerField(min_value=1, default=300)


class ToolCallHoldSerializer(HoldSerializer):
    """A held tool call as approvers see it: the exact arguments, who, for whom, where."""

    on_behalf_of = serializers.SerializerMethodField()
    resource = serializers.SerializerMethodField()

    class Meta:
        model = ToolCallHold
        fields = [
            "id",
            "tool",
            "arguments",
            "identity",
            "on_behalf_of",
            "resource",
            "rule",
            "correlation_id",
            *HOLD_DECISION_FIELDS,
        ]
        read_only_fields = fields

    def get_on_behalf_of(self, hold: ToolCallHold) -> str | None:
        return hold.on_behalf_of.get_username() if hold.on_behalf_of else None

    def get_resource(self, hold: ToolCallHold) -> str | None:
        return hold.resource.name if hold.resource else None
