"""Writes for agents: registration, and what a connected agent reports about itself."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from controlplane import bearer
from controlplane.agents.models import Agent
from controlplane.agents.revision import config_revision_bump
from controlplane.audit.actions import ControlPlaneAction
from controlplane.audit.services import audit_event_record
from controlplane.identities.models import User


@dataclass(frozen=True)
class IssuedAgent:
    """A newly registered agent; ``token`` exists only here and is shown once."""

    agent: Agent
    token: str = field(repr=False)


def agent_register(*, actor: User | None, name: str) -> IssuedAgent:
    """Register an agent and issue the token its websocket authenticates with."""
    issued = bearer.issue(Agent.TOKEN_SCHEME)
    with transaction.atomic():
        agent = Agent(name=name, token_prefix=issued.prefix, token_hash=issued.hashed)
        agent.full_clean()
        agent.save()
        config_revision_bump(agents=[agent])
        audit_event_record(
            actor=actor, action=ControlPlaneAction.AGENT_REGISTERED, payload=_agent_payload(agent)
        )
    return IssuedAgent(agent=agent, token=issued.plaintext)


def agent_connected_record(*, agent: Agent) -> None:
    """The agent's websocket was authenticated and accepted."""
    with transaction.atomic():
        Agent.objects.filter(pk=agent.pk).update(connected=True, last_seen_at=timezone.now())
        audit_event_record(
            actor=agent, action=ControlPlaneAction.AGENT_CONNECTED, payload=_agent_payload(agent)
        )


def agent_disconnected_record(*, agent: Agent, code: int | None) -> None:
    """The agent's websocket closed (``code`` is the websocket close code, if any)."""
    with transaction.atomic():
        Agent.objects.filter(pk=agent.pk).update(connected=False, last_seen_at=timezone.now())
        audit_event_record(
            actor=agent,
            action=ControlPlaneAction.AGENT_DISCONNECTED,
            payload={**_agent_payload(agent), "close_code": code},
        )


def agent_hello_record(*, agent: Agent, version: str, revision: int) -> None:
    """The agent's first frame: its software version and the revision it runs with."""
    Agent.objects.filter(pk=agent.pk).update(
        version=version, config_revision_acked=revision, last_seen_at=timezone.now()
    )


def agent_heartbeat_record(*, agent: Agent, revision: int, spool_backlog: int) -> None:
    """A periodic heartbeat: the revision in force and how many events await an ack."""
    Agent.objects.filter(pk=agent.pk).update(
        config_revision_acked=revision, spool_backlog=spool_backlog, last_seen_at=timezone.now()
    )


def _agent_payload(agent: Agent) -> dict[str, str]:
    return {"agent": str(agent.pk), "agent_name": agent.name}
