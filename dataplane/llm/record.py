"""What one model call said, gathered from its response or its stream of events."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import NamedTuple

from dataplane.core.addons import ToolCall
from dataplane.llm.json_types import JsonObject


@dataclass
class ToolCallParts:
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class CallRecord:
    """Completion texts per stream key (a choice, a content block), tool calls, usage."""

    texts: dict[Hashable, list[str]] = field(default_factory=dict)
    tools: dict[Hashable, ToolCallParts] = field(default_factory=dict)
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str = ""
    terminal: bool = False  # the stream's last event (or the whole response) was read
    problems: list[str] = field(default_factory=list)  # upstream bytes that made no sense

    def text(self, key: Hashable, piece: str) -> None:
        self.texts.setdefault(key, []).append(piece)

    def tool(self, key: Hashable, name: str = "", arguments: str = "") -> None:
        parts = self.tools.setdefault(key, ToolCallParts())
        if name:
            parts.name = name
        if arguments:
            parts.arguments.append(arguments)

    def add_input_tokens(self, count: object) -> None:
        if isinstance(count, int) and not isinstance(count, bool):
            self.input_tokens = (self.input_tokens or 0) + count

    def set_output_tokens(self, count: object) -> None:
        if isinstance(count, int) and not isinstance(count, bool):
            self.output_tokens = count

    @property
    def completion(self) -> str:
        return "\n".join("".join(parts) for parts in self.texts.values())

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(ToolCall(t.name, "".join(t.arguments)) for t in self.tools.values())


class Piece(NamedTuple):
    """A streamed text delta inside an event: ``holder[field]`` for stream ``key``.

    ``flush`` builds an event that carries a held-back fragment of that stream on its own
    (sent before the event that ends the stream)."""

    key: Hashable
    holder: JsonObject
    field: str
    json_text: bool
    flush: Callable[[str], JsonObject]
