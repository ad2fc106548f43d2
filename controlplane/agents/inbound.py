"""Checking the bodies of frames agents send; anything off-contract is a ContractError."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dataplane.contract import AuditEvent, ContractError


@dataclass(frozen=True)
class Hello:
    agent_version: str
    revision: int


@dataclass(frozen=True)
class Heartbeat:
    revision: int
    spool_backlog: int


def hello_from(body: dict[str, Any]) -> Hello:
    version = body.get("agent_version")
    if not isinstance(version, str) or len(version) > 64:
        raise ContractError("hello: agent_version must be a string of at most 64 characters")
    return Hello(agent_version=version, revision=_count(body, "hello", "revision"))


def heartbeat_from(body: dict[str, Any]) -> Heartbeat:
    return Heartbeat(
        revision=_count(body, "heartbeat", "revision"),
        spool_backlog=_count(body, "heartbeat", "spool_backlog"),
    )


def events_from(body: dict[str, Any]) -> list[AuditEvent]:
    documents = body.get("events")
    if not isinstance(documents, list) or not documents:
        raise ContractError("events: 'events' must be a non-empty list")
    if not all(isinstance(document, dict) for document in documents):
        raise ContractError("events: every event must be a JSON object")
    return [AuditEvent.from_dict(document) for document in documents]


def _count(body: dict[str, Any], frame: str, name: str) -> int:
    value = body.get(name)
    # bool is an int in Python; true/false is not a count on the wire.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ContractError(f"{frame}: {name} must be a non-negative integer")
    return value
