"""Grants: time-bounded permission for one identity to reach one resource.

Grants are created directly by administrators for now. The request/approval workflow
will add an ``AccessRequest`` model whose approval service calls ``grant_create``; a grant
will then point back at its request, and nothing here needs to change shape.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class GrantQuerySet(models.QuerySet["Grant"]):
    def active(self, *, at: datetime | None = None) -> GrantQuerySet:
        """Grants in force at ``at`` (default now): not revoked and not yet expired."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=at or timezone.now())


class Grant(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # PROTECT: grants are evidence of who could reach what; they outlive nothing they name.
    identity = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grants"
    )
    resource = models.ForeignKey(
        "resources.Resource", on_delete=models.PROTECT, related_name="grants"
    )
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="grants_created",
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="grants_revoked",
    )

    objects = GrantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.identity} → {self.resource} until {self.expires_at:%Y-%m-%d %H:%M}"

    def is_active(self, *, at: datetime | None = None) -> bool:
        return self.revoked_at is None and self.expires_at > (at or timezone.now())
