"""Data-plane agents and the config revision their snapshots carry."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class Agent(models.Model):
    """A data-plane process. It authenticates its websocket with a token that is stored
    only as a prefix and a hash, like API keys (see controlplane.bearer)."""

    TOKEN_SCHEME = "gha"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.SlugField(max_length=100, unique=True)
    token_prefix = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64)
    # Set when an administrator revokes the token; rotating issues a new one and clears it.
    token_revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # What the agent last told us about itself (hello and heartbeat frames).
    last_seen_at = models.DateTimeField(null=True, blank=True)
    version = models.CharField(max_length=64, blank=True)
    config_revision_acked = models.PositiveBigIntegerField(default=0)
    spool_backlog = models.PositiveBigIntegerField(default=0)
    connected = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ConfigRevision(models.Model):
    """One row: a counter bumped, in the same transaction, by every change to anything an
    agent snapshot holds. Snapshots carry it as ``revision``; agent websockets poll it."""

    SINGLETON = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON, editable=False)
    value = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"config revision {self.value}"
