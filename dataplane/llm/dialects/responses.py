"""OpenAI Responses API: POST /v1/responses.

A request's prompt is ``instructions`` and ``input`` (a string, or items: messages with
string or part content, function calls and their outputs). Streamed as typed events:
``response.output_text.delta`` (per output item and content part),
``response.function_call_arguments.delta``, and ``response.completed`` (or ``.incomplete``,
``.failed``) carrying the whole response with its usage.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable

from dataplane.llm.dialects.base import (
    Dialect,
    Visit,
    dicts,
    int_of,
    require_str,
    text_of,
    visit_field,
    visit_parts,
)
from dataplane.llm.json_types import JsonObject
from dataplane.llm.record import CallRecord, Piece

ENDINGS = frozenset({"response.completed", "response.incomplete", "response.failed", "error"})


class Responses(Dialect):
    name = "openai.responses"

    def check_request(self, body: JsonObject) -> None:
        require_str(body, "model")

    def mask_request(self, body: JsonObject, visit: Visit) -> None:
        visit_field(body, "instructions", visit)
        if isinstance(body.get("input"), str):
            body["input"] = visit(body["input"])
            return
        for item in dicts(body.get("input")):
            visit_parts(item, "content", visit)
            visit_field(item, "arguments", visit)
            visit_parts(item, "output", visit)

    def tool_names(self, body: JsonObject) -> list[str]:
        return [text_of(t.get("name")) or text_of(t.get("type")) for t in dicts(body.get("tools"))]

    def read_response(self, body: JsonObject, record: CallRecord) -> None:
        for index, item in enumerate(dicts(body.get("output"))):
            if item.get("type") == "function_call":
                record.tool(
                    ("tool", index), text_of(item.get("name")), text_of(item.get("arguments"))
                )
            for part_index, part in enumerate(dicts(item.get("content"))):
                if isinstance(part.get("text"), str):
                    record.text(("text", index, part_index), part["text"])
        _read_ending(body, record)

    def read_event(self, event: JsonObject, record: CallRecord) -> list[Piece]:
        kind = event.get("type")
        if kind == "response.output_text.delta":
            return _text_delta(event, record)
        if kind == "response.function_call_arguments.delta":
            return _arguments_delta(event, record)
        if kind == "response.output_item.added":
            item = event.get("item")
            if isinstance(item, dict) and item.get("type") == "function_call":
                record.tool(("tool", int_of(event.get("output_index"))), text_of(item.get("name")))
        elif kind in ENDINGS:
            response = event.get("response")
            _read_ending(response if isinstance(response, dict) else {}, record)
            if kind == "error":
                record.finish_reason = "error"
        return []

    def closes(self, event: JsonObject, pending: Iterable[Hashable]) -> Iterable[Hashable]:
        kind = event.get("type")
        if not isinstance(kind, str) or not kind.endswith(".done"):
            return ()
        index = int_of(event.get("output_index"))
        return [key for key in pending if isinstance(key, tuple) and key[1] == index]

    def ends_all(self, event: JsonObject) -> bool:
        return event.get("type") in ENDINGS

    def event_name(self, event: JsonObject) -> str:
        return text_of(event.get("type"))


def _text_delta(event: JsonObject, record: CallRecord) -> list[Piece]:
    delta = event.get("delta")
    if not isinstance(delta, str) or not delta:
        return []
    key = ("text", int_of(event.get("output_index")), int_of(event.get("content_index")))
    record.text(key, delta)
    return [Piece(key, event, "delta", False, _flush(event))]


def _arguments_delta(event: JsonObject, record: CallRecord) -> list[Piece]:
    delta = event.get("delta")
    if not isinstance(delta, str) or not delta:
        return []
    key = ("tool", int_of(event.get("output_index")))
    record.tool(key, arguments=delta)
    return [Piece(key, event, "delta", True, _flush(event))]


def _flush(event: JsonObject) -> Callable[[str], JsonObject]:
    template = {k: v for k, v in event.items() if k != "logprobs"}

    def flush(text: str) -> JsonObject:
        return {**template, "delta": text}

    return flush


def _read_ending(response: JsonObject, record: CallRecord) -> None:
    usage = response.get("usage")
    if isinstance(usage, dict):
        record.add_input_tokens(usage.get("input_tokens"))
        record.set_output_tokens(usage.get("output_tokens"))
    details = response.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, dict) else None
    record.finish_reason = text_of(reason) or text_of(response.get("status"))
    record.terminal = True
