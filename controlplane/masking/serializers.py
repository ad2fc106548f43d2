"""Request and response shapes for the masking policy API. Field shapes are checked here;
what the names mean (known entities, strategies, compiling regexes) the service checks."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from controlplane.masking.models import MaskingPolicy
from controlplane.resources.models import Resource


class CustomPatternSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=63)
    entity = serializers.CharField(max_length=63)
    regex = serializers.CharField(max_length=2000, trim_whitespace=False)
    score = serializers.FloatField(min_value=0.0, max_value=1.0, required=False, default=0.8)
    validator = serializers.CharField(required=False, default="", allow_blank=True)
    context = serializers.ListField(
        child=serializers.CharField(max_length=63), required=False, default=list
    )
    context_required = serializers.BooleanField(required=False, default=False)


class GroupNamesField(serializers.ListField):
    """Group names in; the sorted names of a policy's groups out."""

    child = serializers.CharField(max_length=150)

    def to_representation(self, data: Any) -> list[str]:
        return sorted(group.name for group in data.all())


@extend_schema_field({"type": "string", "nullable": True, "readOnly": True})
class UsernameField(serializers.Field):
    """Who made or last changed the policy (null: an operator's shell command)."""

    def __init__(self) -> None:
        super().__init__(read_only=True)

    def to_representation(self, value: Any) -> str:
        return str(value.get_username())


def _names_to(child: serializers.Field) -> serializers.DictField:
    return serializers.DictField(child=child, required=False, default=dict)


class MaskingPolicySerializer(serializers.Serializer):
    """A whole masking policy; PUT replaces the stored one with it, PATCH changes fields."""

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
        choices=MaskingPolicy.AppliesTo.choices, default=MaskingPolicy.AppliesTo.EVERYONE
    )
    groups = GroupNamesField(required=False, default=list)
    priority = serializers.IntegerField(default=0, min_value=-1000000, max_value=1000000)
    enabled = serializers.BooleanField(default=True)
    default_strategy = serializers.CharField(default="redact")
    strategies = _names_to(serializers.CharField())
    entities = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    column_rules = _names_to(serializers.CharField())
    json_key_rules = _names_to(serializers.CharField())
    deny_list = serializers.ListField(
        child=serializers.CharField(trim_whitespace=False), required=False, default=list
    )
    custom_patterns = CustomPatternSerializer(many=True, required=False, default=list)
    on_failure = serializers.ChoiceField(
        choices=MaskingPolicy.OnFailure.choices, default=MaskingPolicy.OnFailure.REDACT
    )
    statement_budget_ms = serializers.IntegerField(min_value=1, default=5000)
    max_value_bytes = serializers.IntegerField(min_value=1, default=1024 * 1024)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    created_by = UsernameField()
    updated_by = UsernameField()
