"""Response and filter shapes for the audit API."""

from rest_framework import serializers


class AuditFilterSerializer(serializers.Serializer):
    actor = serializers.CharField(required=False, help_text="Identity id (sub) or name.")
    resource = serializers.CharField(required=False)
    action = serializers.CharField(required=False)
    session = serializers.CharField(required=False)
    agent = serializers.CharField(required=False, help_text="Agent name.")
    since = serializers.DateTimeField(required=False, help_text="Occurred at or after.")
    until = serializers.DateTimeField(required=False, help_text="Occurred before.")


class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.CharField()
    agent = serializers.CharField(source="agent.name", allow_null=True, default=None)
    agent_seq = serializers.IntegerField(allow_null=True)
    occurred_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField()
    action = serializers.CharField()
    actor_sub = serializers.CharField(help_text="Identity id (the token's sub); '' if none.")
    actor_kind = serializers.CharField(
        help_text="user, service_account, agent, system or anonymous."
    )
    actor_name = serializers.CharField()
    resource = serializers.CharField()
    protocol = serializers.CharField()
    session = serializers.CharField()
    payload = serializers.JSONField()
