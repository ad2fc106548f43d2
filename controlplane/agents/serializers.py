"""Request and response shapes for the agents API."""

from rest_framework import serializers


class AgentInputSerializer(serializers.Serializer):
    name = serializers.SlugField(max_length=100)


class AgentOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()
    connected = serializers.BooleanField()
    last_seen_at = serializers.DateTimeField(allow_null=True)
    version = serializers.CharField()
    config_revision_acked = serializers.IntegerField()
    spool_backlog = serializers.IntegerField()
    token_prefix = serializers.CharField()
    token_revoked_at = serializers.DateTimeField(allow_null=True)


class AgentCreatedSerializer(AgentOutputSerializer):
    token = serializers.CharField(help_text="Shown only in this response.")
