"""Writes for tool-call holds: a rule holds a call, a person decides it, the deadline passes,
or the caller stops waiting.

As for held statements (``guardrails.holds``): every decision is a conditional UPDATE from
``pending`` that must change exactly one row, so a hold is decided once however many
approvers click at the same moment, and the decision's audit event is written in the same
transaction. The waiting tool call polls its row (``calls.tool_call_hold_wait``); no push
is needed, since the call waits in a control-plane process, not an agent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from controlplane.audit.services import audit_event_record
from controlplane.identities.models import User
from controlplane.jobs.notifications import webhook_enqueue
from controlplane.mcp_server.actions import McpAction
from controlplane.mcp_server.arguments import arguments_digest, arguments_for_audit
from controlplane.mcp_server.models import ToolCallHold, ToolRule
from controlplane.mcp_server.notifications import tool_call_hold_message
from controlplane.policies.hold_decisions import HeldKind, hold_decide
from controlplane.resources.models import Resource

logger = logging.getLogger(__name__)

# How many stale holds one housekeeping run expires; the next run takes the rest.
HOUSEKEEPING_BATCH = 500
# Never one's own call, nor a call an agent made on one's behalf.
HELD = HeldKind(
    noun="tool call",
    nowhere="calls naming no resource",
    own_fields=("identity_id", "on_behalf_of_id"),
)


def tool_call_hold_create(
    *,
    identity: User,
    on_behalf_of: User | None,
    tool: str,
    arguments: Mapping[str, Any],
    resource: Resource | None,
    rule: ToolRule,
    correlation_id: str,
) -> ToolCallHold:
    """Hold ``identity``'s call of ``tool`` under ``rule`` until an approver decides or the
    rule's hold timeout passes; records ``mcp.tool_call_held`` and notifies the approvers."""
    now = timezone.now()
    with transaction.atomic():
        hold = ToolCallHold.objects.create(
            tool=tool,
            arguments=dict(arguments),
            identity=identity,
            on_behalf_of=on_behalf_of,
            resource=resource,
            rule=rule.name,
            correlation_id=correlation_id,
            requested_at=now,
            expires_at=now + timedelta(seconds=rule.hold_timeout_s),
        )
        _record(hold=hold, actor=identity, action=McpAction.TOOL_CALL_HELD)
        _notify(hold=hold, event="held", actor=None)
    return hold


def tool_call_hold_approve(*, actor: User, hold: ToolCallHold, comment: str = "") -> ToolCallHold:
    """Approve the held call: it runs as it was asked. Fails closed: the actor must hold the
    approver role of the resource's access policy (or be an administrator; the only deciders
    for a call naming no resource or a resource without a policy), must be neither the
    identity that called nor the person it called for, and the hold must still be pending
    and not expired. ``comment`` (at most 1000 characters) is stored and goes into the audit
    event."""
    return _decide(actor=actor, hold=hold, status=ToolCallHold.Status.APPROVED, comment=comment)


def tool_call_hold_deny(*, actor: User, hold: ToolCallHold, comment: str = "") -> ToolCallHold:
    """Deny the held call: the caller gets an error result. The same checks as approving."""
    return _decide(actor=actor, hold=hold, status=ToolCallHold.Status.DENIED, comment=comment)


def tool_call_hold_expire(*, hold_id: object, at: datetime | None = None) -> bool:
    """Mark one pending hold past its deadline expired, once, with its audit event.
    Returns whether this call expired it."""
    at = at or timezone.now()
    with transaction.atomic():
        changed = (
            ToolCallHold.objects.stale(at=at)
            .filter(pk=hold_id)
            .update(status=ToolCallHold.Status.EXPIRED, decided_at=at)
        )
        if changed != 1:
            return False
        hold = ToolCallHold.objects.select_related("identity", "resource").get(pk=hold_id)
        _record(hold=hold, actor=None, action=McpAction.HOLD_EXPIRED)
        _notify(hold=hold, event="expired", actor=None)
    return True


def tool_call_holds_expire(*, at: datetime | None = None) -> int:
    """Expire pending holds past their deadline (housekeeping: a waiting call expires its
    own hold, this catches calls whose process went away). Safe to run concurrently and
    repeatedly; returns how many it expired."""
    at = at or timezone.now()
    stale = list(ToolCallHold.objects.stale(at=at).values_list("pk", flat=True))
    return sum(tool_call_hold_expire(hold_id=pk, at=at) for pk in stale[:HOUSEKEEPING_BATCH])


def tool_call_hold_withdraw(*, hold_id: object) -> bool:
    """The caller stopped waiting (it disconnected or cancelled): a pending hold is marked
    withdrawn and can no longer be decided. The call's own ``mcp.tool_call`` event records
    the outcome. Returns whether a pending hold was withdrawn."""
    changed = (
        ToolCallHold.objects.pending()
        .filter(pk=hold_id)
        .update(status=ToolCallHold.Status.WITHDRAWN, decided_at=timezone.now())
    )
    return changed == 1


def _decide(*, actor: User, hold: ToolCallHold, status: str, comment: str) -> ToolCallHold:
    with transaction.atomic():
        decided = hold_decide(kind=HELD, hold=hold, actor=actor, status=status, comment=comment)
        approved = status == ToolCallHold.Status.APPROVED
        action = McpAction.HOLD_APPROVED if approved else McpAction.HOLD_DENIED
        _record(hold=decided, actor=actor, action=action)
        _notify(hold=decided, event="approved" if approved else "denied", actor=actor)
    return decided


def _record(*, hold: ToolCallHold, actor: User | None, action: str) -> None:
    """The hold's audit event: the arguments as the log keeps them, and the digest of the
    exact ones the approver saw."""
    audit_event_record(
        actor=actor,
        action=action,
        resource=hold.resource.name if hold.resource is not None else "",
        on_behalf_of=hold.on_behalf_of if action == McpAction.TOOL_CALL_HELD else None,
        payload={
            "hold": str(hold.pk),
            "tool": hold.tool,
            "arguments": arguments_for_audit(hold.arguments),
            "arguments_sha256": arguments_digest(hold.arguments),
            "identity": str(hold.identity_id),
            "identity_name": hold.identity.get_username(),
            "on_behalf_of": str(hold.on_behalf_of_id or ""),
            "rule": hold.rule,
            "correlation_id": hold.correlation_id,
            "requested_at": hold.requested_at.isoformat(),
            "expires_at": hold.expires_at.isoformat(),
            "decided_at": hold.decided_at.isoformat() if hold.decided_at else None,
            "status": hold.status,
            "comment": hold.decision_comment,
        },
    )


def _notify(*, hold: ToolCallHold, event: str, actor: User | None) -> None:
    """Send the webhook once the transaction commits (never if it rolls back)."""
    message = tool_call_hold_message(hold=hold, event=event, actor=actor)
    transaction.on_commit(partial(webhook_enqueue, message), robust=True)
