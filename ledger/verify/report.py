"""What the verifier found: problems in the order found, and the one-line verdict."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

MAX_PROBLEMS = 100  # a broken bundle can fail on every line; the first ones tell the story


@dataclass(frozen=True)
class Problem:
    """One failed check. `where` names the entry (`entry seq=5`), checkpoint, file or manifest."""

    where: str
    what: str
    seq: int | None = None

    def line(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass
class Report:
    """Everything the verifier established about one bundle."""

    entries: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    tree_size: int | None = None
    root: str | None = None
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    warnings: list[str] = field(default_factory=list)
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    trusted_checkpoint: str | None = None
    cosigned_by: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def fail(self, where: str, what: str, *, seq: int | None = None) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(where, what, seq))

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def verdict(self) -> str:
        if not self.ok:
            return f"FAILED: {self.problems[0].line()}"
        span = f"seq {self.first_seq}..{self.last_seq}" if self.entries else "no entries"
        tree = f"tree size {self.tree_size}, root {self.root}"
        return f"VERIFIED: {self.entries} entries, {span}, {tree}"

    def as_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["verdict"] = "VERIFIED" if self.ok else "FAILED"
        doc["line"] = self.verdict()
        doc["entries_per_second"] = round(self.entries / self.seconds) if self.seconds else None
        return doc
