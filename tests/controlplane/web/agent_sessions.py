"""Test helpers for the console pages that show agents and sessions: an agent that was just
heard from, and a live session (an index row, as agent audit events leave it) on a grant."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from controlplane.access.models import Grant
from controlplane.agents.models import Agent
from controlplane.sessions.models import SessionRecord


def heard(agent: Agent, *, seconds_ago: float, connected: bool = True) -> None:
    Agent.objects.filter(pk=agent.pk).update(
        connected=connected, last_seen_at=timezone.now() - timedelta(seconds=seconds_ago)
    )


def live_session(grant: Grant, session_id: str = "5e55101") -> SessionRecord:
    heard(grant.resource.agent, seconds_ago=1)
    return SessionRecord.objects.create(
        session_id=session_id,
        agent=grant.resource.agent,
        actor_sub=str(grant.identity.pk),
        actor_name=grant.identity.get_username(),
        resource=grant.resource.name,
        protocol="postgres",
        client_address="192.0.2.7",
        grant_id=str(grant.pk),
        started_at=timezone.now(),
        statements=3,
    )
