"""A session's timeline: one step per audit event (statements with their result shape and
masked sample rows, guardrail verdicts, masking tallies, HTTP requests, model calls), each
with its offset from the session's first event. Terminal output is not a step: the page
plays it in the terminal player (cast.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from controlplane.audit.models import AuditEvent
from dataplane.contract import Action

# A longer session shows its first steps and says so; the audit explorer and the export
# have the rest.
REPLAY_MAX_STEPS = 2000
TITLE_LIMIT = 120
TERMINAL_ACTIONS = (Action.TERMINAL_OUTPUT, Action.TERMINAL_RESIZE)

_KINDS: dict[str, str] = {
    Action.STATEMENT: "statement",
    Action.GUARDRAIL_DENIED: "verdict",
    Action.GUARDRAIL_HELD: "verdict",
    Action.GUARDRAIL_HOLD_RESOLVED: "verdict",
    Action.GUARDRAIL_ROW_LIMIT: "verdict",
    Action.CONNECTION_REFUSED: "verdict",
    Action.MASKING_APPLIED: "masking",
    Action.MASKING_FAILED: "masking",
    Action.HTTP_REQUEST: "http",
    Action.LLM_CALL: "llm",
}


@dataclass(frozen=True)
class ReplayStep:
    """One event of the session as the replay shows it."""

    seq: int
    action: str
    kind: str  # statement | verdict | masking | http | llm | event
    at: datetime
    offset_ms: int  # from the session's first event
    title: str
    payload: dict[str, Any]

    @property
    def label(self) -> str:
        """What the replay announces for the step: its action and, when it says more, its title."""
        return self.action if self.title == self.action else f"{self.action}: {self.title}"

    @property
    def offset_s(self) -> str:
        return f"{self.offset_ms / 1000:.3f}"

    @property
    def fields(self) -> list[tuple[str, Any]]:
        """The payload as (name, value) pairs (templates cannot say ``payload.items``
        safely: a key named "items" or "values" would win over the method)."""
        return [(name, value) for name, value in self.payload.items() if name != "correlation_id"]

    @property
    def failed(self) -> bool:
        return bool(self.payload.get("error")) or self.action == Action.GUARDRAIL_DENIED


@dataclass(frozen=True)
class SessionReplay:
    """A session as its audit events tell it."""

    session_id: str
    resource: str
    protocol: str
    actor: str
    on_behalf_of: str
    agent: str
    started_at: datetime
    steps: list[ReplayStep]
    truncated: bool  # more steps than REPLAY_MAX_STEPS
    terminal_events: int  # terminal.output / terminal.resize events (the player's)
    end_reason: str = ""
    duration_ms: float | None = None
    counts: dict[str, int] = field(default_factory=dict)  # steps per kind

    @property
    def has_terminal(self) -> bool:
        return self.terminal_events > 0


def replay_events(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """The events that are timeline steps (terminal recording excluded), at most
    REPLAY_MAX_STEPS + 1 of them (the one beyond says the replay is cut)."""
    return events.exclude(action__in=TERMINAL_ACTIONS)[: REPLAY_MAX_STEPS + 1]


def session_replay_build(*, session_id: str, events: QuerySet[AuditEvent]) -> SessionReplay:
    """The replay of one session from its events (``access.session_events_for``)."""
    rows = list(replay_events(events).select_related("agent"))
    truncated = len(rows) > REPLAY_MAX_STEPS
    rows = rows[:REPLAY_MAX_STEPS]
    first = rows[0] if rows else events.first()
    assert first is not None, "a session has at least one event"
    steps = [_step(row, first.occurred_at) for row in rows]
    end = next((row for row in reversed(rows) if row.action == Action.SESSION_END), None)
    agent_row = next((row for row in rows if row.agent is not None), first)
    counts: dict[str, int] = {}
    for step in steps:
        counts[step.kind] = counts.get(step.kind, 0) + 1
    return SessionReplay(
        session_id=session_id,
        resource=first.resource,
        protocol=first.protocol,
        actor=first.actor_name or first.actor_sub or "anonymous",
        on_behalf_of=first.on_behalf_of_name,
        agent=agent_row.agent.name if agent_row.agent is not None else "",
        started_at=first.occurred_at,
        steps=steps,
        truncated=truncated,
        terminal_events=events.filter(action__in=TERMINAL_ACTIONS).count(),
        end_reason=str(end.payload.get("reason", "")) if end is not None else "",
        duration_ms=end.payload.get("duration_ms") if end is not None else None,
        counts=counts,
    )


def _step(row: AuditEvent, started_at: datetime) -> ReplayStep:
    payload = row.payload if isinstance(row.payload, dict) else {}
    kind = _KINDS.get(row.action, "event")
    return ReplayStep(
        seq=row.seq,
        action=row.action,
        kind=kind,
        at=row.occurred_at,
        offset_ms=max(0, round((row.occurred_at - started_at).total_seconds() * 1000)),
        title=_short(_title(row.action, kind, payload)),
        payload=payload,
    )


def _title(action: str, kind: str, payload: dict[str, Any]) -> str:
    if kind == "statement":
        return str(payload.get("statement", "")) or "(empty statement)"
    if kind == "verdict":
        rule = payload.get("rule") or payload.get("reason") or ""
        return f"{action}: {rule}" if rule else action
    if kind == "http":
        return f"{payload.get('method', '')} {payload.get('path', '')} → {payload.get('status')}"
    if kind == "llm":
        return f"{payload.get('model', '')} ({payload.get('api', '')})"
    return action


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= TITLE_LIMIT else line[: TITLE_LIMIT - 1] + "…"
