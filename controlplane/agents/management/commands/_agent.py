"""What the agent commands share: finding an agent by name, or exiting cleanly."""

from django.core.management.base import CommandError

from controlplane.agents.models import Agent
from controlplane.agents.selectors import agent_get


def agent_named(name: str) -> Agent:
    """The agent called ``name``; a CommandError when there is none."""
    try:
        return agent_get(name=name)
    except Agent.DoesNotExist:
        raise CommandError(f"no agent named {name!r}") from None
