"""Grants: time-bounded permission for one identity to reach one resource, at one access
level; and the access requests (with their approvals) that lead to grants.

Administrators create grants directly; everyone else asks through an ``AccessRequest``,
which the resource's policy approves (by enough human approvers, or by an auto-approval
rule). A grant made from a request points back at it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class GrantQuerySet(models.QuerySet["Grant"]):
    def active(self, *, at: datetime | None = None) -> GrantQuerySet:
        """Grants in force at ``at`` (default now): started, not revoked, not yet expired."""
        at = at or timezone.now()
        return self.not_ended(at=at).filter(starts_at__lte=at)

    def not_ended(self, *, at: datetime | None = None) -> GrantQuerySet:
        """Grants in force at ``at`` or starting later: not revoked, not used up (single-use
        grants) and not yet expired."""
        return self.filter(
            revoked_at__isnull=True, used_up_at__isnull=True, expires_at__gt=at or timezone.now()
        )

    def single_use(self) -> GrantQuerySet:
        """Grants that admit one session only (scope session or call)."""
        return self.exclude(scope=Grant.Scope.DURATION)

    def ended_unrecorded(self, *, at: datetime | None = None) -> GrantQuerySet:
        """Grants past their expiry whose end has not been audited yet."""
        return self.filter(ended_recorded_at__isnull=True, expires_at__lte=at or timezone.now())


class Grant(models.Model):
    class Scope(models.TextChoices):
        """How much the grant admits within its window (the values of the snapshot's
        ``GrantScope``; agents enforce them)."""

        DURATION = "duration", "Any number of sessions until it ends"
        SESSION = "session", "One session"
        CALL = "call", "One session running one statement"

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
    starts_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    # An access-level name of the resource; "" = the resource's static login.
    access_level = models.CharField(max_length=63, blank=True)
    request = models.OneToOneField(
        "AccessRequest", on_delete=models.PROTECT, null=True, blank=True, related_name="grant"
    )
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.DURATION)
    # Single-use grants: when the one session it admitted ended (the grant ended with it).
    used_up_at = models.DateTimeField(null=True, blank=True)
    # When the grant's end (expiry, revocation, use) was written to the audit log: once only.
    ended_recorded_at = models.DateTimeField(null=True, blank=True, db_index=True)
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
        at = at or timezone.now()
        not_ended = self.revoked_at is None and self.used_up_at is None
        return not_ended and self.starts_at <= at < self.expires_at


class AccessRequestQuerySet(models.QuerySet["AccessRequest"]):
    def pending(self, *, at: datetime | None = None) -> AccessRequestQuerySet:
        """Requests still awaiting a decision at ``at`` (default now)."""
        return self.filter(status=AccessRequest.Status.PENDING, expires_at__gt=at or timezone.now())

    def stale(self, *, at: datetime | None = None) -> AccessRequestQuerySet:
        """Requests still marked pending although their time to be decided has passed."""
        return self.filter(
            status=AccessRequest.Status.PENDING, expires_at__lte=at or timezone.now()
        )


class AccessRequest(models.Model):
    """Someone asks for access to a resource, for a duration, at an access level."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        WITHDRAWN = "withdrawn", "Withdrawn"
        EXPIRED = "expired", "Expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_requests"
    )
    resource = models.ForeignKey(
        "resources.Resource", on_delete=models.PROTECT, related_name="access_requests"
    )
    access_level = models.CharField(max_length=63, blank=True)
    reason = models.TextField()
    duration_seconds = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Until when the request may be decided; afterwards it expires unanswered.
    expires_at = models.DateTimeField(db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Set when an auto-approval rule approved it (the rule itself is in the audit event:
    # a policy update replaces its rules).
    auto_approved = models.BooleanField(default=False)

    objects = AccessRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.requester} → {self.resource} ({self.status})"

    @property
    def duration(self) -> timedelta:
        return timedelta(seconds=self.duration_seconds)


class Approval(models.Model):
    """One approver's decision on a request: approve or deny, with a comment."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approve"
        DENY = "deny", "Deny"

    request = models.ForeignKey(AccessRequest, on_delete=models.PROTECT, related_name="approvals")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approvals"
    )
    decision = models.CharField(max_length=16, choices=Decision.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "approver"], name="approval_once_per_approver"
            )
        ]

    def __str__(self) -> str:
        return f"{self.approver}: {self.decision} {self.request_id}"
