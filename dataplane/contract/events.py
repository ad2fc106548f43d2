"""Audit events as agents produce them and the control plane stores them.

Each event carries the agent's own sequence number ``seq`` (1, 2, 3, ... with no gaps for
one agent, across restarts), so the control plane can store each exactly once and a missing
one is visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dataplane.contract.envelopes import ContractError

AUDIT_EVENT_FORMAT = 2  # 2: actor.on_behalf_of


class Action(StrEnum):
    SESSION_START = "session.start"
    SESSION_END = "session.end"
    STATEMENT = "statement"
    CONNECTION_REFUSED = "connection.refused"
    CANCEL_REQUEST = "cancel.request"
    EPHEMERAL_ROLE_CREATED = "credential.created"
    EPHEMERAL_ROLE_DROPPED = "credential.dropped"
    # A single-use grant (scope session or call) admitted its one session.
    GRANT_CONSUMED = "grant.consumed"
    # Values masked in a session's results, per entity (sent when the session ends).
    MASKING_APPLIED = "masking.applied"
    # Masking failed or ran out of time on some values: they were redacted, or the
    # statement ended with an error (the profile's on_failure); never passed on unmasked.
    MASKING_FAILED = "masking.failed"
    # Guardrail verdicts on statements (the rule, the decision, who approved a hold).
    GUARDRAIL_DENIED = "guardrail.denied"
    GUARDRAIL_HELD = "guardrail.held"
    GUARDRAIL_HOLD_RESOLVED = "guardrail.hold_resolved"  # approved/denied/expired/withdrawn
    GUARDRAIL_ROW_LIMIT = "guardrail.row_limit"
    # One HTTP request relayed (or refused) on an http resource, and one model call on an
    # llm resource (model, masked prompt and completion, tool calls, usage).
    HTTP_REQUEST = "http.request"
    LLM_CALL = "llm.call"
    # A terminal session's recording (SSH, Kubernetes exec; no producer yet), one event per
    # chunk of output: payload {"v": 1, "t": seconds since the session started, "data":
    # the masked text}; and the window size: {"v": 1, "t": ..., "cols": int, "rows": int}.
    # The console replays them as asciicast v2 (controlplane/web/replay/cast.py).
    TERMINAL_OUTPUT = "terminal.output"
    TERMINAL_RESIZE = "terminal.resize"


@dataclass(frozen=True)
class Actor:
    sub: str  # identity id; "" when the caller never proved who it is
    kind: str  # "user" | "service_account" | "anonymous"
    name: str
    # The human an AI agent acts for, when one launched it (a token's RFC 8693 "act" chain).
    on_behalf_of: Actor | None = None

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(sub="", kind="anonymous", name="")

    def to_dict(self) -> dict[str, Any]:
        principal = self.on_behalf_of
        return {
            "sub": self.sub,
            "kind": self.kind,
            "name": self.name,
            "on_behalf_of": principal.to_dict() if principal else None,
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Actor:
        principal = document.get("on_behalf_of")
        return cls(
            sub=str(document["sub"]),
            kind=str(document["kind"]),
            name=str(document["name"]),
            on_behalf_of=cls.from_dict(principal) if principal else None,
        )


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    time: str  # RFC 3339, UTC, microseconds
    action: str  # an Action value
    actor: Actor
    resource: str
    protocol: str
    session: str  # session id, "" for events outside a session
    payload: dict[str, Any] = field(default_factory=dict)
    format: int = AUDIT_EVENT_FORMAT

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "seq": self.seq,
            "time": self.time,
            "action": self.action,
            "actor": self.actor.to_dict(),
            "resource": self.resource,
            "protocol": self.protocol,
            "session": self.session,
            "payload": self.payload,
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> AuditEvent:
        if document.get("format") not in (1, AUDIT_EVENT_FORMAT):  # 1: no on_behalf_of
            raise ContractError(f"unsupported audit event format {document.get('format')!r}")
        try:
            seq = int(document["seq"])
            if seq < 1:
                raise ValueError("seq starts at 1")
            return cls(
                seq=seq,
                time=str(document["time"]),
                action=str(document["action"]),
                actor=Actor.from_dict(document["actor"]),
                resource=str(document["resource"]),
                protocol=str(document["protocol"]),
                session=str(document["session"]),
                payload=dict(document["payload"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ContractError(f"malformed audit event: {exc}") from exc
