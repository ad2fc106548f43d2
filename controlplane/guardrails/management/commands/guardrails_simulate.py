"""``manage.py guardrails_simulate --policy FILE --since 7d [--until TIME] [--resource R]
[--identity NAME] [--format text|json]``

Replays the statements in the audit log through a proposed guardrail policy document and
reports what it would have denied or held, by rule, with who, where and when. Texts that
audit masking made unparseable are reported apart as unjudgeable, not as denies.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from controlplane.guardrails.management.commands.set_guardrail_policy import read_policy_file
from controlplane.guardrails.simulation import (
    UNJUDGEABLE,
    ReplayedStatement,
    SimulationReport,
    guardrails_simulate,
)
from dataplane.guardrails.document import policy_from_document
from dataplane.guardrails.rules import GuardrailPolicy

_SPAN = re.compile(r"^(\d+)([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
SECTIONS = (
    ("deny", "would deny"),
    ("hold", "would hold for approval"),
    (UNJUDGEABLE, "unjudgeable (masked text)"),
)
STATEMENT_SHOWN = 200  # characters of each statement in the text report


class Command(BaseCommand):
    help = "Replay audited statements through a proposed guardrail policy."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--policy", required=True, metavar="FILE")
        parser.add_argument(
            "--since", required=True, help="7d, 24h, 30m (before --until) or an ISO 8601 time"
        )
        parser.add_argument("--until", default="", help="ISO 8601 time (default: now)")
        parser.add_argument("--resource", default="", metavar="R")
        parser.add_argument("--identity", default="", metavar="NAME")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        # A span counts back from the window's end, so "--since 7d --until T" is the week
        # before T whenever the command runs.
        until = moment_of(options["until"], now=now) if options["until"] else now
        report = guardrails_simulate(
            policy=_policy(options["policy"]),
            since=moment_of(options["since"], now=until),
            until=until,
            resource=options["resource"],
            identity=options["identity"],
        )
        if options["format"] == "json":
            self.stdout.write(json.dumps(report.to_dict(), indent=2))
        else:
            self.stdout.write("\n".join(report_lines(report, options["policy"])))


def _policy(path: str) -> GuardrailPolicy:
    try:
        return policy_from_document(read_policy_file(path))
    except ValueError as error:
        raise CommandError(f"{path}: {error}") from None


def moment_of(text: str, *, now: datetime) -> datetime:
    """``7d`` / ``24h`` / ``30m`` before ``now``, or an ISO 8601 time (UTC if unzoned)."""
    span = _SPAN.match(text.strip())
    if span:
        return now - timedelta(**{_UNITS[span.group(2)]: int(span.group(1))})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r}: want 7d, 24h, 30m or an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def report_lines(report: SimulationReport, policy_path: str) -> list[str]:
    """The text report: counts, then each flagged section grouped by rule."""
    counts = report.counts
    lines = [
        f"guardrails simulation of {policy_path}",
        f"window: {report.since:%Y-%m-%d %H:%M:%S} to {report.until:%Y-%m-%d %H:%M:%S} UTC",
        f"statements: {report.total}  allowed: {counts['allow']}  denied: {counts['deny']}  "
        f"held: {counts['hold']}  unjudgeable (masked text): {counts[UNJUDGEABLE]}",
    ]
    for outcome, title in SECTIONS:
        by_rule = report.flagged.get(outcome, {})
        if by_rule:
            lines += ["", f"{title}:"]
        for rule, statements in sorted(by_rule.items()):
            lines.append(f"  {rule or '(none)'}: {len(statements)}")
            lines += [f"    {_line(statement)}" for statement in statements]
    return lines


def _line(statement: ReplayedStatement) -> str:
    text = " ".join(statement.statement.split())
    if len(text) > STATEMENT_SHOWN:
        text = text[: STATEMENT_SHOWN - 1] + "…"
    when = statement.occurred_at.astimezone(UTC)
    return f"{when:%Y-%m-%d %H:%M:%S}  {statement.identity}  {statement.resource}  {text}"
