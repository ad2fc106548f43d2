"""API shapes of the session index."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from controlplane.sessions.models import SessionRecord


class SessionRecordSerializer(serializers.ModelSerializer[SessionRecord]):
    agent = serializers.CharField(source="agent.name", read_only=True)
    actor = serializers.SerializerMethodField()
    on_behalf_of = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()

    class Meta:
        model = SessionRecord
        fields = [
            "session_id", "agent", "actor", "on_behalf_of", "resource", "protocol",
            "client_address", "grant_id", "started_at", "ended_at", "end_reason", "state",
            "statements", "denials", "held", "masked_values", "last_seq",
        ]  # fmt: skip
        read_only_fields = fields

    def get_actor(self, record: SessionRecord) -> dict[str, str]:
        return {"sub": record.actor_sub, "kind": record.actor_kind, "name": record.actor_name}

    def get_on_behalf_of(self, record: SessionRecord) -> dict[str, str] | None:
        if not (record.on_behalf_of_sub or record.on_behalf_of_name):
            return None
        return {"sub": record.on_behalf_of_sub, "name": record.on_behalf_of_name}

    def get_state(self, record: SessionRecord) -> str:
        """``live``, ``agent_offline`` (open, its agent disconnected) or ``ended``."""
        if not record.is_open:
            return "ended"
        return "live" if record.agent.connected else "agent_offline"


class SessionTerminateInputSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
