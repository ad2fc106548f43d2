"""The audit log: one append-only, tamper-evident log of everything.

Every event carries ``seq`` (its index in the log) and ``leaf`` (its canonical bytes,
``ledger.leaf`` format), both assigned by the single sequencer (controlplane/audit/sequencer.py).
The Merkle tree over the leaves is stored as its perfect subtrees (``MerkleNode``), signed
``Checkpoint`` notes commit to its root, and witnesses add ``Cosignature`` rows. Rows of these
four tables are only ever inserted: the models refuse to change or delete them, and database
triggers (migration 0004) refuse it to anyone writing SQL.
"""

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


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> NoReturn:
        _refuse("update")

    def delete(self) -> NoReturn:
        _refuse("delete")


class AppendOnlyModel(models.Model):
    """Inserting is the only allowed write: an invariant guard, not business logic."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            _refuse("update")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("delete")


class AuditEvent(AppendOnlyModel):
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
    # The index in the log (0-based) and the exact canonical leaf (ledger.leaf): stored as
    # signed, so export and proofs never re-serialise.
    seq = models.BigIntegerField(unique=True)
    leaf = models.TextField()

    objects = AppendOnlyQuerySet.as_manager()

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


class MerkleNode(AppendOnlyModel):
    """One perfect subtree of the log's Merkle tree: the hash over leaves
    ``[index << level, (index + 1) << level)`` (RFC 9162; level 0 holds leaf hashes).
    Written with the events that complete it; proofs are folded from these."""

    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["level", "index"], name="merkle_node_once"),
        ]

    def __str__(self) -> str:
        return f"node ({self.level}, {self.index})"


class Checkpoint(AppendOnlyModel):
    """A C2SP tlog-checkpoint of the tree at ``size``, signed by the log key (``note`` is
    the signed note exactly as signed). One per size: a second signer loses on the key."""

    size = models.BigIntegerField(unique=True)
    root_hash = models.BinaryField(max_length=32)
    note = models.TextField()
    key_id = models.CharField(max_length=8, help_text="Hex key ID of the log key that signed.")
    signed_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-size"]

    def __str__(self) -> str:
        return f"checkpoint {self.size}"


class Cosignature(AppendOnlyModel):
    """A witness's C2SP tlog-cosignature/v1 on a checkpoint: ``line`` is the signature
    line it returned, appended to the note when served."""

    checkpoint = models.ForeignKey(
        Checkpoint, on_delete=models.PROTECT, related_name="cosignatures"
    )
    witness = models.CharField(max_length=255, help_text="The witness key name.")
    key_id = models.CharField(max_length=8)
    line = models.TextField()
    cosigned_at = models.DateTimeField(help_text="The timestamp inside the cosignature.")
    received_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["checkpoint", "key_id"], name="cosignature_once"),
        ]

    def __str__(self) -> str:
        return f"{self.witness} on checkpoint {self.checkpoint_id}"


class LogKeyQuerySet(models.QuerySet["LogKey"]):
    def active(self) -> LogKeyQuerySet:
        """The key that signs new checkpoints (at most one)."""
        return self.filter(retired_at__isnull=True)


class LogKey(models.Model):
    """An Ed25519 key that signs (or signed) checkpoints. Retired keys stay so old
    checkpoints keep verifying. Keys from GATEHOUSE_LOG_SIGNING_KEY are recorded without
    their private half; generated keys (embedded defaults) keep it encrypted at rest."""

    class Source(models.TextChoices):
        GENERATED = "generated", "Generated by the control plane"
        ENVIRONMENT = "environment", "GATEHOUSE_LOG_SIGNING_KEY"

    name = models.CharField(max_length=255, help_text="The key name: the log origin.")
    key_id = models.CharField(max_length=8)
    vkey = models.TextField(unique=True, help_text="<name>+<hex key id>+<base64 key>")
    source = models.CharField(max_length=16, choices=Source.choices)
    private_key_ciphertext = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = LogKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.vkey
