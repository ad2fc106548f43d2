"""Placeholders given back their values in a response (reversible prompt privacy).

A complete response (or a whole event) has every string restored. A streamed text comes
in deltas and a placeholder may be cut across them (``"[EMAIL_"`` + ``"ADDRESS_1]"``), so
each stream of deltas (a choice's content, a tool call's arguments, a content block) keeps
back a trailing fragment that could still become a placeholder and puts it in front of its
next delta, or sends it when that stream ends.
"""

from __future__ import annotations

from collections.abc import Hashable

from dataplane.llm.json_types import JsonValue
from dataplane.llm.privacy import Placeholders

JSON_TEXT_KEYS = frozenset({"arguments", "partial_json"})  # strings that hold JSON text


def restore_json(value: JsonValue, placeholders: Placeholders) -> tuple[JsonValue, bool]:
    """`value` with its strings restored, and whether anything changed."""
    changed = False

    def walk(item: JsonValue, json_text: bool) -> JsonValue:
        nonlocal changed
        if isinstance(item, str):
            restored = placeholders.restore(item, json_text)
            changed = changed or restored != item
            return restored
        if isinstance(item, dict):
            return {k: walk(v, k in JSON_TEXT_KEYS) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v, json_text) for v in item]
        return item

    result = walk(value, False)
    return result, changed


class DeltaRestorer:
    """Restores deltas per stream key, holding back cut placeholders."""

    def __init__(self, placeholders: Placeholders) -> None:
        self.placeholders = placeholders
        self.pending: dict[Hashable, str] = {}  # key -> fragment held back

    def feed(self, key: Hashable, delta: str, json_text: bool = False) -> str:
        """What of `delta` (after what was held for `key`) can go to the caller now."""
        text = self.pending.pop(key, "") + delta
        cut = text.rfind("[")
        if cut >= 0 and "]" not in text[cut:] and self.placeholders.could_continue(text[cut:]):
            self.pending[key] = text[cut:]
            text = text[:cut]
        return self.placeholders.restore(text, json_text)

    def flush(self, key: Hashable) -> str:
        """What was held for `key` (its stream ended: the fragment was no placeholder)."""
        return self.pending.pop(key, "")
