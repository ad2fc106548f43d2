"""Writes for agents: registration, and what a connected agent reports about itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from controlplane import bearer
from controlplane.agents.actions import AgentAction
from controlplane.agents.models import Agent
from controlplane.agents.revision import agent_group, config_revision_bump
from controlplane.audit.actions import ControlPlaneAction
from controlplane.audit.services import audit_event_record
from controlplane.identities.models import User

CREDENTIALS_CHANGED = {"type": "credentials.changed"}


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


def agent_token_rotate(*, actor: User | None, agent: Agent) -> IssuedAgent:
    """Issue ``agent`` a new token (shown once); the old one, or a revoked one, is refused
    from now on and a websocket still using it is closed."""
    issued = bearer.issue(Agent.TOKEN_SCHEME)
    with transaction.atomic():
        agent = Agent.objects.select_for_update().get(pk=agent.pk)
        old_prefix = agent.token_prefix
        agent.token_prefix, agent.token_hash = issued.prefix, issued.hashed
        agent.token_revoked_at = None
        agent.save(update_fields=["token_prefix", "token_hash", "token_revoked_at"])
        _credentials_changed(agent)
        audit_event_record(
            actor=actor,
            action=AgentAction.AGENT_TOKEN_ROTATED,
            payload={**_agent_payload(agent), "old_prefix": old_prefix, "prefix": issued.prefix},
        )
    return IssuedAgent(agent=agent, token=issued.plaintext)


def agent_token_revoke(*, actor: User | None, agent: Agent) -> Agent:
    """Revoke ``agent``'s token: refused at once, and a connected agent is disconnected.
    Only a rotation gives it a working token again. Revoking twice changes nothing."""
    with transaction.atomic():
        agent = Agent.objects.select_for_update().get(pk=agent.pk)
        if agent.token_revoked_at is not None:
            return agent
        agent.token_revoked_at = timezone.now()
        agent.save(update_fields=["token_revoked_at"])
        _credentials_changed(agent)
        audit_event_record(
            actor=actor,
            action=AgentAction.AGENT_TOKEN_REVOKED,
            payload={**_agent_payload(agent), "prefix": agent.token_prefix},
        )
    return agent


def _credentials_changed(agent: Agent) -> None:
    # The websocket re-checks its token on this message. The revision bump is the fallback
    # for a change made in another process without a shared channel layer: the socket's
    # revision poll notices it and re-checks before sending a snapshot.
    config_revision_bump(agents=[agent])
    transaction.on_commit(partial(_credentials_notify, agent_group(agent.pk)), robust=True)


def _credentials_notify(group: str) -> None:
    channel_layer = get_channel_layer()
    if channel_layer is not None:
        async_to_sync(channel_layer.group_send)(group, dict(CREDENTIALS_CHANGED))


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
