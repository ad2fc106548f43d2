"""Writing the audit log: control-plane events inside each service's transaction, and
agents' event batches exactly once per (agent, seq). Both go through the single sequencer
(``controlplane.audit.sequencer.audit_append``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from controlplane.audit.actions import ControlPlaneAction
from controlplane.audit.models import AuditEvent
from controlplane.audit.sequencer import Entry, Person, audit_append, log_lock
from controlplane.sessions.projection import session_records_project
from controlplane.transactions import require_transaction
from dataplane.contract import AuditEvent as WireAuditEvent
from dataplane.contract import ContractError
from ledger.leaf import LeafError

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
    (seq,) = audit_append([_controlplane_entry(actor, action, resource, payload, on_behalf_of)])
    return AuditEvent.objects.get(seq=seq)


def audit_events_ingest(*, agent: Agent, events: Sequence[WireAuditEvent]) -> int:
    """Store a batch an agent sent; events already stored (same agent and seq) are left
    as they are, so a re-sent batch is harmless. Returns the highest seq in the batch.

    Seqs the agent skipped (above the highest it had sent before) are recorded as
    ``audit.agent_seq_gap`` events, so a missing agent event is visible in the log itself.
    This is the control plane's busiest write (one row per statement on every agent): the
    entries are built before the sequencer's lock is taken, and it inserts them with COPY.
    """
    if not events:
        raise ContractError("an events batch must hold at least one event")
    received_at = timezone.now()
    agent_id = _agent_id(agent)  # the column value, converted once for the whole batch
    entries = {event.seq: _agent_entry(agent, agent_id, event, received_at) for event in events}
    with transaction.atomic():
        appended = _agent_batch_append(agent, entries)
        if _passes_checkpoint_mark(appended):
            transaction.on_commit(_log_checkpoint_enqueue)
    # Single-use grants end with their session (idempotent, so re-sent batches are harmless).
    # Imported here: controlplane.access.services imports this module.
    from controlplane.access.single_use import grants_end_after_use

    grants_end_after_use(agent=agent, events=events)
    return max(entries)


def _agent_batch_append(agent: Agent, entries: Mapping[int, Entry]) -> range:
    """The batch's new events, then a gap record per range of agent seqs it skipped; the
    new events are folded into the session index too."""
    log_lock()  # before the duplicate check: two deliveries of one batch queue here
    previous = _agent_highest_seq(agent)
    new = sorted(set(entries) - _agent_seqs_stored(agent, min(entries), max(entries)))
    gaps = [_gap_entry(agent, first, last) for first, last in _gaps(previous, new)]
    try:
        appended = audit_append([*(entries[seq] for seq in new), *gaps])
    except LeafError as exc:  # a field the leaf format refuses (e.g. an empty action)
        raise ContractError(f"events: not storable in the audit log: {exc}") from None
    # The session index, in the same transaction and from the new events only.
    session_records_project(agent_id=agent.pk, entries=[entries[seq] for seq in new])
    return appended


def _passes_checkpoint_mark(appended: range) -> bool:
    every = settings.GATEHOUSE_LOG.checkpoint_entries
    return bool(appended) and appended.start // every != appended.stop // every


def _log_checkpoint_enqueue() -> None:
    from controlplane.jobs.tasks import log_checkpoint_enqueue  # jobs import these services

    log_checkpoint_enqueue()


def _controlplane_entry(
    actor: User | AnonymousUser | Agent | None,
    action: str,
    resource: str,
    payload: Mapping[str, Any] | None,
    on_behalf_of: User | None,
) -> Entry:
    now = timezone.now()
    return Entry(
        source=AuditEvent.Source.CONTROLPLANE.value,
        occurred_at=now,
        received_at=now,
        action=str(action),
        actor=Person(*_actor_fields(actor)),
        on_behalf_of=Person(*_actor_fields(on_behalf_of)) if on_behalf_of is not None else None,
        resource=resource,
        payload=dict(payload or {}),
    )


def _agent_entry(
    agent: Agent, agent_id: Any, event: WireAuditEvent, received_at: datetime
) -> Entry:
    principal = event.actor.on_behalf_of
    return Entry(
        source=AuditEvent.Source.AGENT.value,
        agent_id=agent_id,
        agent_name=agent.name,
        agent_seq=event.seq,
        occurred_at=_occurred_at(event),
        received_at=received_at,
        action=event.action,
        actor=Person(event.actor.sub, event.actor.kind, event.actor.name),
        on_behalf_of=Person(principal.sub, principal.kind, principal.name) if principal else None,
        resource=event.resource,
        protocol=event.protocol,
        session=event.session,
        payload=event.payload,
    )


def _agent_highest_seq(agent: Agent) -> int:
    highest = AuditEvent.objects.filter(agent=agent).aggregate(highest=Max("agent_seq"))
    return int(highest["highest"] or 0)


def _agent_seqs_stored(agent: Agent, low: int, high: int) -> set[int]:
    stored = AuditEvent.objects.filter(agent=agent, agent_seq__range=(low, high))
    return set(stored.values_list("agent_seq", flat=True))


def _gaps(previous: int, new: Sequence[int]) -> list[tuple[int, int]]:
    """Missing ranges above ``previous`` (agents number from 1) up to the highest new seq.

    Seqs at or below ``previous`` are late deliveries filling an earlier gap, not new gaps.
    """
    gaps, expected = [], previous + 1
    for seq in new:
        if seq > expected:
            gaps.append((expected, seq - 1))
        expected = max(expected, seq + 1)
    return gaps


def _gap_entry(agent: Agent, first: int, last: int) -> Entry:
    now = timezone.now()
    return Entry(
        source=AuditEvent.Source.CONTROLPLANE.value,
        occurred_at=now,
        received_at=now,
        action=ControlPlaneAction.AGENT_SEQ_GAP.value,
        actor=Person(*_actor_fields(None)),
        resource="",
        payload={"agent": agent.name, "first_missing": first, "last_missing": last},
    )


def _agent_id(agent: Agent) -> Any:
    return AuditEvent._meta.get_field("agent").get_db_prep_save(agent.pk, connection)


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
