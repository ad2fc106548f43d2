"""Writes for statement holds: an agent's hold arrives, a person decides it, housekeeping
expires it, the agent withdraws it.

Every decision is a conditional UPDATE from ``pending`` that must change exactly one row, so
a hold is decided once however many approvers click at the same moment; the decision's
audit event is written in the same transaction, and the ``hold_decision`` frame goes to the
agent holding the statement after commit (Channels group ``agent.<id>``). An agent that
missed it (it was not connected) sends the hold again on reconnecting and gets the decision
in reply.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from controlplane.access.models import Grant
from controlplane.agents.inbound import HoldRequest, HoldWithdrawn
from controlplane.agents.models import Agent
from controlplane.agents.revision import agent_group
from controlplane.audit.services import audit_event_record
from controlplane.guardrails.actions import GuardrailAction
from controlplane.guardrails.models import StatementHold
from controlplane.guardrails.notifications import statement_hold_message
from controlplane.guardrails.selectors import DECISIONS, NOBODY, hold_decision_body
from controlplane.identities.models import User
from controlplane.jobs.notifications import webhook_enqueue
from controlplane.policies.hold_decisions import HeldKind, hold_decide
from controlplane.resources.models import Resource
from controlplane.scoped_rules.services import MAX_HOLD_TIMEOUT_S

logger = logging.getLogger(__name__)

HOLD_DECIDED = "hold.decided"  # the channel-layer message type (AgentConsumer.hold_decided)
# How many stale holds one housekeeping run expires; the next run takes the rest.
HOUSEKEEPING_BATCH = 500
HELD = HeldKind(noun="statement")


def statement_hold_receive(*, agent: Agent, request: HoldRequest) -> dict[str, Any] | None:
    """Store the hold ``agent`` sent (once: a re-sent hold is the same row) and notify the
    approvers. Returns the ``hold_decision`` body to send back at once when there already
    is an answer: the hold was decided while the agent was away, or it cannot be accepted
    (a resource this agent does not serve, an unknown identity: denied, fail closed)."""
    existing = StatementHold.objects.filter(pk=request.id).first()
    if existing is not None:
        if existing.agent_id != agent.pk:
            return _refusal(request.id)
        return hold_decision_body(existing)
    resource = Resource.objects.filter(name=request.resource, agent=agent).first()
    identity = _identity(request.identity)
    if resource is None or identity is None:
        logger.warning("agent %s: hold %s names an unknown resource or identity", agent, request.id)
        return _refusal(request.id)
    try:
        with transaction.atomic():
            hold = _hold_create(agent=agent, request=request, resource=resource, identity=identity)
            _notify(hold=hold, event="held", actor=None)
    except IntegrityError:  # the same hold, sent twice at once: the first one stands
        return hold_decision_body(StatementHold.objects.get(pk=request.id))
    return None


def statement_hold_withdraw(*, agent: Agent, withdrawn: HoldWithdrawn) -> bool:
    """The agent stopped waiting (the client cancelled or left, or its own timer ran out):
    a pending hold is marked withdrawn and can no longer be decided. The agent records
    ``guardrail.hold_resolved`` itself. Returns whether a pending hold was withdrawn."""
    changed = (
        StatementHold.objects.pending()
        .filter(pk=withdrawn.id, agent=agent)
        .update(
            status=StatementHold.Status.WITHDRAWN,
            decided_at=timezone.now(),
            withdrawn_reason=withdrawn.reason[:200],
        )
    )
    return changed == 1


def statement_hold_approve(*, actor: User, hold: StatementHold, comment: str = "") -> StatementHold:
    """Approve the held statement: the agent runs it. Fails closed: the actor must hold the
    approver role of the resource's access policy (or be an administrator), must not be the
    identity whose statement it is, and the hold must still be pending and not expired.
    ``comment`` (at most 1000 characters) is stored and goes into the audit event."""
    return _decide(actor=actor, hold=hold, status=StatementHold.Status.APPROVED, comment=comment)


def statement_hold_deny(*, actor: User, hold: StatementHold, comment: str = "") -> StatementHold:
    """Deny the held statement: the client gets an error. The same checks as approving."""
    return _decide(actor=actor, hold=hold, status=StatementHold.Status.DENIED, comment=comment)


def statement_holds_expire(*, at: datetime | None = None) -> int:
    """Mark pending holds past their deadline expired, each once, with its audit event, and
    tell their agents. Safe to run concurrently and repeatedly; returns how many it expired."""
    at = at or timezone.now()
    stale = list(StatementHold.objects.stale(at=at).values_list("pk", flat=True))
    return sum(_expire(hold_id=pk, at=at) for pk in stale[:HOUSEKEEPING_BATCH])


def _hold_create(
    *, agent: Agent, request: HoldRequest, resource: Resource, identity: User
) -> StatementHold:
    now = timezone.now()
    # The agent's deadline, but never one so far off that a hold outlives any sane wait.
    expires_at = min(request.expires_at, now + timedelta(seconds=MAX_HOLD_TIMEOUT_S))
    return StatementHold.objects.create(
        id=request.id,
        agent=agent,
        session=request.session,
        grant=_grant(request.grant, identity=identity, resource=resource),
        identity=identity,
        resource=resource,
        statement=request.statement,
        rule=request.rule,
        reason=request.reason,
        requested_at=request.requested_at,
        expires_at=expires_at,
        received_at=now,
    )


def _decide(*, actor: User, hold: StatementHold, status: str, comment: str) -> StatementHold:
    with transaction.atomic():
        decided = hold_decide(kind=HELD, hold=hold, actor=actor, status=status, comment=comment)
        action = (
            GuardrailAction.HOLD_APPROVED
            if status == StatementHold.Status.APPROVED
            else GuardrailAction.HOLD_DENIED
        )
        _record(hold=decided, actor=actor, action=action)
        _notify(hold=decided, event=DECISIONS[StatementHold.Status(status)], actor=actor)
        _push_decision(decided)
    return decided


def _expire(*, hold_id: object, at: datetime) -> int:
    with transaction.atomic():
        changed = (
            StatementHold.objects.stale(at=at)
            .filter(pk=hold_id)
            .update(status=StatementHold.Status.EXPIRED, decided_at=at)
        )
        if changed != 1:
            return 0
        hold = StatementHold.objects.select_related("identity", "resource", "agent").get(pk=hold_id)
        _record(hold=hold, actor=None, action=GuardrailAction.HOLD_EXPIRED)
        _notify(hold=hold, event="expired", actor=None)
        _push_decision(hold)
    return 1


def _record(*, hold: StatementHold, actor: User | None, action: str) -> None:
    """The decision's audit event. The statement goes in as a digest: the audit log keeps
    masked texts only (the agent's ``guardrail.held`` event has the masked text), and the
    digest ties this decision to the exact text the approver saw."""
    audit_event_record(
        actor=actor,
        action=action,
        resource=hold.resource.name,
        payload={
            "hold": str(hold.pk),
            "agent": hold.agent.name,
            "session": hold.session,
            "grant": str(hold.grant_id or ""),
            "identity": str(hold.identity_id),
            "identity_name": hold.identity.get_username(),
            "rule": hold.rule,
            "statement_sha256": hashlib.sha256(hold.statement.encode()).hexdigest(),
            "requested_at": hold.requested_at.isoformat(),
            "decided_at": hold.decided_at.isoformat() if hold.decided_at else None,
            "status": hold.status,
            "comment": hold.decision_comment,
        },
    )


def _notify(*, hold: StatementHold, event: str, actor: User | None) -> None:
    """Send the webhook once the transaction commits (never if it rolls back)."""
    message = statement_hold_message(hold=hold, event=event, actor=actor)
    transaction.on_commit(partial(webhook_enqueue, message), robust=True)


def _push_decision(hold: StatementHold) -> None:
    """After commit, hand the decision to the agent's websocket(s)."""
    body = hold_decision_body(hold)
    if body is not None:
        transaction.on_commit(partial(_send, agent_group(hold.agent_id), body), robust=True)


def _send(group: str, body: dict[str, Any]) -> None:
    channel_layer = get_channel_layer()
    if channel_layer is None:
        return
    async_to_sync(channel_layer.group_send)(group, {"type": HOLD_DECIDED, "decision": body})


def _refusal(hold_id: object) -> dict[str, Any]:
    return {
        "id": str(hold_id),
        "decision": "denied",
        "by": NOBODY,
        "at": timezone.now().isoformat(),
    }


def _identity(sub: str) -> User | None:
    try:
        return User.objects.filter(pk=sub, is_active=True).first()
    except (ValueError, ValidationError):  # not a UUID: nobody
        return None


def _grant(grant_id: str, *, identity: User, resource: Resource) -> Grant | None:
    if not grant_id:
        return None
    try:
        return Grant.objects.filter(pk=grant_id, identity=identity, resource=resource).first()
    except (ValueError, ValidationError):
        return None
