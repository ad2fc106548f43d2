"""Request and response shapes for the policy API, and the hold decision input."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from controlplane.identities.models import User
from controlplane.policies.hold_decisions import DECISION_COMMENT_MAX_CHARS
from controlplane.policies.models import AutoApprovalRule, Policy


def _service_accounts() -> Any:
    return User.objects.filter(kind=User.Kind.SERVICE_ACCOUNT, is_active=True)


class AutoApprovalRuleSerializer(serializers.Serializer):
    group = serializers.CharField(required=False, default="", allow_blank=True, max_length=150)
    service_account = serializers.SlugRelatedField(
        slug_field="username",
        queryset=_service_accounts(),
        required=False,
        allow_null=True,
        default=None,
    )
    max_duration_seconds = serializers.IntegerField(min_value=1)
    access_level = serializers.CharField(required=False, default="", allow_blank=True)
    only_during_incident = serializers.BooleanField(required=False, default=False)
    scope = serializers.ChoiceField(
        choices=AutoApprovalRule.Scope.choices, required=False, default="duration"
    )

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {
            "group": instance.group.name if instance.group_id else "",
            "service_account": (
                instance.service_account.get_username() if instance.service_account_id else None
            ),
            "max_duration_seconds": instance.max_duration_seconds,
            "access_level": instance.access_level,
            "only_during_incident": instance.only_during_incident,
            "scope": instance.scope,
        }


class PolicySerializer(serializers.Serializer):
    """A whole policy; PUT replaces the stored one with it."""

    resource = serializers.CharField(read_only=True, source="resource.name")
    requester_groups = serializers.ListField(
        child=serializers.CharField(max_length=150), required=False, default=list
    )
    requester_service_accounts = serializers.ListField(
        child=serializers.SlugRelatedField(slug_field="username", queryset=_service_accounts()),
        required=False,
        default=list,
    )
    approver_groups = serializers.ListField(
        child=serializers.CharField(max_length=150), required=False, default=list
    )
    min_approvals = serializers.IntegerField(min_value=1, max_value=10, default=1)
    max_duration_seconds = serializers.IntegerField(min_value=1)
    access_levels = serializers.ListField(
        child=serializers.CharField(max_length=63), required=False, default=list
    )
    default_access_level = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=63
    )
    auto_approvals = AutoApprovalRuleSerializer(many=True, required=False, default=list)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance: Policy) -> dict[str, Any]:
        return {
            "resource": instance.resource.name,
            "requester_groups": sorted(g.name for g in instance.requester_groups.all()),
            "requester_service_accounts": sorted(
                u.get_username() for u in instance.requester_service_accounts.all()
            ),
            "approver_groups": sorted(g.name for g in instance.approver_groups.all()),
            "min_approvals": instance.min_approvals,
            "max_duration_seconds": instance.max_duration_seconds,
            "access_levels": list(instance.access_levels),
            "default_access_level": instance.default_access_level,
            "auto_approvals": AutoApprovalRuleSerializer(
                instance.auto_approvals.all(), many=True
            ).data,
            "updated_at": serializers.DateTimeField().to_representation(instance.updated_at),
        }


class HoldDecisionInputSerializer(serializers.Serializer):
    """An approver's decision on a held statement or tool call: an optional comment."""

    comment = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=DECISION_COMMENT_MAX_CHARS
    )


# What every held work's serializer ends with: where its decision stands.
HOLD_DECISION_FIELDS = [
    "status",
    "requested_at",
    "expires_at",
    "decided_by",
    "decided_at",
    "decision_comment",
]


class HoldSerializer(serializers.ModelSerializer):
    """A held statement or tool call as approvers see it; each kind names its model and
    fields (ending with HOLD_DECISION_FIELDS)."""

    identity = serializers.CharField(source="identity.get_username", read_only=True)
    decided_by = serializers.SerializerMethodField()

    def get_decided_by(self, hold: Any) -> str | None:
        return hold.decided_by.get_username() if hold.decided_by else None
