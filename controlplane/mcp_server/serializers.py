"""Request and response shapes for the tool rule and tool-call hold APIs."""

from __future__ import annotations

from rest_framework import serializers

from controlplane.masking.serializers import GroupNamesField, UsernameField
from controlplane.mcp_server.models import EVERY_TOOL, TOOL_NAMES, ToolCallHold, ToolRule
from controlplane.resources.models import Resource


class ToolRuleSerializer(serializers.Serializer):
    """A whole tool rule; PUT replaces the stored one with it, PATCH changes fields."""

    name = serializers.SlugField(max_length=63)
    description = serializers.CharField(required=False, default="", allow_blank=True)
    tool = serializers.ChoiceField(choices=[EVERY_TOOL, *TOOL_NAMES], default=EVERY_TOOL)
    # null: every resource (and calls naming none).
    resource = serializers.SlugRelatedField(
        slug_field="name",
        queryset=Resource.objects.all(),
        required=False,
        allow_null=True,
        default=None,
    )
    applies_to = serializers.ChoiceField(
        choices=ToolRule.AppliesTo.choices, default=ToolRule.AppliesTo.EVERYONE
    )
    groups = GroupNamesField(required=False, default=list)
    effect = serializers.ChoiceField(choices=ToolRule.Effect.choices)
    priority = serializers.IntegerField(default=0, min_value=-1000000, max_value=1000000)
    enabled = serializers.BooleanField(default=True)
    hold_timeout_s = serializers.IntegerField(min_value=1, default=300)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    created_by = UsernameField()
    updated_by = UsernameField()


class ToolCallHoldSerializer(serializers.ModelSerializer):
    """A held tool call as approvers see it: the exact arguments, who, for whom, where."""

    identity = serializers.CharField(source="identity.get_username", read_only=True)
    on_behalf_of = serializers.SerializerMethodField()
    resource = serializers.SerializerMethodField()
    decided_by = serializers.SerializerMethodField()

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
            "status",
            "requested_at",
            "expires_at",
            "decided_by",
            "decided_at",
            "decision_comment",
        ]
        read_only_fields = fields

    def get_on_behalf_of(self, hold: ToolCallHold) -> str | None:
        return hold.on_behalf_of.get_username() if hold.on_behalf_of else None

    def get_resource(self, hold: ToolCallHold) -> str | None:
        return hold.resource.name if hold.resource else None

    def get_decided_by(self, hold: ToolCallHold) -> str | None:
        return hold.decided_by.get_username() if hold.decided_by else None
