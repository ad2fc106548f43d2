"""Tool rules (which MCP tools each identity may call, where, and which calls wait for a
person) and tool-call holds (calls kept waiting until an approver decides them).

A rule names who it applies to like a masking policy (people, service accounts or both,
optionally only members of some groups), a tool (or ``*``) and a resource (or every
resource). For each call the highest-priority enabled rule that matches decides; a call no
rule matches is allowed (access to the resource itself is still checked by grants).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from controlplane.policies.models import HoldQuerySet, HoldStatus
from controlplane.scoped_rules.models import scoped_rule_model

# Any tool (a rule's ``tool``).
EVERY_TOOL = "*"
# The tools the MCP server offers (``tools.py``): a rule naming another would never match.
TOOL_NAMES = ("list_resources", "query_database", "call_http", "request_access")


class ToolRule(scoped_rule_model(related_name="mcp_tool_rules")):
    """Who and where (``scoped_rules``; a rule for every resource also decides calls that
    name none, like list_resources), a tool (or ``*``) and an effect."""

    class Effect(models.TextChoices):
        ALLOW = "allow", "Allow"
        DENY = "deny", "Deny"
        HOLD = "hold", "Hold for approval"

    # A tool's name, or "*" for every tool.
    tool = models.CharField(max_length=63, default=EVERY_TOOL)
    effect = models.CharField(max_length=8, choices=Effect.choices, default=Effect.ALLOW)
    # How long a held call waits for a decision.
    hold_timeout_s = models.PositiveIntegerField(default=300)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(hold_timeout_s__gte=1), name="mcp_tool_rule_hold_timeout_positive"
            ),
        ]


class ToolCallHold(models.Model):
    """One tool call a rule holds for approval. Not the audit log: it keeps the exact
    arguments (approvers must see what they approve), so only approvers and administrators
    read it; the audit log gets digests and the decision."""

    Status = HoldStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tool = models.CharField(max_length=63)
    arguments = models.JSONField(default=dict)
    identity = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tool_call_holds"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tool_call_holds_for",
    )
    # None: a tool that names no resource.
    resource = models.ForeignKey(
        "resources.Resource",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tool_call_holds",
    )
    # The rule's name as it was (a rule may change or go while the call waits).
    rule = models.CharField(max_length=63)
    correlation_id = models.CharField(max_length=128, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tool_call_holds_decided",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # What the approver wrote with the decision (policies.hold_decisions caps it).
    decision_comment = models.TextField(blank=True)

    objects = HoldQuerySet.as_manager()

    class Meta:
        ordering = ["requested_at", "id"]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"tool-call hold {self.pk} ({self.status})"
