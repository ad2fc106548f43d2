"""Session-index fixtures: agent events as edge-1 sends them, for alice's and agent-smith's
sessions on appdb (edge-1 serves it; erin approves it, see tests/controlplane/access)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from controlplane.agents.models import Agent
from controlplane.agents.services import IssuedAgent
from controlplane.audit.services import audit_events_ingest
from controlplane.identities.models import User
from dataplane.contract import Actor
from dataplane.contract import AuditEvent as WireEvent
from tests.controlplane.access.conftest import (  # noqa: F401
    appdb_policy,
    developer_alice,
    erin,
    frank,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

Wire = Callable[..., WireEvent]


def actor_of(user: User, *, on_behalf_of: User | None = None) -> Actor:
    principal = actor_of(on_behalf_of) if on_behalf_of is not None else None
    return Actor(sub=str(user.pk), kind=user.kind, name=user.get_username(), on_behalf_of=principal)


def wire_event(
    seq: int,
    action: str,
    *,
    session: str,
    actor: Actor,
    payload: dict[str, Any] | None = None,
    resource: str = "appdb",
    protocol: str = "postgres",
    at: datetime | None = None,
) -> WireEvent:
    return WireEvent(
        seq=seq,
        time=(at or T0 + timedelta(seconds=seq)).isoformat(),
        action=action,
        actor=actor,
        resource=resource,
        protocol=protocol,
        session=session,
        payload=payload or {},
    )


def session_events(
    first_seq: int,
    session: str,
    actor: Actor,
    *,
    statements: int = 2,
    end: bool = True,
    grant: str = "g-1",
    base: datetime = T0,
) -> list[WireEvent]:
    """A whole session: start, ``statements`` statements, and (if ``end``) its end; event
    ``seq`` happens ``seq`` seconds after ``base``."""

    def at(seq: int) -> datetime:
        return base + timedelta(seconds=seq)

    events = [
        wire_event(
            first_seq,
            "session.start",
            at=at(first_seq),
            session=session,
            actor=actor,
            payload={"client_address": "10.0.0.7:5555", "grant": grant, "tls": True},
        )
    ]
    for n in range(statements):
        events.append(
            wire_event(
                first_seq + 1 + n,
                "statement",
                at=at(first_seq + 1 + n),
                session=session,
                actor=actor,
                payload={"statement": "SELECT 1", "masked": {"EMAIL_ADDRESS": 2}},
            )
        )
    if end:
        events.append(
            wire_event(
                first_seq + 1 + statements,
                "session.end",
                at=at(first_seq + 1 + statements),
                session=session,
                actor=actor,
                payload={"reason": "client disconnected", "statements": statements},
            )
        )
    return events


@pytest.fixture
def ingest(edge: IssuedAgent) -> Callable[[list[WireEvent]], int]:
    return lambda events: audit_events_ingest(agent=edge.agent, events=events)


@pytest.fixture
def edge_online(edge: IssuedAgent) -> Agent:
    Agent.objects.filter(pk=edge.agent.pk).update(connected=True)
    edge.agent.refresh_from_db()
    return edge.agent
