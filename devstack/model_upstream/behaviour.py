"""What the fake model says, independent of the provider's wire format.

The answer is deterministic so tests can predict it: "Echo: <last user message text>". When
the request offers tools and the last user message asks about the "weather", the model calls
the first tool with ``{"city": "<the word after 'in'>"}`` instead.

Token usage is counted as whitespace-separated words (``len(text.split())``): the prompt
counts every message's text, the completion counts the answer text (or the tool call's
JSON arguments). Real tokenizers differ; tests only need stable, plausible numbers.

Behaviour triggers are substrings of the requested model name, checked in this order:
"error-429" (rate limited, with retry-after), "error-500" (server error), "slow-stream"
(0.2 s between stream chunks), "cut-stream" (the stream stops half-way without its terminal
event and the connection is closed), "slow" (5 s before answering).
"""

from __future__ import annotations

import enum
import itertools
import json
import re
from dataclasses import dataclass

ECHO_PREFIX = "Echo: "
# Every placeholder the masking engine writes ("[EMAIL_ADDRESS_1]") is longer than this, so
# a streamed answer always cuts it across deltas: the gateway must restore it across them.
DELTA_CHARS = 4
SLOW_STREAM_GAP_S = 0.2
SLOW_ANSWER_S = 5.0
RETRY_AFTER_S = 1

_ids = itertools.count(1)


class Trigger(enum.Enum):
    NONE = "none"
    RATE_LIMITED = "error-429"
    SERVER_ERROR = "error-500"
    SLOW_STREAM = "slow-stream"
    CUT_STREAM = "cut-stream"
    SLOW = "slow"


def trigger_for(model: object) -> Trigger:
    """The behaviour a model name asks for (see the module docstring)."""
    name = model if isinstance(model, str) else ""
    for trigger in Trigger:
        if trigger is not Trigger.NONE and trigger.value in name:
            return trigger
    return Trigger.NONE


@dataclass(frozen=True)
class ToolCall:
    call_id: str
    name: str
    arguments: dict[str, str]

    @property
    def arguments_json(self) -> str:
        return json.dumps(self.arguments)


@dataclass(frozen=True)
class Answer:
    """The model's turn: either text or one tool call, with word-count usage."""

    text: str
    tool_call: ToolCall | None
    prompt_words: int

    @property
    def completion_words(self) -> int:
        if self.tool_call is not None:
            return count_words(self.tool_call.arguments_json)
        return count_words(self.text)


def count_words(text: str) -> int:
    return len(text.split())


def next_id(prefix: str) -> str:
    """A fresh id like the provider's ("chatcmpl-…", "msg_…"); unique per server process."""
    return f"{prefix}{next(_ids):012d}"


def answer(
    *, last_user_text: str, prompt_text: str, tool_names: list[str], call_prefix: str
) -> Answer:
    """Echo the last user message, or call the first tool when asked about the weather."""
    prompt_words = count_words(prompt_text)
    if tool_names and "weather" in last_user_text.lower():
        call = ToolCall(next_id(call_prefix), tool_names[0], {"city": city_in(last_user_text)})
        return Answer("", call, prompt_words)
    return Answer(ECHO_PREFIX + last_user_text, None, prompt_words)


def city_in(text: str) -> str:
    """The word after "in" ("weather in Paris?" -> "Paris"), or "" when there is none."""
    match = re.search(r"\bin\s+([^\s]+)", text, flags=re.IGNORECASE)
    return match.group(1).strip(".,;:!?\"'") if match else ""


def pieces(text: str, size: int = DELTA_CHARS) -> list[str]:
    """`text` in deltas of `size` characters (at least one, possibly empty, piece)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def text_of(content: object, *, part_types: tuple[str, ...]) -> str:
    """The text of a message's content: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") in part_types
        ]
        return "\n".join(texts)
    return ""
