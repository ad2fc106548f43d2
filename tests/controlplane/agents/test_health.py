"""An agent's health as the console shows it: connected with a heartbeat in the last 30 s,
stale when connected but silent longer, offline when its websocket is gone."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from controlplane.agents.health import AgentState, agent_health
from controlplane.agents.models import Agent
from controlplane.agents.services import IssuedAgent


def heard(agent: Agent, *, seconds_ago: float | None, connected: bool = True) -> Agent:
    agent.connected = connected
    agent.last_seen_at = (
        None if seconds_ago is None else timezone.now() - timedelta(seconds=seconds_ago)
    )
    return agent


def test_a_connected_agent_with_a_recent_heartbeat_is_connected(edge: IssuedAgent) -> None:
    health = agent_health(heard(edge.agent, seconds_ago=5))
    assert health.state is AgentState.CONNECTED and health.badge == "badge-ok"
    assert health.silent_for_seconds is not None and 5 <= health.silent_for_seconds < 6


def test_thirty_seconds_without_a_heartbeat_is_stale(edge: IssuedAgent) -> None:
    assert agent_health(heard(edge.agent, seconds_ago=31)).state is AgentState.STALE
    assert agent_health(heard(edge.agent, seconds_ago=None)).state is AgentState.STALE


def test_a_disconnected_agent_is_offline_however_recent(edge: IssuedAgent) -> None:
    health = agent_health(heard(edge.agent, seconds_ago=1, connected=False))
    assert health.state is AgentState.OFFLINE and health.badge == "badge-danger"
