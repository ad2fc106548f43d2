"""Request and response shapes for the masking policy API. Field shapes are checked here;
what the names mean (known entities, strategies, compiling regexes) the service checks."""

from __future__ import annotations

from rest_framework import serializers

from controlplane.masking.models import MaskingPolicy
from controlplane.scoped_rules.serializers import ScopedRuleSerializer


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


def _names_to(child: serializers.Field) -> serializers.DictField:
    return serializers.DictField(child=child, required=False, default=dict)


class MaskingPolicySerializer(ScopedRuleSerializer):
    """A whole masking policy; PUT replaces the stored one with it, PATCH changes fields."""

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
