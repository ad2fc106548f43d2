"""The audit log. Rows are only ever inserted: the model and its QuerySet refuse to change
or delete them. (Database triggers and a Merkle tree over the rows come with the
tamper-evidence work; this layer stops the ORM from doing it by accident.)"""

from __future__ import annotations

from typing import Any, NoReturn

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone


class AppendOnlyViolation(Exception):
    """An attempt to change or delete an audit event."""


def _refuse(operation: str) -> NoReturn:
    raise AppendOnlyViolation(f"audit events are append-only: {operation} refused")


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        _refuse("update")

    def delete(self) -> NoReturn:
        _refuse("delete")


class AuditEvent(models.Model):
    class Source(models.TextChoices):
        AGENT = "agent", "Agent"
        CONTROLPLANE = "controlplane", "Control plane"

    source = models.CharField(max_length=16, choices=Source.choices)
    # PROTECT: an agent's events outlive any wish to delete the agent.
    agent = models.ForeignKey(
        "agents.Agent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    agent_seq = models.PositiveBigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField(db_index=True)
    received_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=100, db_index=True)
    actor_sub = models.CharField(max_length=64, blank=True, db_index=True)
    actor_kind = models.CharField(max_length=32)
    actor_name = models.CharField(max_length=150, blank=True, db_index=True)
    # The human an AI agent acted for (a gateway token's ``act`` claim); "" when none.
    on_behalf_of_sub = models.CharField(max_length=64, blank=True, default="", db_index=True)
    on_behalf_of_kind = models.CharField(max_length=32, blank=True, default="")
    on_behalf_of_name = models.CharField(max_length=150, blank=True, default="", db_index=True)
    resource = models.CharField(max_length=100, blank=True, db_index=True)
    protocol = models.CharField(max_length=32, blank=True)
    session = models.CharField(max_length=100, blank=True, db_index=True)
    payload = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            # What makes ingestion idempotent: an agent's seq is stored at most once.
            models.UniqueConstraint(
                fields=["agent", "agent_seq"], name="audit_event_agent_seq_once"
            ),
            models.CheckConstraint(
                condition=(
                    Q(source="agent", agent__isnull=False, agent_seq__isnull=False)
                    | Q(source="controlplane", agent_seq__isnull=True)
                ),
                name="audit_event_source_matches_agent_seq",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%dT%H:%M:%S}Z {self.action} by {self.actor_name or '-'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # An invariant guard, not business logic: inserting is the only allowed write.
        if not self._state.adding:
            _refuse("update")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("delete")
