"""Leaf documents (``ledger.leaf`` format v1) as the log holds them, for the view tests."""

from __future__ import annotations

from typing import Any

ALICE = {"sub": "7f1c0a52-alice", "kind": "user", "name": "alice"}
BOB = {"sub": "0b0b0b0b-bob", "kind": "user", "name": "bob"}
AGENT_SMITH = {"sub": "5a5a5a5a-smith", "kind": "service_account", "name": "agent-smith"}
ANONYMOUS = {"sub": "", "kind": "anonymous", "name": ""}


def entry(action: str, seq: int = 41, **fields: Any) -> dict[str, Any]:
    """One entry, from an agent when ``agent`` is given, else from the control plane."""
    agent = fields.pop("agent", None)
    document: dict[str, Any] = {
        "v": 1,
        "seq": seq,
        "time": "2026-11-30T12:00:00.123456Z",
        "source": "agent" if agent else "controlplane",
        "agent": agent,
        "agent_seq": fields.pop("agent_seq", 7 if agent else None),
        "actor": fields.pop("actor", BOB),
        "on_behalf_of": fields.pop("on_behalf_of", None),
        "resource": fields.pop("resource", ""),
        "protocol": fields.pop("protocol", "postgres" if agent else ""),
        "session": fields.pop("session", ""),
        "action": action,
        "payload": fields.pop("payload", {}),
    }
    assert not fields, f"unknown fields {fields}"
    return document


def statement(text: str, *, tags: list[str], error: dict[str, str] | None = None) -> dict[str, Any]:
    """A statement the agent audited for agent-smith acting for alice on appdb."""
    return entry(
        "statement",
        agent="edge-1",
        actor=AGENT_SMITH,
        on_behalf_of=ALICE,
        resource="appdb",
        session="s-9",
        payload={
            "statement": text,
            "kind": "simple",
            "parameter_count": 0,
            "command_tags": tags,
            "rows": 1,
            "duration_ms": 0.4,
            "error": error,
        },
    )
