"""The audit log is append-only, and agents' batches are stored exactly once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction

from controlplane.agents.services import IssuedAgent
from controlplane.audit.models import AppendOnlyViolation, AuditEvent
from controlplane.audit.selectors import audit_last_seq_for
from controlplane.audit.services import audit_event_record, audit_events_ingest
from controlplane.identities.models import User
from controlplane.transactions import OutsideTransaction
from dataplane.contract import Actor, ContractError
from dataplane.contract import AuditEvent as WireEvent


def wire_event(seq: int) -> WireEvent:
    return WireEvent(
        seq=seq,
        time=datetime(2026, 1, 1, 12, 0, seq, tzinfo=UTC).isoformat(),
        action="statement",
        actor=Actor(sub="s", kind="service_account", name="agent-smith"),
        resource="appdb",
        protocol="postgres",
        session="s-1",
        payload={"statement": "SELECT 1"},
    )


def test_a_control_plane_event_names_its_actor(db: None, bob: User) -> None:
    with transaction.atomic():
        event = audit_event_record(
            actor=bob, action="grant.created", resource="appdb", payload={"k": "v"}
        )
    assert (event.source, event.actor_sub, event.actor_kind, event.actor_name) == (
        "controlplane",
        str(bob.pk),
        "user",
        "bob",
    )
    assert event.agent is None and event.agent_seq is None


def test_command_line_actions_are_recorded_as_the_system(db: None) -> None:
    with transaction.atomic():
        event = audit_event_record(actor=None, action="signing_key.rotated")
    assert (event.actor_kind, event.actor_name, event.actor_sub) == ("system", "system", "")


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_service_transaction_is_refused() -> None:
    with pytest.raises(OutsideTransaction):
        audit_event_record(actor=None, action="grant.created")


def test_events_cannot_be_changed_or_deleted(db: None, bob: User) -> None:
    with transaction.atomic():
        event = audit_event_record(actor=bob, action="grant.created")
    event.action = "grant.forgotten"
    with pytest.raises(AppendOnlyViolation):
        event.save()
    with pytest.raises(AppendOnlyViolation):
        event.delete()
    with pytest.raises(AppendOnlyViolation):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyViolation):
        AuditEvent.objects.all().delete()


def test_ingesting_a_batch_twice_stores_each_seq_once(edge: IssuedAgent) -> None:
    assert audit_events_ingest(agent=edge.agent, events=[wire_event(1), wire_event(2)]) == 2
    assert audit_events_ingest(agent=edge.agent, events=[wire_event(2), wire_event(3)]) == 3
    assert list(
        AuditEvent.objects.filter(agent=edge.agent)
        .order_by("agent_seq")
        .values_list("agent_seq", flat=True)
    ) == [
        1,
        2,
        3,
    ]
    assert audit_last_seq_for(agent=edge.agent) == 3


def test_the_same_seq_from_two_agents_is_two_events(edge: IssuedAgent, edge2: IssuedAgent) -> None:
    audit_events_ingest(agent=edge.agent, events=[wire_event(1)])
    audit_events_ingest(agent=edge2.agent, events=[wire_event(1)])
    assert AuditEvent.objects.filter(source="agent").count() == 2


def test_an_empty_batch_is_off_contract(edge: IssuedAgent) -> None:
    with pytest.raises(ContractError):
        audit_events_ingest(agent=edge.agent, events=[])


def test_the_agents_own_time_is_kept_as_occurred_at(edge: IssuedAgent) -> None:
    audit_events_ingest(agent=edge.agent, events=[wire_event(7)])
    stored = AuditEvent.objects.get(agent=edge.agent)
    assert stored.occurred_at == datetime(2026, 1, 1, 12, 0, 7, tzinfo=UTC)
    assert stored.received_at > stored.occurred_at
