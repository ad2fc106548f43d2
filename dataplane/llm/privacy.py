"""What happens to the PII in a prompt before it goes upstream (PromptPrivacy).

- off: texts go as they are.
- mask: each detected value is replaced by the masking profile's strategy, one way.
- reversible: each detected value becomes a placeholder (``[EMAIL_ADDRESS_1]``), the same
  value the same placeholder within one call; `Placeholders` remembers them so the
  response can be given back with the real values.

Each text is scanned once with the profile's engine (or the default profile's: every
built-in entity, redacted); a short text the precheck proves clean is not scanned. A
text the engine fails on, or one too large to scan, goes up as ``[REDACTED]``: a prompt
never leaves with less masking than asked for.
"""

from __future__ import annotations

import json
import re

from dataplane.contract.snapshot import MaskingProfile, PromptPrivacy
from dataplane.masking.engine import Span, apply_spans
from dataplane.masking.profile import PROFILES, CompiledProfile
from dataplane.masking.strategies import REDACTED

# The profile a `mask` or `reversible` resource without its own masking profile gets.
DEFAULT_PROFILE = MaskingProfile(name="llm-prompt-default")
PLACEHOLDER = re.compile(r"\[[A-Za-z0-9_]+_[0-9]+\]")
FAILED = "FAILED"  # prompt_masked's entry for texts redacted whole


class PromptMasker:
    """Masks one call's prompt texts; ``counts`` tallies what was replaced per entity."""

    def __init__(self, privacy: str, profile: MaskingProfile | None, masking_key: bytes) -> None:
        self.privacy = privacy
        self.counts: dict[str, int] = {}
        self.placeholders = Placeholders()
        self._compiled: CompiledProfile | None = None
        if privacy != PromptPrivacy.OFF:
            self._compiled = PROFILES.compiled_or_unusable(
                profile or DEFAULT_PROFILE, masking_key.hex()
            )

    @property
    def usable(self) -> bool:
        """False when the profile could not be compiled: the call must be refused."""
        return self._compiled is None or self._compiled.usable

    def __call__(self, text: str) -> str:
        """The text as it may go upstream."""
        compiled = self._compiled
        if compiled is None or not text:
            return text
        if len(text.encode()) > compiled.max_value_bytes:
            return self._failed()
        if len(text) <= 64 and not compiled.precheck.might_match(text):
            return text
        try:
            spans = compiled.engine.scan(text)
            if not spans:
                return text
            if self.privacy == PromptPrivacy.REVERSIBLE:
                return self._placeholders(text, spans)
            result = apply_spans(text, spans, compiled.policy)
        except Exception:  # fail closed: the text goes up redacted whole
            return self._failed()
        self._count(result.counts)
        return result.text

    def _placeholders(self, text: str, spans: list[Span]) -> str:
        parts: list[str] = []
        position = 0
        for span in spans:
            value = text[span.start : span.end]
            parts += [text[position : span.start], self.placeholders.add(span.entity, value)]
            self._count({span.entity: 1})
            position = span.end
        parts.append(text[position:])
        return "".join(parts)

    def _failed(self) -> str:
        self._count({FAILED: 1})
        return REDACTED

    def _count(self, counts: dict[str, int]) -> None:
        for entity, count in counts.items():
            self.counts[entity] = self.counts.get(entity, 0) + count


class Placeholders:
    """The placeholders of one call and the values they stand for."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}  # placeholder -> value
        self._by_value: dict[tuple[str, str], str] = {}
        self._per_entity: dict[str, int] = {}
        self._prefixes: frozenset[str] | None = None

    def __bool__(self) -> bool:
        return bool(self.values)

    def add(self, entity: str, value: str) -> str:
        """The placeholder for `value` (the one it already has, or a new one)."""
        known = self._by_value.get((entity, value))
        if known is not None:
            return known
        number = self._per_entity.get(entity, 0) + 1
        self._per_entity[entity] = number
        placeholder = f"[{entity}_{number}]"
        self.values[placeholder] = value
        self._by_value[(entity, value)] = placeholder
        self._prefixes = None
        return placeholder

    def restore(self, text: str, json_text: bool = False) -> str:
        """`text` with every known placeholder replaced by its value; in `json_text` (a
        tool call's JSON arguments) the value is escaped as inside a JSON string."""
        if "[" not in text:
            return text
        values = self.values

        def value_of(match: re.Match[str]) -> str:
            value = values.get(match.group())
            if value is None:
                return match.group()
            return _json_escaped(value) if json_text else value

        return PLACEHOLDER.sub(value_of, text)

    def could_continue(self, fragment: str) -> bool:
        """True when `fragment` is the start of a placeholder, cut before its end."""
        if self._prefixes is None:
            self._prefixes = frozenset(p[:n] for p in self.values for n in range(1, len(p)))
        return fragment in self._prefixes


def _json_escaped(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]
