"""One session's ValueMasker: its compiled profile, its time budget and its tallies.

Every result value of a masked session passes through here, so the common case is kept
cheap: empty values and values the precheck proves cannot match skip the scan. Anything
that goes wrong (the engine raised, the statement's time budget ran out, the value is too
large to scan) fails the value: under on_failure "redact" it becomes `[REDACTED]` and is
counted; under "error" MaskingFailed ends the statement. A value never leaves unmasked.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from dataplane.contract import MaskingProfile
from dataplane.masking.engine import MaskResult
from dataplane.masking.profile import PROFILES, CompiledProfile
from dataplane.masking.strategies import REDACTED
from dataplane.masking.values import MaskingFailed, MaskingTally

Clock = Callable[[], float]
Masking = Callable[[str, str], MaskResult]  # (value, column) -> what it becomes

# Failure reasons, as counted in MaskingTally.failures and the masking.failed event.
ENGINE_ERROR = "error"
BUDGET_EXHAUSTED = "budget"
TOO_LARGE = "too_large"
PROFILE_UNUSABLE = "profile_unusable"

# A failed JSON value stays a JSON document: the marker as a JSON string.
JSON_REDACTED = json.dumps(REDACTED)


def masker_for(profile: MaskingProfile, key_hex: str) -> SessionMasker:
    """The MaskingAddon's factory: a session masker over the shared compiled profile (an
    uncompilable profile gives a masker that fails every value)."""
    return SessionMasker(PROFILES.compiled_or_unusable(profile, key_hex))


class SessionMasker:
    """ValueMasker for one session (see dataplane/masking/values.py for the contract)."""

    def __init__(self, compiled: CompiledProfile, clock: Clock = time.perf_counter) -> None:
        self.compiled = compiled
        self._clock = clock
        self._rules = compiled.engine.custom
        self._statement = MaskingTally()
        self._finished = MaskingTally()  # statements already handed out
        self._spent_s = 0.0

    # ValueMasker

    def mask_text(self, column: str, value: str) -> str:
        """Column rule: masked whole. Otherwise scanned, the column name as context."""
        if not value:
            return value
        entity = self._column_entity(column)
        if entity is not None:
            return self._whole(entity, value)
        result = self._scanned(value, column, self._engine_mask)
        return REDACTED if result is None else result

    def mask_json(self, column: str, value: str) -> str:
        """String values masked recursively; re-serialised compactly only when changed.

        Parsed only after the size cap, the budget and the precheck have had their say:
        a plain document is passed on unparsed."""
        if not value:
            return value
        entity = self._column_entity(column)
        if entity is not None:
            return json.dumps(self._whole(entity, value), ensure_ascii=False)
        masked = self._scanned(
            value, column, self._json_masked, precheck=self._json_precheck_applies(value)
        )
        return JSON_REDACTED if masked is None else masked

    def must_null(self, column: str, value: str) -> bool:
        """True when the typed value holds something to mask (or masking it failed)."""
        if not value:
            return False
        entity = self._column_entity(column)
        if entity is not None:
            self._count({entity: 1})
            return True
        return self._scanned(value, column, self._found) != value

    def statement_finished(self) -> MaskingTally:
        """The statement's tally; the next statement starts with a fresh time budget."""
        tally, self._statement, self._spent_s = self._statement, MaskingTally(), 0.0
        self._finished.add(tally)
        return tally

    def session_tally(self) -> MaskingTally:
        """Every statement so far, the one in progress included."""
        total = MaskingTally()
        total.add(self._finished)
        total.add(self._statement)
        return total

    # Scanning under the budget

    def _scanned(self, value: str, column: str, mask: Masking, precheck: bool = True) -> str | None:
        """`mask(value, column)` timed against the budget; None when the value failed
        under "redact"."""
        refusal = self._refusal(value)
        if refusal is not None:
            self._failed(refusal)
            return None
        if precheck and not self.compiled.precheck.might_match(value, column):
            return value
        started = self._clock()
        try:
            result = mask(value, column)
        except Exception:  # fail closed: whatever raised, the value is not passed on
            result = MaskResult(REDACTED, {}, failed=1)
        finally:
            self._spent_s += self._clock() - started
        if result.failed:
            self._failed(ENGINE_ERROR)
            return None
        self._count(result.counts)
        return result.text

    def _refusal(self, value: str) -> str | None:
        """Why the value fails unscanned, if it does."""
        if not self.compiled.usable:
            return PROFILE_UNUSABLE
        if self._spent_s > self.compiled.statement_budget_s:
            return BUDGET_EXHAUSTED
        if _utf8_length_over(value, self.compiled.max_value_bytes):
            return TOO_LARGE
        return None

    def _failed(self, reason: str) -> None:
        """Count a failed value; raise under "error", else the caller sends the marker."""
        tally = self._statement
        tally.failed += 1
        tally.failures[reason] = tally.failures.get(reason, 0) + 1
        if self.compiled.fails_with_error:
            tally.statement_ended = True
            raise MaskingFailed(reason)

    # The engine

    def _engine_mask(self, value: str, column: str) -> MaskResult:
        return self.compiled.engine.mask(value, self.compiled.policy, context=column)

    def _found(self, value: str, column: str) -> MaskResult:
        """A typed value is not rewritten: any span means NULL (a changed text says so)."""
        spans = self.compiled.engine.scan(value, column)
        counts: dict[str, int] = {}
        for span in spans:
            counts[span.entity] = counts.get(span.entity, 0) + 1
        return MaskResult(REDACTED if spans else value, counts)

    def _json_masked(self, original: str, column: str) -> MaskResult:
        """A nesting too deep to parse raises RecursionError: the value fails."""
        try:
            document = json.loads(original)
        except ValueError:  # not JSON after all: masked as text
            return self._engine_mask(original, column)
        engine, policy = self.compiled.engine, self.compiled.policy
        result = engine.mask_json(document, policy, context=column)
        if not result.counts and not result.failed:
            return MaskResult(original, {})  # nothing masked: the server's own text
        text = json.dumps(result.value, ensure_ascii=False, separators=(",", ":"))
        return MaskResult(text, result.counts, result.failed)

    def _json_precheck_applies(self, value: str) -> bool:
        """The precheck reads the document's text, which speaks for its strings (and holds
        every key, each string's context) unless key-path rules mask by key or escapes
        hide characters (`\\u0040` is `@`)."""
        return not self._rules.json_key_rules and "\\" not in value

    # Rules and counts

    def _column_entity(self, column: str) -> str | None:
        if not column or not self._rules.column_rules:
            return None
        return self._rules.column_entity(column)

    def _whole(self, entity: str, value: str) -> str:
        """A column rule's value: masked whole by the entity's strategy, whatever it holds."""
        if not self.compiled.usable:
            self._failed(PROFILE_UNUSABLE)
            return REDACTED
        try:
            masked = self.compiled.policy.apply(entity, value)
        except Exception:  # fail closed
            self._failed(ENGINE_ERROR)
            return REDACTED
        self._count({entity: 1})
        return masked

    def _count(self, counts: dict[str, int]) -> None:
        tally = self._statement.counts
        for entity, count in counts.items():
            tally[entity] = tally.get(entity, 0) + count


def _utf8_length_over(value: str, limit: int) -> bool:
    """Whether the value's UTF-8 form is longer than `limit`, encoding only when unsure."""
    if len(value) > limit:
        return True
    if len(value) * 4 <= limit:
        return False
    return len(value.encode("utf-8", errors="surrogatepass")) > limit
