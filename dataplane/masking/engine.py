"""Detection and masking of one text, one column value or one JSON document.

Fail closed: if recognising or masking a value raises, the whole value becomes
`[REDACTED]` and the result counts it in `failed`; an unmasked value is never returned.
"""

import importlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast

from dataplane.masking.custom import DENY_LIST_ENTITY, CustomRules
from dataplane.masking.recognizer import Recognizer
from dataplane.masking.scanner import Candidate, Scanner, default_scanner
from dataplane.masking.strategies import REDACTED, MaskingPolicy

CONTEXT_WINDOW = 100  # characters before a match searched for context words
CONTEXT_BOOST = 0.1
JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]


@dataclass(frozen=True, order=True)
class Span:
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
    ranked = sorted(spans, key=lambda s: (-s.score, s.start - s.end, s.start, s.recognizer))
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

    # Detection

    def scan(self, text: str, context: str = "") -> list[Span]:
        """Validated, context-scored, overlap-resolved spans (character offsets).

        `context` is a label the text came with (a column name, a JSON key): it counts as
        written just before the text, so a column `date_of_birth` labels the date in it.
        """
        labelled = _Labelled(text, context)
        spans = [s for c in self.scanner.candidates(text) if (s := self._span(labelled, c))]
        return resolve([*spans, *self._deny_spans(text)])

    def _span(self, labelled: "_Labelled", candidate: Candidate) -> Span | None:
        rec = self.recognizers[candidate.recognizer_index]
        value = labelled.text[candidate.start : candidate.end]
        if rec.normalise is not None:
            value = rec.normalise(value)
        if rec.validator is not None and not rec.validator(value):
            return None
        has_context = bool(rec.context) and labelled.has_context(rec, candidate.start)
        if rec.context_required and not has_context:
            return None
        score = min(1.0, rec.score + (CONTEXT_BOOST if has_context else 0.0))
        if score < self.min_score:
            return None
        return Span(rec.entity, candidate.start, candidate.end, score, rec.name)

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


class _Labelled:
    """A text with its label: context is looked up as if the label were written before it."""

    __slots__ = ("_label", "text")

    def __init__(self, text: str, label: str) -> None:
        self.text = text
        self._label = f"{label}: " if label else ""

    def has_context(self, rec: Recognizer, start: int) -> bool:
        if not self._label or start >= CONTEXT_WINDOW:  # no label, or it is out of reach
            return rec.has_context(self.text, start, CONTEXT_WINDOW)
        before = self._label + self.text[:start]
        return rec.has_context(before, len(before), CONTEXT_WINDOW)


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
