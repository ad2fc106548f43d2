"""The session index: one row per client session an agent reported, kept up to date from the
audit events agents send (``projection.session_records_project``, in the ingesting
transaction) and rebuilt from the log by ``manage.py sessions_reindex``.

It is a projection, never the record: the audit log is. Rows may be rebuilt at any time.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class SessionRecordQuerySet(models.QuerySet["SessionRecord"]):
    def open(self) -> SessionRecordQuerySet:
        """Sessions with no end reported yet, whether or not their agent is connected."""
        return self.filter(ended_at__isnull=True)

    def live(self) -> SessionRecordQuerySet:
        """Sessions running now: no end reported and their agent connected. A session of a
        disconnected agent is shown as "agent offline" instead: the agent may still be
        serving it (a link outage) or may have died with it; its next events tell."""
        return self.filter(ended_at__isnull=True, agent__connected=True)


class SessionRecord(models.Model):
    """One agent session: who, on what, when, and what happened in it (counts)."""

    # The agent's own session id (``AuditEvent.session``; a UUID in hex from today's agents).
    session_id = models.CharField(max_length=100)
    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.PROTECT, related_name="session_records"
    )
    actor_sub = models.CharField(max_length=64, blank=True)
    actor_name = models.CharField(max_length=150, blank=True)
    actor_kind = models.CharField(max_length=32, blank=True)
    # The human an AI agent acted for; "" when none.
    on_behalf_of_sub = models.CharField(max_length=64, blank=True, default="")
    on_behalf_of_name = models.CharField(max_length=150, blank=True, default="")
    resource = models.CharField(max_length=100, blank=True)
    protocol = models.CharField(max_length=32, blank=True)
    client_address = models.CharField(max_length=100, blank=True)
    # The grant id the agent admitted the session under ("" when none, e.g. refused).
    grant_id = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)  # None while open
    end_reason = models.CharField(max_length=500, blank=True)
    # statement, http.request and llm.call events
    statements = models.PositiveIntegerField(default=0)
    # guardrail.denied, connection.refused, and HTTP requests refused by an addon
    denials = models.PositiveIntegerField(default=0)
    held = models.PositiveIntegerField(default=0)  # guardrail.held
    masked_values = models.PositiveBigIntegerField(default=0)
    # The highest agent seq projected into this row (the replay page reads up to it).
    last_seq = models.PositiveBigIntegerField(default=0)

    objects = SessionRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "session_id"], name="session_record_once_per_agent"
            )
        ]
        indexes = [
            models.Index(fields=["session_id"], name="session_record_session"),
            models.Index(fields=["-started_at"], name="session_record_started"),
            models.Index(fields=["actor_sub", "-started_at"], name="session_record_actor"),
            models.Index(
                fields=["on_behalf_of_sub", "-started_at"], name="session_record_principal"
            ),
            models.Index(fields=["resource", "-started_at"], name="session_record_resource"),
            models.Index(fields=["grant_id"], name="session_record_grant"),
            models.Index(
                fields=["started_at"],
                condition=Q(ended_at__isnull=True),
                name="session_record_open",
            ),
        ]

    def __str__(self) -> str:
        return f"session {self.session_id} of {self.actor_name or '-'} on {self.resource or '-'}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    @property
    def had_denial(self) -> bool:
        return self.denials > 0

    @property
    def had_masking(self) -> bool:
        return self.masked_values > 0

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to end; None while open."""
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()
