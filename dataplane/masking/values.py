"""The interface between a protocol's result stream and the masking engine.

A protocol layer (PostgreSQL DataRow, COPY, HTTP bodies) knows where values are and what
type they have; it asks a ValueMasker what each value becomes. The ValueMasker knows the
session's masking profile: which entities, which strategies, the time budget and what to
do when masking fails. It never returns a value unmasked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class MaskingFailed(Exception):
    """Masking a value failed (or ran out of its budget) and the profile's on_failure is
    "error": the statement must end with an error instead of any more values."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class MaskingTally:
    """What masking did to one statement's (or one session's) values."""

    counts: dict[str, int] = field(default_factory=dict)  # entity -> values masked
    failed: int = 0  # values redacted because masking raised, timed out or was too large
    failures: dict[str, int] = field(default_factory=dict)  # reason -> values
    # True when a failure ended the statement with an error (on_failure "error").
    statement_ended: bool = False

    def add(self, other: MaskingTally) -> None:
        for entity, count in other.counts.items():
            self.counts[entity] = self.counts.get(entity, 0) + count
        for reason, count in other.failures.items():
            self.failures[reason] = self.failures.get(reason, 0) + count
        self.failed += other.failed
        self.statement_ended = self.statement_ended or other.statement_ended

    def __bool__(self) -> bool:
        return bool(self.counts) or self.failed > 0


class ValueMasker(Protocol):
    """Masks the values of one session's results, statement by statement.

    Every method either returns the value to send (masked where needed; a redaction
    marker if masking failed under on_failure "redact") or raises MaskingFailed (on_failure
    "error"). `column` is the result column's name ("" when unknown); it is both a column
    rule's key and context for recognisers (a column called `date_of_birth` is context
    for the date in it).
    """

    def mask_text(self, column: str, value: str) -> str:
        """A free-text value (text, varchar, name, xml, arrays and records in text form)."""
        ...

    def mask_json(self, column: str, value: str) -> str:
        """A JSON document's text: string values masked recursively; stays valid JSON."""
        ...

    def must_null(self, column: str, value: str) -> bool:
        """A typed value in its text form (a number, a date, an inet address) whose type
        cannot carry a marker: True when it holds something to mask, and the caller sends
        NULL instead. Counted like any other masked value."""
        ...

    def statement_finished(self) -> MaskingTally:
        """The tally since the last call (one statement's), and a fresh time budget. The
        proxy calls it when a statement finishes; protocol layers do not."""
        ...

    def session_tally(self) -> MaskingTally:
        """Everything masked in the session so far (for the session-end audit event)."""
        ...
