"""Writing the audit log: control-plane events inside each service's transaction, and
agents' event batches exactly once per (agent, seq)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from controlplane.audit.models import AuditEvent
from controlplane.transactions import require_transaction
from dataplane.contract import AuditEvent as WireAuditEvent
from dataplane.contract import ContractError

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from controlplane.agents.models import Agent
    from controlplane.identities.models import User


def audit_event_record(
    *,
    actor: User | AnonymousUser | Agent | None,
    action: str,
    resource: str = "",
    payload: Mapping[str, Any] | None = None,
    on_behalf_of: User | None = None,
) -> AuditEvent:
    """Append one control-plane event. Runs inside the calling service's transaction, so
    the change and its record commit or roll back together. Payloads never hold secrets.

    ``actor`` is the user or service account who asked, the agent itself, or None for the
    control plane acting on an operator's shell command (management commands), or Django's
    ``AnonymousUser`` for a caller who proved no identity (a refused token exchange).
    ``on_behalf_of`` is the human the actor acts for, when known.
    """
    require_transaction("audit_event_record")
    now = timezone.now()
    sub, kind, name = _actor_fields(actor)
    principal_sub, principal_kind, principal_name = (
        _actor_fields(on_behalf_of) if on_behalf_of is not None else ("", "", "")
    )
    return AuditEvent.objects.create(
        source=AuditEvent.Source.CONTROLPLANE,
        occurred_at=now,
        received_at=now,
        action=str(action),
        actor_sub=sub,
        actor_kind=kind,
        actor_name=name,
        on_behalf_of_sub=principal_sub,
        on_behalf_of_kind=principal_kind,
        on_behalf_of_name=principal_name,
        resource=resource,
        payload=dict(payload or {}),
    )


def audit_events_ingest(*, agent: Agent, events: Sequence[WireAuditEvent]) -> int:
    """Store a batch an agent sent; events already stored (same agent and seq) are left
    as they are, so a re-sent batch is harmless. Returns the highest seq in the batch.

    This is the control plane's busiest write (one row per statement on every agent), so it
    is one prepared INSERT run for the whole batch rather than ORM objects compiled per row.
    """
    if not events:
        raise ContractError("an events batch must hold at least one event")
    received_at = _prepared_datetime(timezone.now())
    agent_id = AuditEvent._meta.get_field("agent").get_db_prep_save(agent.pk, connection)
    rows = [_row_from_wire(agent_id, event, received_at) for event in events]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(_ingest_sql(), rows)
    return max(event.seq for event in events)


_INGEST_COLUMNS = (
    "source", "agent_id", "agent_seq", "occurred_at", "received_at", "action", "actor_sub",
    "actor_kind", "actor_name", "on_behalf_of_sub", "on_behalf_of_kind", "on_behalf_of_name",
    "resource", "protocol", "session", "payload",
)  # fmt: skip


def _ingest_sql() -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in _INGEST_COLUMNS)
    values = ", ".join(["%s"] * len(_INGEST_COLUMNS))
    # Both SQLite (3.24+) and PostgreSQL skip a row that hits the (agent, agent_seq) key.
    return (
        f"INSERT INTO {quote(AuditEvent._meta.db_table)} ({columns}) VALUES ({values}) "
        "ON CONFLICT DO NOTHING"
    )


def _row_from_wire(agent_id: Any, event: WireAuditEvent, received_at: Any) -> tuple[Any, ...]:
    payload_field = AuditEvent._meta.get_field("payload")
    principal = event.actor.on_behalf_of
    return (
        AuditEvent.Source.AGENT.value,
        agent_id,
        event.seq,
        _prepared_datetime(_occurred_at(event)),
        received_at,
        event.action,
        event.actor.sub,
        event.actor.kind,
        event.actor.name,
        principal.sub if principal else "",
        principal.kind if principal else "",
        principal.name if principal else "",
        event.resource,
        event.protocol,
        event.session,
        payload_field.get_db_prep_save(event.payload, connection),
    )


def _prepared_datetime(moment: datetime) -> Any:
    return AuditEvent._meta.get_field("occurred_at").get_db_prep_save(moment, connection)


def _occurred_at(event: WireAuditEvent) -> datetime:
    try:
        moment = datetime.fromisoformat(event.time)
    except ValueError:
        raise ContractError(f"event {event.seq}: time {event.time!r} is not RFC 3339") from None
    if moment.tzinfo is None:
        raise ContractError(f"event {event.seq}: time {event.time!r} carries no timezone")
    return moment


def _actor_fields(actor: User | AnonymousUser | Agent | None) -> tuple[str, str, str]:
    from controlplane.agents.models import Agent

    if actor is None:
        return "", "system", "system"
    if isinstance(actor, Agent):
        return str(actor.id), "agent", actor.name
    if not actor.is_authenticated:  # AnonymousUser: a caller who proved no identity
        return "", "anonymous", ""
    return str(actor.pk), actor.kind, actor.get_username()
