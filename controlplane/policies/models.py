"""Access policies: one per resource.

A resource without a policy can be reached only through grants an administrator creates;
requests for it are refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Policy(models.Model):
    resource = models.OneToOneField(
        "resources.Resource", on_delete=models.CASCADE, related_name="policy"
    )
    requester_groups = models.ManyToManyField(
        Group, blank=True, related_name="policies_requestable"
    )
    requester_service_accounts = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="policies_requestable"
    )
    # Administrators may always approve; these groups may too.
    approver_groups = models.ManyToManyField(Group, blank=True, related_name="policies_approvable")
    min_approvals = models.PositiveSmallIntegerField(default=1)
    max_duration_seconds = models.PositiveIntegerField()
    # Names of the resource's access levels a request may ask for; empty: the static login.
    access_levels = models.JSONField(default=list, blank=True)
    default_access_level = models.CharField(max_length=63, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "policies"
        constraints = [
            models.CheckConstraint(condition=Q(min_approvals__gte=1), name="policy_min_approvals"),
            models.CheckConstraint(
                condition=Q(max_duration_seconds__gte=1), name="policy_max_duration_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"policy for {self.resource}"


class AutoApprovalRule(models.Model):
    """Requests matching this rule are granted at once, without a human approver."""

    class Scope(models.TextChoices):
        # The values of ``Grant.Scope``: the grant made by the rule gets the rule's scope.
        DURATION = "duration", "For the requested duration"
        SESSION = "session", "For one session"
        # One session running one statement (the exec API will reuse these grants).
        CALL = "call", "For one call"

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="auto_approvals")
    # Exactly one of group and service_account (a check constraint holds it).
    group = models.ForeignKey(Group, on_delete=models.CASCADE, null=True, blank=True)
    service_account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True
    )
    max_duration_seconds = models.PositiveIntegerField()
    # "" means the policy's default level.
    access_level = models.CharField(max_length=63, blank=True)
    only_during_incident = models.BooleanField(default=False)
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.DURATION)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(group__isnull=False, service_account__isnull=True)
                    | Q(group__isnull=True, service_account__isnull=False)
                ),
                name="auto_approval_rule_names_one_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"auto-approve {self.subject} up to {self.max_duration_seconds}s"

    @property
    def subject(self) -> str:
        if self.group_id is not None:
            return f"group:{self.group.name}"
        return f"service-account:{self.service_account.get_username()}"


class Incident(models.Model):
    """A declared incident, open until resolved. Rules flagged ``only_during_incident``
    apply only while an incident is open (incident_declare keeps it to one at a time)."""

    reason = models.TextField()
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents_declared",
    )
    declared_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents_resolved",
    )

    class Meta:
        ordering = ["-declared_at"]

    def __str__(self) -> str:
        return f"incident {self.pk}: {self.reason[:40]}"


# Held work (guardrails' StatementHold, mcp_server's ToolCallHold) waits for the access
# approvers of its resource (``hold_decisions``); both kinds share these.
class HoldStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"
    EXPIRED = "expired", "Expired"
    # The waiting side stopped waiting (the client or caller left, or cancelled).
    WITHDRAWN = "withdrawn", "Withdrawn"


class HoldQuerySet(models.QuerySet[Any]):
    def pending(self, *, at: datetime | None = None) -> HoldQuerySet:
        """Holds still waiting for a decision (and, given ``at``, not past their deadline)."""
        waiting = self.filter(status=HoldStatus.PENDING)
        return waiting if at is None else waiting.filter(expires_at__gt=at)

    def stale(self, *, at: datetime) -> HoldQuerySet:
        """Pending holds past their deadline: housekeeping marks them expired."""
        return self.filter(status=HoldStatus.PENDING, expires_at__lte=at)
