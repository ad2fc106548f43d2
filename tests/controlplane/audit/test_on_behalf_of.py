"""The human an AI agent acts for is stored with every event, shown, and filterable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from django.db import transaction
from rest_framework.test import APIClient

from controlplane.agents.services import IssuedAgent
from controlplane.audit.models import AuditEvent
from controlplane.audit.services import audit_event_record, audit_events_ingest
from controlplane.identities.models import User
from dataplane.contract import Actor
from dataplane.contract import AuditEvent as WireEvent

ClientAs = Callable[[User | None], APIClient]
ALICE = Actor(sub="id-alice", kind="user", name="alice")


def _wire(seq: int, *, on_behalf_of: Actor | None) -> WireEvent:
    return WireEvent(
        seq=seq,
        time=datetime(2026, 1, 1, 12, 0, seq, tzinfo=UTC).isoformat(),
        action="statement",
        actor=Actor(
            sub="id-smith", kind="service_account", name="agent-smith", on_behalf_of=on_behalf_of
        ),
        resource="appdb",
        protocol="postgres",
        session="s-1",
        payload={"statement": "SELECT 1"},
    )


def test_ingest_stores_who_the_agent_acted_for(edge: IssuedAgent) -> None:
    audit_events_ingest(
        agent=edge.agent, events=[_wire(1, on_behalf_of=ALICE), _wire(2, on_behalf_of=None)]
    )
    acted, alone = AuditEvent.objects.filter(source="agent").order_by("agent_seq")
    assert (acted.on_behalf_of_sub, acted.on_behalf_of_kind, acted.on_behalf_of_name) == (
        "id-alice",
        "user",
        "alice",
    )
    assert (alone.on_behalf_of_sub, alone.on_behalf_of_name) == ("", "")


def test_a_format_1_event_from_an_older_agent_is_stored_without_it(edge: IssuedAgent) -> None:
    document = _wire(1, on_behalf_of=None).to_dict()
    document["format"] = 1
    del document["actor"]["on_behalf_of"]
    audit_events_ingest(agent=edge.agent, events=[WireEvent.from_dict(document)])
    assert AuditEvent.objects.get(source="agent").on_behalf_of_sub == ""


def test_the_api_shows_and_filters_by_on_behalf_of(
    client_as: ClientAs, carol: User, edge: IssuedAgent
) -> None:
    audit_events_ingest(
        agent=edge.agent,
        events=[_wire(1, on_behalf_of=ALICE), _wire(2, on_behalf_of=None)],
    )
    api = client_as(carol)
    for value in ("alice", "id-alice"):
        results = api.get("/api/v1/audit/events", {"on_behalf_of": value}).json()["results"]
        assert [e["agent_seq"] for e in results] == [1]
        assert results[0]["on_behalf_of"] == {"sub": "id-alice", "kind": "user", "name": "alice"}
    everything = api.get("/api/v1/audit/events", {"agent": "edge-1"}).json()["results"]
    assert [e["on_behalf_of"] for e in everything if e["agent_seq"] == 2] == [None]


def test_control_plane_events_record_on_behalf_of(db: None, agent_smith: User, alice: User) -> None:
    with transaction.atomic():
        event = audit_event_record(actor=agent_smith, action="x.y", on_behalf_of=alice)
    assert (event.actor_name, event.on_behalf_of_name, event.on_behalf_of_sub) == (
        "agent-smith",
        "alice",
        str(alice.pk),
    )
