"""Request and response shapes every scoped rule API shares: who, where, priority, enabled,
and who changed it. Each kind's serializer adds its own fields."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from controlplane.resources.models import Resource
from controlplane.scoped_rules.models import AppliesTo


class GroupNamesField(serializers.ListField):
    """Group names in; the sorted names of a rule's groups out."""

    child = serializers.CharField(max_length=150)

    def to_representation(self, data: Any) -> list[str]:
        return sorted(group.name for group in data.all())


@extend_schema_field({"type": "string", "nullable": True, "readOnly": True})
class UsernameField(serializers.Field):
    """Who made or last changed the rule (null: an operator's shell command)."""

    def __init__(self) -> None:
        super().__init__(read_only=True)

    def to_representation(self, value: Any) -> str:
        return str(value.get_username())


class ScopedRuleSerializer(serializers.Serializer):
    """A whole rule; PUT replaces the stored one with it, PATCH changes fields."""

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
    applies_to = serializers.ChoiceField(choices=AppliesTo.choices, default=AppliesTo.EVERYONE)
    groups = GroupNamesField(required=False, default=list)
    priority = serializers.IntegerField(default=0, min_value=-1000000, max_value=1000000)
    enabled = serializers.BooleanField(default=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    created_by = UsernameField()
    updated_by = UsernameField()
