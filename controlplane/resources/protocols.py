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


PROTOCOLS: tuple[Protocol, ...] = (
    Protocol(name="postgres", label="PostgreSQL", default_port=5432),
)


def protocol_choices() -> list[tuple[str, str]]:
    """Choices for Resource.protocol, in registry order."""
    return [(protocol.name, protocol.label) for protocol in PROTOCOLS]
