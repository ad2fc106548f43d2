"""Envelopes: the JSON text frames exchanged over the agent websocket.

Agent -> control plane:
  ``hello``      {"agent_version", "revision"}      first frame after connecting
  ``events``     {"events": [AuditEvent dict, ...]} a batch, ascending ``seq``
  ``heartbeat``  {"revision", "spool_backlog", "sessions"}
  ``hold``       {"hold": {"id", "session", "grant", "identity", "identity_name", "resource",
                 "statement", "rule", "reason", "requested_at", "expires_at"}}
                 a statement held for approval; sent again after a reconnect while pending
  ``hold_withdrawn`` {"id", "reason"}  the agent stopped waiting (client cancelled or left,
                 or the hold timed out at the agent)
  ``exec_result`` {"format", "id", "ok": true, "result": {...}} or {"format", "id", "ok":
                 false, "error": {"code", "message", "status", "sqlstate", "rule", "hold"}}
                 the answer to an ``exec`` (see exec_call.py)
Control plane -> agent:
  ``welcome``    {"last_seq"}   highest event seq the control plane has stored for this agent
  ``snapshot``   {"snapshot": Snapshot dict}         sent on connect and on every change
  ``ack``        {"seq"}        every event with seq <= this is stored durably
  ``error``      {"message"}    then the control plane closes the socket
  ``hold_decision`` {"id", "decision": "approved" | "denied" | "expired", "by", "at"}
                 the answer to a hold (sent again whenever the agent sends that hold again)
  ``exec``       {"format", "id", "resource", "token", "correlation_id", "timeout_s",
                 "max_rows", and "sql": str or "http": {"method", "path", "headers",
                 "body_b64"}}  run one call on a
                 resource as the token's identity, through the same addons as a native
                 session (see exec_call.py)
  ``session_terminate`` {"session", "reason", "by"}  end the live session ``session`` (an
                 id the agent's audit events carry) now: ``by`` (a username) asked, for
                 ``reason`` ("" when none given); the session's ``session.end`` event says
                 "terminated by <by>". An id the agent does not serve is logged and ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

WIRE_VERSION = 1

AGENT_TO_CONTROL_PLANE = frozenset(
    {"hello", "events", "heartbeat", "hold", "hold_withdrawn", "exec_result"}
)
CONTROL_PLANE_TO_AGENT = frozenset(
    {"welcome", "snapshot", "ack", "error", "hold_decision", "exec", "session_terminate"}
)
KNOWN_TYPES = AGENT_TO_CONTROL_PLANE | CONTROL_PLANE_TO_AGENT

# The websocket path agents connect to, and the header carrying the agent token.
AGENT_WEBSOCKET_PATH = "/ws/agent/"
AGENT_TOKEN_HEADER = "Authorization"  # value: "Bearer <agent token>"


class ContractError(ValueError):
    """A frame or document that does not follow the contract."""


@dataclass(frozen=True)
class Envelope:
    type: str
    body: dict[str, Any] = field(default_factory=dict)
    version: int = WIRE_VERSION


def encode_envelope(envelope: Envelope) -> str:
    """Serialise an envelope as a compact JSON text frame."""
    document = {"v": envelope.version, "type": envelope.type, **envelope.body}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def decode_envelope(frame: str | bytes) -> Envelope:
    """Parse and check a text frame; raises ContractError for anything off-contract."""
    try:
        document = json.loads(frame)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ContractError(f"frame is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ContractError("frame is not a JSON object")
    version = document.pop("v", None)
    kind = document.pop("type", None)
    if version != WIRE_VERSION:
        raise ContractError(
            f"unsupported wire version {version!r} (this side speaks {WIRE_VERSION})"
        )
    if kind not in KNOWN_TYPES:
        raise ContractError(f"unknown envelope type {kind!r}")
    return Envelope(type=kind, body=document, version=version)


@dataclass(frozen=True)
class SessionTerminate:
    """The body of a ``session_terminate`` envelope."""

    session: str
    reason: str
    by: str

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> SessionTerminate:
        texts = {name: body.get(name, "") for name in ("session", "reason", "by")}
        if not all(isinstance(value, str) for value in texts.values()):
            raise ContractError("session_terminate: session, reason and by must be strings")
        if not texts["session"] or not texts["by"]:
            raise ContractError("session_terminate: session and by must not be empty")
        return cls(**texts)

    def to_body(self) -> dict[str, str]:
        return {"session": self.session, "reason": self.reason, "by": self.by}

    @property
    def end_reason(self) -> str:
        """What the client is told and the session's end records."""
        said = f": {self.reason}" if self.reason else ""
        return f"terminated by {self.by}{said}"
