"""Checking the bodies of frames agents send; anything off-contract is a ContractError."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

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


@dataclass(frozen=True)
class HoldRequest:
    """A statement an agent holds for approval (the ``hold`` frame's ``hold`` object)."""

    id: UUID
    session: str
    grant: str  # "" when the session has no grant id
    identity: str  # the identity's sub (the control plane's user id)
    identity_name: str
    resource: str
    statement: str
    rule: str
    reason: str
    requested_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class HoldWithdrawn:
    id: UUID
    reason: str


# A held statement is shown to approvers whole; the agent's audit text limit is far below.
HOLD_STATEMENT_LIMIT = 1024 * 1024
_HOLD_TEXTS = {
    "session": 100,
    "grant": 64,
    "identity": 64,
    "identity_name": 150,
    "resource": 63,
    "statement": HOLD_STATEMENT_LIMIT,
    "rule": 200,
    "reason": 2000,
}


def hold_from(body: dict[str, Any]) -> HoldRequest:
    hold = body.get("hold")
    if not isinstance(hold, dict):
        raise ContractError("hold: 'hold' must be a JSON object")
    texts = {name: _text(hold, "hold", name, limit) for name, limit in _HOLD_TEXTS.items()}
    if not texts["statement"] or not texts["resource"] or not texts["identity"]:
        raise ContractError("hold: statement, resource and identity must not be empty")
    return HoldRequest(
        id=_uuid(hold, "hold", "id"),
        requested_at=_time(hold, "hold", "requested_at"),
        expires_at=_time(hold, "hold", "expires_at"),
        **texts,
    )


def hold_withdrawn_from(body: dict[str, Any]) -> HoldWithdrawn:
    return HoldWithdrawn(
        id=_uuid(body, "hold_withdrawn", "id"),
        reason=_text(body, "hold_withdrawn", "reason", 200),
    )


def _text(body: dict[str, Any], frame: str, name: str, limit: int) -> str:
    value = body.get(name, "")
    if not isinstance(value, str) or len(value) > limit:
        raise ContractError(f"{frame}: {name} must be a string of at most {limit} characters")
    return value


def _uuid(body: dict[str, Any], frame: str, name: str) -> UUID:
    try:
        return UUID(str(body.get(name)))
    except ValueError:
        raise ContractError(f"{frame}: {name} must be a UUID") from None


def _time(body: dict[str, Any], frame: str, name: str) -> datetime:
    value = body.get(name)
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ContractError(f"{frame}: {name} must be an ISO 8601 time with a UTC offset")
    return moment


def _count(body: dict[str, Any], frame: str, name: str) -> int:
    value = body.get(name)
    # bool is an int in Python; true/false is not a count on the wire.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ContractError(f"{frame}: {name} must be a non-negative integer")
    return value
