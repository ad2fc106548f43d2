"""Response and filter shapes for the audit API."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class AuditFilterSerializer(serializers.Serializer):
    actor = serializers.CharField(required=False, help_text="Identity id (sub) or name.")
    on_behalf_of = serializers.CharField(
        required=False, help_text="Id (sub) or name of the human an agent acted for."
    )
    resource = serializers.CharField(required=False)
    action = serializers.CharField(required=False)
    session = serializers.CharField(required=False)
    agent = serializers.CharField(required=False, help_text="Agent name.")
    since = serializers.DateTimeField(required=False, help_text="Occurred at or after.")
    until = serializers.DateTimeField(required=False, help_text="Occurred before.")


class OnBehalfOfSerializer(serializers.Serializer):
    sub = serializers.CharField()
    kind = serializers.CharField()
    name = serializers.CharField()


class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    seq = serializers.IntegerField(help_text="The event's index in the tamper-evident log.")
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
    on_behalf_of = serializers.SerializerMethodField(
        help_text="The human the actor acted for (an AI agent launched by them), or null."
    )
    resource = serializers.CharField()
    protocol = serializers.CharField()
    session = serializers.CharField()
    payload = serializers.JSONField()

    @extend_schema_field(OnBehalfOfSerializer(allow_null=True))
    def get_on_behalf_of(self, event: Any) -> dict[str, str] | None:
        if not (event.on_behalf_of_sub or event.on_behalf_of_name):
            return None
        return {
            "sub": event.on_behalf_of_sub,
            "kind": event.on_behalf_of_kind,
            "name": event.on_behalf_of_name,
        }


class InclusionProofQuerySerializer(serializers.Serializer):
    seq = serializers.IntegerField(min_value=0, help_text="The entry's index in the log.")
    size = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="Tree size to prove against (default: the latest checkpoint's).",
    )


class ConsistencyProofQuerySerializer(serializers.Serializer):
    old = serializers.IntegerField(min_value=0, help_text="The earlier tree size.")
    new = serializers.IntegerField(
        min_value=0, required=False, help_text="The later size (default: latest checkpoint's)."
    )


class CheckpointQuerySerializer(serializers.Serializer):
    size = serializers.IntegerField(
        min_value=0, required=False, help_text="A signed tree size (default: the latest)."
    )


class InclusionProofSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    size = serializers.IntegerField()
    leaf = serializers.CharField(help_text="The entry's canonical leaf JSON, as hashed.")
    leaf_hash = serializers.CharField(help_text="Base64 SHA-256(0x00 || leaf).")
    hashes = serializers.ListField(child=serializers.CharField(), help_text="Base64, in order.")


class ConsistencyProofSerializer(serializers.Serializer):
    old = serializers.IntegerField()
    new = serializers.IntegerField()
    hashes = serializers.ListField(child=serializers.CharField(), help_text="Base64, in order.")


class PublishedKeySerializer(serializers.Serializer):
    vkey = serializers.CharField(help_text="<name>+<hex key id>+<base64(type || key)>")
    role = serializers.ChoiceField(choices=["log", "witness"])
    status = serializers.ChoiceField(choices=["active", "retired", "configured"])
    created_at = serializers.DateTimeField(allow_null=True)
    retired_at = serializers.DateTimeField(allow_null=True)


class LogKeysSerializer(serializers.Serializer):
    origin = serializers.CharField()
    keys = PublishedKeySerializer(many=True)


class GapQuerySerializer(serializers.Serializer):
    agent = serializers.CharField(required=False, help_text="Agent name.")


class AgentSeqGapSerializer(serializers.Serializer):
    agent = serializers.CharField()
    first_missing = serializers.IntegerField()
    last_missing = serializers.IntegerField()
    noticed_at = serializers.DateTimeField()
    seq = serializers.IntegerField(help_text="The gap record's own place in the log.")
    filled = serializers.IntegerField(help_text="How many of the missing seqs arrived later.")
