"""Guardrail policies (which statements each identity may run where) and statement holds
(statements an agent keeps waiting until a person approves that exact text).

A policy names who it applies to and where, like a masking policy, and carries a guardrail
policy document (``dataplane/guardrails/document.py``). For each grant the highest-priority
enabled policy that matches decides its sessions' guardrails (see ``selectors``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from controlplane.policies.models import HoldQuerySet, HoldStatus
from controlplane.scoped_rules.models import scoped_rule_model


class GuardrailPolicy(scoped_rule_model(related_name="guardrail_policies")):
    """Who and where (``scoped_rules``) and a guardrail policy document. Agents see the
    name (GrantSpec.guardrails, GuardrailProfile.name)."""

    # A guardrail policy document, checked by the services with policy_from_document.
    policy = models.JSONField()
    hold_timeout_s = models.PositiveIntegerField(default=300)

    class Meta:
        verbose_name_plural = "guardrail policies"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(hold_timeout_s__gte=1), name="guardrail_policy_hold_timeout_positive"
            ),
        ]


class StatementHold(models.Model):
    """One statement an agent holds for approval. Not the audit log: it keeps the exact
    text (approvers must see what they approve), so only approvers and administrators
    read it; the audit log gets the decision."""

    Status = HoldStatus

    # The agent's hold id: the agent sends a pending hold again after a reconnect.
    id = models.UUIDField(primary_key=True)
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="holds")
    session = models.CharField(max_length=100)
    grant = models.ForeignKey(
        "access.Grant", on_delete=models.SET_NULL, null=True, blank=True, related_name="holds"
    )
    identity = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="statement_holds"
    )
    resource = models.ForeignKey(
        "resources.Resource", on_delete=models.CASCADE, related_name="statement_holds"
    )
    statement = models.TextField()
    rule = models.CharField(max_length=200)
    reason = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    received_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="statement_holds_decided",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # Why the agent stopped waiting (withdrawn holds).
    withdrawn_reason = models.CharField(max_length=200, blank=True)
    # What the approver wrote with the decision (policies.hold_decisions caps it).
    decision_comment = models.TextField(blank=True)

    objects = HoldQuerySet.as_manager()

    class Meta:
        ordering = ["requested_at", "id"]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"hold {self.pk} ({self.status})"
