"""Reads for agents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, QuerySet

from controlplane import bearer
from controlplane.agents.health import AgentHealth, agent_health
from controlplane.agents.models import Agent
from controlplane.agents.revision import config_revision_current
from controlplane.resources.models import Resource


def agent_by_token(*, token: str) -> Agent | None:
    """The agent whose current, unrevoked token ``token`` is, or None."""
    prefix = bearer.prefix_of(token, Agent.TOKEN_SCHEME)
    if prefix is None:
        return None
    agent = Agent.objects.filter(token_prefix=prefix, token_revoked_at__isnull=True).first()
    if agent is None or not bearer.matches(token, agent.token_hash):
        return None
    return agent


def agent_get(*, name: str) -> Agent:
    """The agent called ``name``; raises Agent.DoesNotExist."""
    return Agent.objects.get(name=name)


def agents_list() -> QuerySet[Agent]:
    """All agents by name."""
    return Agent.objects.order_by("name")


@dataclass(frozen=True)
class AgentStatus:
    """One agent as operators watch it: its health, what it serves, and whether it runs the
    current configuration."""

    agent: Agent
    health: AgentHealth
    resources: list[str]
    config_current: bool  # it acknowledged the current config revision
    heard_seconds_ago: int | None  # None: never heard from


def agents_status(*, at: datetime) -> tuple[int, list[AgentStatus]]:
    """The current config revision and every agent's status at ``at``, by name (three
    queries whatever the number of agents)."""
    current = config_revision_current()
    served = Prefetch("resources", queryset=Resource.objects.order_by("name").only("name", "agent"))
    return current, [
        AgentStatus(
            agent=agent,
            health=agent_health(agent, at=at),
            resources=[resource.name for resource in agent.resources.all()],
            config_current=agent.config_revision_acked >= current,
            heard_seconds_ago=_seconds_since(agent.last_seen_at, at),
        )
        for agent in agents_list().prefetch_related(served)
    ]


def _seconds_since(moment: datetime | None, at: datetime) -> int | None:
    return None if moment is None else max(0, int((at - moment).total_seconds()))
