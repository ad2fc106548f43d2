"""Detection and masking of one text, one column value or one JSON document.

Fail closed: if recognising or masking a value raises, the whole value becomes
`[REDACTED]` and the result counts it in `failed`; an unmasked value is never returned.
"""

import importlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence, Set
from dataclasses import dataclass, field
from typing import NamedTuple, cast

from dataplane.masking.custom import DENY_LIST_ENTITY, CustomRules
from dataplane.masking.recognizer import Recognizer
from dataplane.masking.scanner import Candidate, Scanner, default_scanner
from dataplane.masking.strategies import REDACTED, MaskingPolicy

CONTEXT_WINDOW = 100  # characters before a match searched for context words
CONTEXT_BOOST = 0.1
JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]


class Span(NamedTuple):
    """One detected value (character offsets). A named tuple, like Candidate: every masked
    value builds one, and a tuple costs a fraction of a frozen dataclass's `__init__`;
    equality and order are the fields' in this order, as the dataclass had them."""

    entity: str
    start: int
    end: int
    score: float
    recognizer: str


@dataclass
class MaskResult:
    text: str
    counts: dict[str, int] = field(default_factory=dict)
    failed: int = 0


@dataclass
class JsonMaskResult:
    value: JsonValue
    counts: dict[str, int] = field(default_factory=dict)
    failed: int = 0


def registry() -> tuple[Recognizer, ...]:
    """The shared ordered registry, imported late so this module loads on its own."""
    module = importlib.import_module("dataplane.masking.recognizers")
    return cast(tuple[Recognizer, ...], module.RECOGNIZERS)


def resolve(spans: Iterable[Span]) -> list[Span]:
    """Non-overlapping spans: higher score wins, then longer, then earlier, then by name."""
    given = list(spans)
    if len(given) < 2:  # most values: nothing to rank
        return given
    ranked = sorted(given, key=lambda s: (-s.score, s.start - s.end, s.start, s.recognizer))
    kept: list[Span] = []
    for span in ranked:
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


class MaskingEngine:
    def __init__(
        self,
        recognizers: Sequence[Recognizer] | None = None,
        *,
        scanner: Scanner | None = None,
        custom: CustomRules | None = None,
        min_score: float = 0.5,
    ) -> None:
        self.custom = custom or CustomRules()
        base = registry() if recognizers is None else tuple(recognizers)
        self.recognizers = (*base, *self.custom.regexes)
        self.scanner = scanner or default_scanner(self.recognizers)
        self.min_score = min_score
        self._deny = self.custom.deny_list_pattern()
        self._gate = _ContextGate(self.recognizers)

    # Detection

    def scan(self, text: str, context: str = "") -> list[Span]:
        """Validated, context-scored, overlap-resolved spans (character offsets).

        `context` is a label the text came with (a column name, a JSON key): it counts as
        written just before the text, so a column `date_of_birth` labels the date in it.
        A pattern that counts only beside a context word is not even run when none of its
        words is in the label or the text (see `_ContextGate`).
        """
        labelled = _Labelled(text, context)
        unneeded = self._gate.unneeded(text, context)
        found = self.scanner.candidates(text, unneeded)
        spans = [s for c in found if (s := self._span(labelled, c))]
        if self._deny is not None:
            spans += self._deny_spans(text)
        return resolve(spans)

    def _span(self, labelled: "_Labelled", candidate: Candidate) -> Span | None:
        index, start, end = candidate
        rec = self.recognizers[index]
        value = labelled.text[start:end]
        if rec.normalise is not None:
            value = rec.normalise(value)
        if rec.validator is not None and not rec.validator(value):
            return None
        has_context = bool(rec.context) and labelled.has_context(rec, start)
        if rec.context_required and not has_context:
            return None
        score = min(1.0, rec.score + CONTEXT_BOOST if has_context else rec.score)
        if score < self.min_score:
            return None
        return Span(rec.entity, start, end, score, rec.name)

    def _deny_spans(self, text: str) -> list[Span]:
        if self._deny is None:
            return []
        found = self._deny.finditer(text)
        return [Span(DENY_LIST_ENTITY, m.start(), m.end(), 1.0, "deny_list") for m in found]

    # Masking

    def mask(self, text: str, policy: MaskingPolicy | None = None, context: str = "") -> MaskResult:
        """The text with every detected value replaced; `[REDACTED]` whole if anything fails.

        `context`: the text's label (column name), read for context words only."""
        policy = policy or MaskingPolicy()
        try:
            return apply_spans(text, self.scan(text, context), policy)
        except Exception:  # fail closed on any recogniser or strategy error
            return MaskResult(REDACTED, {}, failed=1)

    def mask_column(
        self, column_name: str, value: str, policy: MaskingPolicy | None = None
    ) -> MaskResult:
        """A column named by a column rule is masked whole; others are scanned."""
        entity = self.custom.column_entity(column_name)
        if entity is None:
            return self.mask(value, policy)
        return self._mask_whole(entity, value, policy or MaskingPolicy())

    def _mask_whole(self, entity: str, value: str, policy: MaskingPolicy) -> MaskResult:
        try:
            return MaskResult(policy.apply(entity, value), {entity: 1})
        except Exception:  # fail closed
            return MaskResult(REDACTED, {}, failed=1)

    def mask_json(
        self, value: JsonValue, policy: MaskingPolicy | None = None, context: str = ""
    ) -> JsonMaskResult:
        """String values masked recursively, JSON inside strings too; key-path rules apply.

        A string's context is its own key (`{"dob": "1985-01-02"}`), else `context`."""
        result = JsonMaskResult(None)
        result.value = self._json(value, "", policy or MaskingPolicy(), result, context)
        return result

    def _json(
        self,
        value: JsonValue,
        path: str,
        policy: MaskingPolicy,
        acc: JsonMaskResult,
        context: str = "",
    ) -> JsonValue:
        entity = self.custom.key_entity(path) if path else None
        if entity is not None and value is not None:
            text = value if isinstance(value, str) else json.dumps(value)
            return _merge(acc, self._mask_whole(entity, text, policy))
        if isinstance(value, dict):
            return {
                k: self._json(v, _join(path, k), policy, acc, context) for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._json(v, path, policy, acc, context) for v in value]
        if isinstance(value, str):
            return self._json_string(value, path, policy, acc, context)
        return value

    def _json_string(
        self, value: str, path: str, policy: MaskingPolicy, acc: JsonMaskResult, context: str
    ) -> str:
        inner = _embedded_json(value)
        if inner is None:
            label = path.rsplit(".", 1)[-1] if path else context
            return _merge(acc, self.mask(value, policy, label))
        return json.dumps(self._json(inner, path, policy, acc, context), ensure_ascii=False)


def apply_spans(text: str, spans: Sequence[Span], policy: MaskingPolicy) -> MaskResult:
    """Replace each span (sorted, non-overlapping) by its strategy's output."""
    if not spans:
        return MaskResult(text, {})
    if len(spans) == 1:  # most masked values
        span = spans[0]
        masked = policy.apply(span.entity, text[span.start : span.end])
        return MaskResult(text[: span.start] + masked + text[span.end :], {span.entity: 1})
    parts: list[str] = []
    counts: dict[str, int] = {}
    position = 0
    for span in spans:
        parts += [
            text[position : span.start],
            policy.apply(span.entity, text[span.start : span.end]),
        ]
        counts[span.entity] = counts.get(span.entity, 0) + 1
        position = span.end
    parts.append(text[position:])
    return MaskResult("".join(parts), counts)


class _ContextGate:
    """Which context-gated patterns a text cannot need: those none of whose words is in the
    lowered label and text. A gated pattern's match counts only with a word in the window
    before it (`_span`), so skipping it changes no span; a cheap search for every gated
    word at once rules them all out for most values.

    Only words that are ASCII and hold no ": " are trusted here (as in the precheck):
    lowering part of a text then gives what lowering the whole gives, and no word can
    straddle the label and the text. Other gated patterns always run.
    """

    def __init__(self, recognizers: Sequence[Recognizer]) -> None:
        self._words = {
            i: _any_of(tuple(w.lower() for w in r.context))
            for i, r in enumerate(recognizers)
            if _skippable(r)
        }
        self.gated = frozenset(self._words)
        every = {w.lower() for i in self._words for w in recognizers[i].context}
        self._every = _any_of(tuple(sorted(every)))
        self._by_label: dict[str, frozenset[int]] = {}

    def unneeded(self, text: str, label: str) -> "_Unneeded":
        """Worked out only when the scanner asks about a gated pattern: most values never
        reach one."""
        return _Unneeded(self, text, label)

    def words_absent(self, text: str, label: str) -> frozenset[int]:
        """The gated patterns with none of their words in the lowered label or text."""
        lowered = text.lower()
        in_label = self._in_label(label)
        if self._every.search(lowered) is None:
            return self.gated - in_label
        return frozenset(
            i
            for i, words in self._words.items()
            if i not in in_label and words.search(lowered) is None
        )

    def _in_label(self, label: str) -> frozenset[int]:
        """The gated patterns with a word in the label: column names repeat on every row,
        so the answer is kept per label (a few hundred at most; labels are no values)."""
        found = self._by_label.get(label)
        if found is None:
            labelled = f"{label}: ".lower() if label else ""
            found = frozenset(i for i, w in self._words.items() if w.search(labelled))
            if len(self._by_label) >= _LABELS_KEPT:
                self._by_label.clear()
            self._by_label[label] = found
        return found


_LABELS_KEPT = 512


class _Unneeded(Set[int]):
    """The gated patterns a text cannot need, as a set the scanner tests indices against."""

    __slots__ = ("_absent", "_gate", "_label", "_text")

    def __init__(self, gate: _ContextGate, text: str, label: str) -> None:
        self._gate, self._text, self._label = gate, text, label
        self._absent: frozenset[int] | None = None

    def __contains__(self, index: object) -> bool:
        if index not in self._gate.gated:
            return False
        if self._absent is None:
            self._absent = self._gate.words_absent(self._text, self._label)
        return index in self._absent

    def __iter__(self) -> Iterator[int]:
        return iter(self._gate.words_absent(self._text, self._label))

    def __len__(self) -> int:
        return len(self._gate.words_absent(self._text, self._label))


def _skippable(rec: Recognizer) -> bool:
    words = rec.context
    return rec.context_required and all(w.isascii() and ": " not in w for w in words)


def _any_of(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(w) for w in words) or "(?!)")  # (?!): never


class _Labelled:
    """A text with its label: context is looked up as if the label were written before it.

    An ASCII text and label are lowered once, whole, and each window is a slice of that:
    ASCII lowers character by character, so the slice is what lowering the window gives.
    Other text lowers each window on its own (a final sigma lowers by what follows it).
    """

    __slots__ = ("_label", "_lowered", "text")

    def __init__(self, text: str, label: str) -> None:
        self.text = text
        self._label = f"{label}: " if label else ""
        self._lowered: str | None = None

    def has_context(self, rec: Recognizer, start: int) -> bool:
        if self.text.isascii() and self._label.isascii():
            return rec.labels_window(self._ascii_window(start))
        if not self._label or start >= CONTEXT_WINDOW:  # no label, or it is out of reach
            return rec.has_context(self.text, start, CONTEXT_WINDOW)
        before = self._label + self.text[:start]
        return rec.has_context(before, len(before), CONTEXT_WINDOW)

    def _ascii_window(self, start: int) -> str:
        """The lowered CONTEXT_WINDOW characters of label and text before `start`."""
        if self._lowered is None:
            self._lowered = (self._label + self.text).lower()
        end = len(self._label) + start
        return self._lowered[max(0, end - CONTEXT_WINDOW) : end]


def _has_context(text: str, start: int, words: tuple[str, ...]) -> bool:
    if not words:
        return False
    before = text[max(0, start - CONTEXT_WINDOW) : start].lower()
    return any(word.lower() in before for word in words)


def _embedded_json(value: str) -> dict[str, JsonValue] | list[JsonValue] | None:
    stripped = value.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        parsed = json.loads(stripped)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict | list) else None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _merge(acc: JsonMaskResult, result: MaskResult) -> str:
    for entity, count in result.counts.items():
        acc.counts[entity] = acc.counts.get(entity, 0) + count
    acc.failed += result.failed
    return result.text
