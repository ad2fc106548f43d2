"""A cheap test that a short value cannot hold anything to mask, so the scan is skipped.

Most result values are short and plain (a name, a city, a status, an amount), and the
engine's scan costs a few microseconds even when it finds nothing. The precheck is exact,
never a heuristic: it says "no" only when no recogniser's pattern can match, read from the
patterns themselves.

- Every match of a pattern is at least `min_width` characters long, so a value shorter
  than that cannot hold one.
- Every match contains the pattern's anchor (`scanner.anchor_of`: a run of characters
  every match must contain, `@` for an email, a digit for a card, `eyJ` for a JWT), so
  it contains the anchor's literal part when it has one, else at least one character of
  each position's class, and of each class the pattern requires anywhere
  (`scanner.required_classes`); the precheck keeps the rarest class.

For a value of length n, the triggers are those of the patterns at most n characters
wide; a value holding none of their characters or literals has no candidate at all.
- A pattern whose matches count only beside a context word (`context_required`: a
  passport number, a date of birth) is ignored when neither the value nor its label (the
  column name) holds one of its words: it can match, but the engine would drop it. A
pattern without an anchor (case-insensitive, `\\d`...) makes every value a possible match.
The deny list runs its own regex. `tests/dataplane/masking/test_precheck.py` checks the
claim against the scanner over the benchmark corpus.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import NamedTuple

from dataplane.masking.recognizer import Recognizer
from dataplane.masking.scanner import Anchor, anchor_of, required_classes

# Above this length a value almost always holds a trigger character, and walking it costs
# about what the Hyperscan pass does: scan it directly.
PRECHECK_MAX_LENGTH = 64


class Precheck:
    def __init__(self, recognizers: Sequence[Recognizer], deny: re.Pattern[str] | None) -> None:
        self._deny = deny
        triggers = [_trigger(rec.pattern) for rec in recognizers]
        self._always = any(t is None for t in triggers)
        plain = [t for t, r in zip(triggers, recognizers, strict=True) if not _gated(r)]
        self._by_length = _triggers_by_length([t for t in plain if t is not None])
        gated = [
            _Gated(t, tuple(w.lower() for w in r.context))
            for t, r in zip(triggers, recognizers, strict=True)
            if t is not None and _gated(r)
        ]
        self._gated_by_length = [
            tuple(g for g in gated if g.trigger.width <= length)
            for length in range(PRECHECK_MAX_LENGTH + 1)
        ]
        self._gated_triggers = _triggers_by_length([g.trigger for g in gated])

    def might_match(self, value: str, label: str = "") -> bool:
        """False only when the engine would find nothing in `value` labelled `label` (the
        column name the engine gets as context): no deny-list term, no pattern's match, and
        for a pattern that needs a context word, no such word in the label or the value."""
        if self._always or len(value) > PRECHECK_MAX_LENGTH:
            return True
        if self._deny is not None and self._deny.search(value) is not None:
            return True
        chars, literals = self._by_length[len(value)]
        if not chars.isdisjoint(value):
            return True
        if literals and _holds_any(value, literals):
            return True
        gated_chars, gated_literals = self._gated_triggers[len(value)]
        if gated_chars.isdisjoint(value) and not _holds_any(value, gated_literals):
            return False  # no gated pattern's trigger either: no need to look for words
        for gated in self._gated_by_length[len(value)]:
            if _hits(gated.trigger, value) and gated.has_word(value, label):
                return True
        return False


class _Gated(NamedTuple):
    trigger: _Trigger
    words: tuple[str, ...]  # lower case

    def has_word(self, value: str, label: str) -> bool:
        """A context word in `label + ": " + value`, lowered as the engine does. No word
        holds ": " (see _gated), so each lies in the label part or in the value."""
        labelled = f"{label}: ".lower() if label else ""
        lowered = value.lower()
        return any(word in labelled or word in lowered for word in self.words)


def _gated(rec: Recognizer) -> bool:
    """A pattern whose matches count only beside a context word the precheck can look for.

    Its words must be ASCII (lowering a part of a text then lowers them as the whole) and
    hold no ": " (so none can straddle the label and the value)."""
    words = rec.context
    return rec.context_required and all(w.isascii() and ": " not in w for w in words)


def _holds_any(value: str, literals: tuple[str, ...]) -> bool:
    """A loop, not any() over a generator: this runs for every short value."""
    for literal in literals:  # noqa: SIM110
        if literal in value:
            return True
    return False


def _hits(trigger: _Trigger, value: str) -> bool:
    if trigger.literal:
        return trigger.literal in value
    return not trigger.chars.isdisjoint(value)


class _Trigger(NamedTuple):
    """What every match of one pattern holds: `width` characters at least, and either a
    literal substring (a run of single-character positions of its anchor, `eyJ`) or one
    character of a class."""

    width: int
    literal: str
    chars: frozenset[str]


def _trigger(pattern: str) -> _Trigger | None:
    """None when the pattern has no anchor: then any value might match."""
    anchor = anchor_of(pattern)
    if anchor is None or not anchor.runs:
        return None
    width = int(sre_parse.parse(pattern).getwidth()[0])
    literal = _longest_literal(anchor.runs)
    if len(literal) >= 2:
        return _Trigger(width, literal, frozenset())
    # Classes required anywhere in a match count too: a MAC address needs `:`, `-` or `.`
    # (its anchor, merged over its two forms, asks only for a hex digit).
    classes = [*anchor.runs, *required_classes(pattern)]
    return _Trigger(width, "", min(classes, key=_ordinariness))


def _longest_literal(runs: tuple[frozenset[str], ...]) -> str:
    """The longest stretch of consecutive positions that each allow one character."""
    best, current = "", ""
    for chars in runs:
        current = current + next(iter(chars)) if len(chars) == 1 else ""
        best = max(best, current, key=len)
    return best


def _ordinariness(chars: frozenset[str]) -> float:
    """How often ordinary text holds one of these characters: the rarest class is kept."""
    return Anchor((chars,), 0).rarity()


_ByLength = tuple[frozenset[str], tuple[str, ...]]


def _triggers_by_length(triggers: list[_Trigger]) -> list[_ByLength]:
    """Index n: the trigger characters and literals of the patterns that fit n characters."""
    table: list[_ByLength] = []
    for length in range(PRECHECK_MAX_LENGTH + 1):
        fitting = [t for t in triggers if t.width <= length]
        chars = frozenset().union(*(t.chars for t in fitting))
        literals = tuple(sorted({t.literal for t in fitting if t.literal}))
        table.append((chars, literals))
    return table
