"""Request and response shapes for the guardrail policy and statement hold APIs. Field shapes
are checked here; whether a policy document can be read the service checks (with the
agent's own reader)."""

from __future__ import annotations

from rest_framework import serializers

from controlplane.guardrails.models import GuardrailPolicy, StatementHold
from controlplane.masking.serializers import GroupNamesField, UsernameField
from controlplane.resources.models import Resource


class GuardrailPolicySerializer(serializers.Serializer):
    """A whole guardrail policy; PUT replaces the stored one with it, PATCH changes fields."""

    name = serializers.SlugField(max_length=63)
    description = serializers.CharField(required=False, default="", allow_blank=True)
    # null: every resource.
    resource = serializers.SlugRelatedField(
        slug_field="name",
        queryset=Resource.objects.all(),
        required=False,
        allow_null=True,
        default=None,
    )
    applies_to = serializers.ChoiceField(
        choices=GuardrailPolicy.AppliesTo.choices, default=GuardrailPolicy.AppliesTo.EVERYONE
    )
    groups = GroupNamesField(required=False, default=list)
    priority = serializers.IntegerField(default=0, min_value=-1000000, max_value=1000000)
    enabled = serializers.BooleanField(default=True)
    # A guardrail policy document (format_version 1), as dataplane/guardrails/document.py reads.
    policy = serializers.DictField()
    hold_timeout_s = serializers.IntegerField(min_value=1, default=300)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    created_by = UsernameField()
    updated_by = UsernameField()


class StatementHoldSerializer(serializers.ModelSerializer):
    """A held statement as approvers see it: the exact text, who, where and why."""

    identity = serializers.CharField(source="identity.get_username", read_only=True)
    resource = serializers.CharField(source="resource.name", read_only=True)
    agent = serializers.CharField(source="agent.name", read_only=True)
    decided_by = serializers.SerializerMethodField()

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
            "status",
            "requested_at",
            "expires_at",
            "decided_by",
            "decided_at",
            "decision_comment",
        ]
        read_only_fields = fields

    def get_decided_by(self, hold: StatementHold) -> str | None:
        return hold.decided_by.get_username() if hold.decided_by else None
