"""Policy simulation: what a proposed guardrail policy would have done to the statements
already in the audit log, so a policy can be tried before it is switched on.

The statements are replayed through the agent's own engine (``dataplane.guardrails``), one
engine over one ``FactsCache``, so a text seen many times is parsed once. Audit texts are
masked (literal personal data replaced by markers such as ``[EMAIL_ADDRESS]``) and may be
cut short; a masked or shortened text that no longer parses tells nothing about the
statement that ran, so it is counted apart as unjudgeable instead of as a deny.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from controlplane.audit.models import AuditEvent
from dataplane.contract import Action
from dataplane.guardrails.engine import FactsCache, Guardrails, Verdict
from dataplane.guardrails.rules import Decision, GuardrailPolicy

# The markers audit-text masking writes in place of a value: [EMAIL_ADDRESS], [US_SSN].
MASK_MARKER = re.compile(r"\[[A-Z][A-Z0-9_]*\]")
UNPARSED_COMMAND = "(unparsed)"
UNJUDGEABLE = "unjudgeable"


@dataclass(frozen=True)
class ReplayedStatement:
    """One audited statement and what the proposed policy says of it."""

    occurred_at: datetime
    identity: str
    resource: str
    statement: str
    outcome: str  # allow, deny, hold or unjudgeable
    rule: str
    reason: str


@dataclass
class SimulationReport:
    """Counts by outcome, and the statements denied, held or unjudgeable, by rule."""

    since: datetime
    until: datetime
    counts: Counter[str] = field(default_factory=Counter)
    flagged: dict[str, dict[str, list[ReplayedStatement]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )

    def add(self, replayed: ReplayedStatement) -> None:
        self.counts[replayed.outcome] += 1
        if replayed.outcome != Decision.ALLOW:
            self.flagged[replayed.outcome][replayed.rule].append(replayed)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (``--format json``)."""
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "statements": self.total,
            "counts": {o: self.counts.get(o, 0) for o in ("allow", "deny", "hold", UNJUDGEABLE)},
            **{
                outcome: {
                    rule: [_statement_dict(s) for s in statements]
                    for rule, statements in sorted(self.flagged.get(outcome, {}).items())
                }
                for outcome in ("deny", "hold", UNJUDGEABLE)
            },
        }


def guardrails_simulate(
    *,
    policy: GuardrailPolicy,
    since: datetime,
    until: datetime,
    resource: str = "",
    identity: str = "",
) -> SimulationReport:
    """Replay the ``statement`` audit events in [since, until) (optionally of one resource
    or one identity) through ``policy``."""
    engine = Guardrails(policy, FactsCache())
    report = SimulationReport(since=since, until=until)
    for event in _statement_events(since=since, until=until, resource=resource, identity=identity):
        report.add(statement_replay(engine, event))
    return report


def statement_replay(engine: Guardrails, event: dict[str, Any]) -> ReplayedStatement:
    """Judge one audited statement; a masked or cut text the parser refuses is unjudgeable."""
    payload = event["payload"] if isinstance(event["payload"], dict) else {}
    text = str(payload.get("statement", ""))
    replayed = ReplayedStatement(
        occurred_at=event["occurred_at"],
        identity=event["actor_name"],
        resource=event["resource"],
        statement=text,
        outcome=Decision.ALLOW.value,
        rule="",
        reason="",
    )
    if _unparsed(engine, text) and (MASK_MARKER.search(text) or payload.get("statement_truncated")):
        why = "masked text" if MASK_MARKER.search(text) else "truncated text"
        return _with(replayed, UNJUDGEABLE, why, f"unjudgeable ({why}): it no longer parses")
    verdict: Verdict = engine.judge(text)
    return _with(replayed, verdict.decision.value, verdict.rule or "", verdict.reason)


def _unparsed(engine: Guardrails, text: str) -> bool:
    return any(facts.command == UNPARSED_COMMAND for facts in engine.cache.facts(text))


def _with(replayed: ReplayedStatement, outcome: str, rule: str, reason: str) -> ReplayedStatement:
    return replace(replayed, outcome=outcome, rule=rule, reason=reason)


def _statement_events(
    *, since: datetime, until: datetime, resource: str, identity: str
) -> Iterator[dict[str, Any]]:
    events: QuerySet[AuditEvent] = AuditEvent.objects.filter(
        action=Action.STATEMENT, occurred_at__gte=since, occurred_at__lt=until
    )
    if resource:
        events = events.filter(resource=resource)
    if identity:
        events = events.filter(actor_name=identity) | events.filter(on_behalf_of_name=identity)
    fields: Iterable[str] = (
        "occurred_at",
        "actor_name",
        "on_behalf_of_name",
        "resource",
        "payload",
    )
    return events.order_by("seq").values(*fields).iterator(chunk_size=2000)


def _statement_dict(statement: ReplayedStatement) -> dict[str, Any]:
    return {
        "time": statement.occurred_at.isoformat(),
        "identity": statement.identity,
        "resource": statement.resource,
        "statement": statement.statement,
        "reason": statement.reason,
    }
