"""Reads for agents."""

from __future__ import annotations

from django.db.models import QuerySet

from controlplane import bearer
from controlplane.agents.models import Agent


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
