"""How an agent is doing, as the console shows it: connected with a recent heartbeat, stale
(connected, but silent for longer than a few heartbeats), or offline.

Agents send a heartbeat every 5 s (``dataplane.link.client``); 30 s without one means the
link is stuck or the agent is, even while the control plane still holds its websocket."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from controlplane.agents.models import Agent

STALE_AFTER = timedelta(seconds=30)


class AgentState(enum.StrEnum):
    CONNECTED = "connected"
    STALE = "stale"
    OFFLINE = "offline"


@dataclass(frozen=True)
class AgentHealth:
    """An agent's state, when it was last heard from and how many seconds before the moment
    asked about (both None: never)."""

    state: AgentState
    last_seen_at: datetime | None
    silent_for_seconds: float | None = None

    @property
    def badge(self) -> str:
        """The console's badge class for the state."""
        return {
            AgentState.CONNECTED: "badge-ok",
            AgentState.STALE: "badge-warn",
            AgentState.OFFLINE: "badge-danger",
        }[self.state]


def agent_health(agent: Agent, *, at: datetime | None = None) -> AgentHealth:
    """``agent``'s health at ``at`` (default now), from what its hello and heartbeats left."""
    at = at or timezone.now()
    if not agent.connected:
        state = AgentState.OFFLINE
    elif agent.last_seen_at is None or at - agent.last_seen_at > STALE_AFTER:
        state = AgentState.STALE
    else:
        state = AgentState.CONNECTED
    silent = None if agent.last_seen_at is None else (at - agent.last_seen_at).total_seconds()
    return AgentHealth(state=state, last_seen_at=agent.last_seen_at, silent_for_seconds=silent)
