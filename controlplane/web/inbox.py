"""The approver's inbox: what waits for their decision (access requests, held statements,
held tool calls), each with the rule that applies to it, and the decisions made since.
Reads only, built on the access, guardrails, mcp_server and policies selectors; the
services check the approver rule again when someone decides."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from controlplane.access.models import AccessRequest, Approval
from controlplane.access.selectors import access_requests_awaiting
from controlplane.guardrails.models import StatementHold
from controlplane.guardrails.selectors import statement_holds_awaiting, statement_holds_visible_to
from controlplane.identities.models import User
from controlplane.identities.permissions import is_admin
from controlplane.mcp_server.models import ToolCallHold
from controlplane.mcp_server.selectors import (
    tool_call_holds_awaiting,
    tool_call_holds_visible_to,
    tool_rules_list,
)
from controlplane.policies.models import AutoApprovalRule, Policy
from controlplane.policies.selectors import incident_open
from controlplane.web.templatetags.console import duration_text

# The history shows the latest decisions only; the audit log keeps all of them.
HISTORY_LIMIT = 50
DECIDED_HOLD = (StatementHold.Status.APPROVED, StatementHold.Status.DENIED)


@dataclass(frozen=True)
class RequestItem:
    """A pending access request and the policy it is decided under."""

    request: AccessRequest
    policy: Policy | None
    approvals_so_far: int
    auto_approval: str


@dataclass(frozen=True)
class ToolHoldItem:
    """A held tool call, its exact arguments as text, and what its rule says."""

    hold: ToolCallHold
    arguments_text: str
    rule_description: str


@dataclass(frozen=True)
class Inbox:
    requests: list[RequestItem]
    holds: list[StatementHold]
    tool_holds: list[ToolHoldItem]

    @property
    def count(self) -> int:
        return len(self.requests) + len(self.holds) + len(self.tool_holds)


@dataclass(frozen=True)
class Decision:
    """One decision in the history: on what, by whom, when, and the comment."""

    kind: str  # "request", "statement" or "tool call"
    item_id: object
    identity: str
    on_behalf_of: str
    resource: str
    subject: str  # the reason, the statement or the tool
    decision: str  # "approved" / "denied"
    comment: str
    decided_by: str
    decided_at: datetime


def inbox_for(*, approver: User) -> Inbox:
    """Everything ``approver`` may decide now, oldest first in each group."""
    return Inbox(
        requests=_request_items(approver),
        holds=list(statement_holds_awaiting(approver=approver)),
        tool_holds=_tool_hold_items(approver),
    )


def inbox_waiting_count(*, approver: User) -> int:
    """How many items wait for ``approver`` (three counts, for the navigation's badge)."""
    return (
        access_requests_awaiting(approver=approver).count()
        + statement_holds_awaiting(approver=approver).count()
        + tool_call_holds_awaiting(approver=approver).count()
    )


def inbox_history(*, viewer: User) -> list[Decision]:
    """The latest decisions: the viewer's own, or everyone's for administrators."""
    decisions = [
        *map(_request_decision, _approvals_seen_by(viewer)),
        *map(_hold_decision, _decided(statement_holds_visible_to(user=viewer), viewer)),
        *map(_hold_decision, _decided(tool_call_holds_visible_to(user=viewer), viewer)),
    ]
    decisions.sort(key=lambda d: d.decided_at, reverse=True)
    return decisions[:HISTORY_LIMIT]


def auto_approval_explained(
    *, request: AccessRequest, policy: Policy, group_ids: set[int], incident: bool
) -> str:
    """Which auto-approval rule names the requester and why it did not let the request
    through (or that it would now, an incident having been declared since, say)."""
    named = [
        rule
        for rule in policy.auto_approvals.all()
        if rule.service_account_id == request.requester_id or rule.group_id in group_ids
    ]
    if not named:
        return f"No auto-approval rule names {request.requester.get_username()}."
    notes = []
    for rule in named:
        misses = _rule_misses(rule, request=request, policy=policy, incident=incident)
        if not misses:
            return f"{_rule_text(rule, policy)} would apply now."
        notes.append(f"{_rule_text(rule, policy)} does not apply: {', '.join(misses)}.")
    return " ".join(notes)


# -- requests --------------------------------------------------------------------------------
def _request_items(approver: User) -> list[RequestItem]:
    pending = access_requests_awaiting(approver=approver).prefetch_related(
        "requester__groups",
        "approvals",
        "resource__policy__approver_groups",
        "resource__policy__auto_approvals__group",
        "resource__policy__auto_approvals__service_account",
    )
    incident = incident_open() is not None
    return [_request_item(request, incident=incident) for request in pending]


def _request_item(request: AccessRequest, *, incident: bool) -> RequestItem:
    policy = getattr(request.resource, "policy", None)
    approvals = [a for a in request.approvals.all() if a.decision == Approval.Decision.APPROVE]
    explained = "No policy: only administrators grant access."
    if policy is not None:
        groups = {group.pk for group in request.requester.groups.all()}
        explained = auto_approval_explained(
            request=request, policy=policy, group_ids=groups, incident=incident
        )
    return RequestItem(request, policy, len(approvals), explained)


def _rule_text(rule: AutoApprovalRule, policy: Policy) -> str:
    level = rule.access_level or policy.default_access_level or "default"
    incident = " during an incident" if rule.only_during_incident else ""
    limit = duration_text(rule.max_duration_seconds)
    return f"Auto-approval for {rule.subject} ({level}, up to {limit}{incident})"


def _rule_misses(
    rule: AutoApprovalRule, *, request: AccessRequest, policy: Policy, incident: bool
) -> list[str]:
    misses = []
    if request.duration_seconds > rule.max_duration_seconds:
        misses.append(f"{duration_text(request.duration_seconds)} asked")
    if request.access_level != (rule.access_level or policy.default_access_level):
        misses.append(f"level {request.access_level or 'default'} asked")
    if rule.only_during_incident and not incident:
        misses.append("no incident is open")
    return misses


# -- held tool calls --------------------------------------------------------------------------
def _tool_hold_items(approver: User) -> list[ToolHoldItem]:
    holds = list(tool_call_holds_awaiting(approver=approver))
    names = {hold.rule for hold in holds}
    described = dict(tool_rules_list().filter(name__in=names).values_list("name", "description"))
    return [
        # The exact arguments, as the approver must read them.
        ToolHoldItem(
            hold,
            json.dumps(hold.arguments, indent=2, ensure_ascii=False),
            described.get(hold.rule, ""),
        )
        for hold in holds
    ]


# -- history ----------------------------------------------------------------------------------
def _approvals_seen_by(viewer: User) -> QuerySet[Approval]:
    approvals = Approval.objects.select_related(
        "approver", "request__requester", "request__resource"
    ).order_by("-created_at", "-id")
    if not is_admin(viewer):
        approvals = approvals.filter(approver=viewer)
    return approvals[:HISTORY_LIMIT]


def _decided(holds: QuerySet[Any], viewer: User) -> QuerySet[Any]:
    """Holds someone approved or denied (expired and withdrawn ones had no decider)."""
    decided = holds.filter(status__in=DECIDED_HOLD, decided_at__isnull=False)
    if not is_admin(viewer):
        decided = decided.filter(decided_by=viewer)
    return decided.order_by("-decided_at")[:HISTORY_LIMIT]


def _request_decision(approval: Approval) -> Decision:
    request = approval.request
    return Decision(
        kind="request",
        item_id=request.pk,
        identity=request.requester.get_username(),
        on_behalf_of="",
        resource=request.resource.name,
        subject=request.reason,
        decision="approved" if approval.decision == Approval.Decision.APPROVE else "denied",
        comment=approval.comment,
        decided_by=approval.approver.get_username(),
        decided_at=approval.created_at,
    )


def _hold_decision(hold: StatementHold | ToolCallHold) -> Decision:
    """A held statement's or tool call's decision (both hold models share these fields)."""
    tool_call = isinstance(hold, ToolCallHold)
    acted_for = hold.on_behalf_of if isinstance(hold, ToolCallHold) else None
    return Decision(
        kind="tool call" if tool_call else "statement",
        item_id=hold.pk,
        identity=hold.identity.get_username(),
        on_behalf_of=acted_for.get_username() if acted_for else "",
        resource=hold.resource.name if hold.resource else "",
        subject=hold.tool if isinstance(hold, ToolCallHold) else hold.statement,
        decision=hold.status,
        comment=hold.decision_comment,
        decided_by=hold.decided_by.get_username() if hold.decided_by else "",
        decided_at=hold.decided_at,  # set: only decided holds are listed
    )
