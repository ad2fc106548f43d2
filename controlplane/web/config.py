"""Settings the web console reads from the environment (typed and loud, like the rest)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from controlplane.config.env import env_str

AGENT_ADDRESS_VARIABLE = "GATEHOUSE_AGENT_PUBLIC_ADDRESS"


@dataclass(frozen=True)
class AgentAddress:
    """Where people's clients reach the data-plane agent (its PostgreSQL or HTTP listener)."""

    host: str
    port: int


def agent_public_address_from_env(
    default: str = "127.0.0.1:6432", *, variable: str = AGENT_ADDRESS_VARIABLE
) -> AgentAddress:
    """``GATEHOUSE_AGENT_PUBLIC_ADDRESS`` (or ``variable``) as ``host:port`` (``[v6]:port``
    for IPv6)."""
    raw = env_str(variable, default).strip()
    host, sep, port = raw.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ImproperlyConfigured(f"{variable} must be host:port (e.g. {default}), not {raw!r}")
    if any(ch.isspace() or ch in "'\\=" for ch in host):
        raise ImproperlyConfigured(f"{variable}: {host!r} is not a host name")
    return AgentAddress(host=host, port=int(port))


AGENT_HTTP_ADDRESS_VARIABLE = "GATEHOUSE_AGENT_PUBLIC_HTTP_ADDRESS"


def agent_public_http_address_from_env(default: str = "127.0.0.1:8443") -> AgentAddress:
    """``GATEHOUSE_AGENT_PUBLIC_HTTP_ADDRESS``: where callers reach the agent's HTTP
    listener (http and llm resources), shown in the console's curl lines."""
    return agent_public_address_from_env(default, variable=AGENT_HTTP_ADDRESS_VARIABLE)


def url_host(address: AgentAddress) -> str:
    """``host:port`` as a URL's authority (an IPv6 address in brackets)."""
    host = f"[{address.host}]" if ":" in address.host else address.host
    return f"{host}:{address.port}"
