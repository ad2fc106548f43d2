"""The protocols a resource may speak: one line per protocol the data plane serves.

Adding a protocol is one line here (and its folder under ``dataplane/protocols/``). The
model's choices are a callable, so a new line needs no migration.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Protocol:
    name: str
    label: str
    default_port: int
    # True: an HTTP upstream, configured by the resource's http settings (the contract's
    # HttpSettings) instead of a database name.
    http: bool = False


PROTOCOLS: tuple[Protocol, ...] = (
    Protocol(name="postgres", label="PostgreSQL", default_port=5432),
    Protocol(name="http", label="HTTP API", default_port=443, http=True),
    Protocol(name="llm", label="LLM API (OpenAI / Anthropic)", default_port=443, http=True),
)


def protocol_choices() -> list[tuple[str, str]]:
    """Choices for Resource.protocol, in registry order."""
    return [(protocol.name, protocol.label) for protocol in PROTOCOLS]


def protocol_speaks_http(name: str) -> bool:
    """True for the protocols whose resources carry http settings (``http``, ``llm``)."""
    return any(protocol.http for protocol in PROTOCOLS if protocol.name == name)


def protocol_label(name: str) -> str:
    """The registry's label for ``name`` (the name itself for one the registry lacks)."""
    return next((p.label for p in PROTOCOLS if p.name == name), name)
