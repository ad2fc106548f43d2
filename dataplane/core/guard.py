"""One session's guardrails: its judge, its profile's hold timeout and row limit, and the
revision of the policy each prepared statement was judged under.

The guardrails addon builds it when the session is authorised and swaps the judge when a
new snapshot changes the session's profile (`revision` then moves on, so a prepared
statement judged earlier is judged again at its next Execute).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dataplane.core.holds import HoldDesk
from dataplane.guardrails.engine import Verdict
from dataplane.guardrails.session import StatementJudge


@dataclass
class SessionGuard:
    profile: str
    judge: StatementJudge
    holds: HoldDesk
    hold_timeout_s: float
    max_rows: int | None = None
    revision: int = 0
    # Prepared statement name -> (its text, the revision it was judged under).
    prepared: dict[str, tuple[str, int]] = field(default_factory=dict)

    def verdict(self, sql: str) -> Verdict:
        return self.judge.judge(sql)

    def replace_judge(
        self, judge: StatementJudge, hold_timeout_s: float, max_rows: int | None
    ) -> None:
        """A new policy for the rest of the session."""
        judge.standard_conforming_strings = self.judge.standard_conforming_strings
        self.judge = judge
        self.hold_timeout_s = hold_timeout_s
        self.max_rows = max_rows
        self.revision += 1
