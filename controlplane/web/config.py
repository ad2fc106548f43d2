"""Settings the web console reads from the environment (typed and loud, like the rest)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from controlplane.config.env import env_str

AGENT_ADDRESS_VARIABLE = "GATEHOUSE_AGENT_PUBLIC_ADDRESS"


@dataclass(frozen=True)
class AgentAddress:
    """Where people's PostgreSQL clients reach the data-plane agent."""

    host: str
    port: int


def agent_public_address_from_env(default: str = "127.0.0.1:6432") -> AgentAddress:
    """``GATEHOUSE_AGENT_PUBLIC_ADDRESS`` as ``host:port`` (``[v6]:port`` for IPv6)."""
    raw = env_str(AGENT_ADDRESS_VARIABLE, default).strip()
    host, sep, port = raw.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ImproperlyConfigured(
            f"{AGENT_ADDRESS_VARIABLE} must be host:port (e.g. 127.0.0.1:6432), not {raw!r}"
        )
    if any(ch.isspace() or ch in "'\\=" for ch in host):
        raise ImproperlyConfigured(f"{AGENT_ADDRESS_VARIABLE}: {host!r} is not a host name")
    return AgentAddress(host=host, port=int(port))
