"""Writing the audit log: control-plane events inside each service's transaction, and
agents' event batches exactly once per (agent, seq)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from controlplane.audit.models import AuditEvent
from controlplane.transactions import require_transaction
from dataplane.contract import AuditEvent as WireAuditEvent
from dataplane.contract import ContractError

if TYPE_CHECKING:
    from controlplane.agents.models import Agent
    from controlplane.identities.models import User


def audit_event_record(
    *,
    actor: User | Agent | None,
    action: str,
    resource: str = "",
    payload: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one control-plane event. Runs inside the calling service's transaction, so
    the change and its record commit or roll back together. Payloads never hold secrets.

    ``actor`` is the user or service account who asked, the agent itself, or None for the
    control plane acting on an operator's shell command (management commands).
    """
    require_transaction("audit_event_record")
    now = timezone.now()
    sub, kind, name = _actor_fields(actor)
    return AuditEvent.objects.create(
        source=AuditEvent.Source.CONTROLPLANE,
        occurred_at=now,
        received_at=now,
        action=str(action),
        actor_sub=sub,
        actor_kind=kind,
        actor_name=name,
        resource=resource,
        payload=dict(payload or {}),
    )


def audit_events_ingest(*, agent: Agent, events: Sequence[WireAuditEvent]) -> int:
    """Store a batch an agent sent; events already stored (same agent and seq) are left
    as they are, so a re-sent batch is harmless. Returns the highest seq in the batch."""
    if not events:
        raise ContractError("an events batch must hold at least one event")
    received_at = timezone.now()
    rows = [_row_from_wire(agent, event, received_at) for event in events]
    with transaction.atomic():
        AuditEvent.objects.bulk_create(rows, ignore_conflicts=True)
    return max(event.seq for event in events)


def _row_from_wire(agent: Agent, event: WireAuditEvent, received_at: datetime) -> AuditEvent:
    return AuditEvent(
        source=AuditEvent.Source.AGENT,
        agent=agent,
        agent_seq=event.seq,
        occurred_at=_occurred_at(event),
        received_at=received_at,
        action=event.action,
        actor_sub=event.actor.sub,
        actor_kind=event.actor.kind,
        actor_name=event.actor.name,
        resource=event.resource,
        protocol=event.protocol,
        session=event.session,
        payload=event.payload,
    )


def _occurred_at(event: WireAuditEvent) -> datetime:
    try:
        moment = datetime.fromisoformat(event.time)
    except ValueError:
        raise ContractError(f"event {event.seq}: time {event.time!r} is not RFC 3339") from None
    if moment.tzinfo is None:
        raise ContractError(f"event {event.seq}: time {event.time!r} carries no timezone")
    return moment


def _actor_fields(actor: User | Agent | None) -> tuple[str, str, str]:
    from controlplane.agents.models import Agent

    if actor is None:
        return "", "system", "system"
    if isinstance(actor, Agent):
        return str(actor.id), "agent", actor.name
    return str(actor.pk), actor.kind, actor.get_username()
