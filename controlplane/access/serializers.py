"""Request and response shapes for the grants and access-requests APIs."""

from typing import Any

from rest_framework import serializers

from controlplane.access.models import AccessRequest, Grant
from controlplane.identities.selectors import identities_active
from controlplane.resources.selectors import resources_list


class GrantInputSerializer(serializers.Serializer):
    identity = serializers.SlugRelatedField(slug_field="username", queryset=identities_active())
    resource = serializers.SlugRelatedField(slug_field="name", queryset=resources_list())
    duration_seconds = serializers.IntegerField(required=False, min_value=1)
    expires_at = serializers.DateTimeField(required=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    access_level = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=63
    )
    scope = serializers.ChoiceField(
        choices=Grant.Scope.choices, required=False, default=Grant.Scope.DURATION
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("duration_seconds" in attrs) == ("expires_at" in attrs):
            raise serializers.ValidationError("give exactly one of duration_seconds and expires_at")
        return attrs


class GrantFilterSerializer(serializers.Serializer):
    identity = serializers.CharField(required=False, help_text="Username.")
    resource = serializers.CharField(required=False, help_text="Resource name.")
    active = serializers.BooleanField(required=False, allow_null=True, default=None)


class GrantOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    identity = serializers.CharField(source="identity.username")
    identity_id = serializers.UUIDField()
    resource = serializers.CharField(source="resource.name")
    reason = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    starts_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    access_level = serializers.CharField()
    scope = serializers.CharField()
    used_up_at = serializers.DateTimeField(allow_null=True)
    request = serializers.UUIDField(source="request_id", allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoked_by = serializers.CharField(source="revoked_by.username", allow_null=True, default=None)
    active = serializers.BooleanField(source="is_active")


class AccessRequestInputSerializer(serializers.Serializer):
    resource = serializers.SlugRelatedField(slug_field="name", queryset=resources_list())
    duration_seconds = serializers.IntegerField(min_value=1)
    access_level = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=63
    )
    reason = serializers.CharField(max_length=2000)


class AccessRequestFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AccessRequest.Status.choices, required=False)
    resource = serializers.CharField(required=False, help_text="Resource name.")


class DecisionInputSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, default="", allow_blank=True, max_length=2000)


class ApprovalOutputSerializer(serializers.Serializer):
    approver = serializers.CharField(source="approver.username")
    decision = serializers.CharField()
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()


class AccessRequestOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    requester = serializers.CharField(source="requester.username")
    resource = serializers.CharField(source="resource.name")
    access_level = serializers.CharField()
    reason = serializers.CharField()
    duration_seconds = serializers.IntegerField()
    status = serializers.ChoiceField(choices=AccessRequest.Status.choices)
    auto_approved = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(help_text="Until when it may be decided.")
    decided_at = serializers.DateTimeField(allow_null=True)
    approvals = ApprovalOutputSerializer(many=True)
    grant = serializers.UUIDField(source="grant.pk", allow_null=True, default=None)
