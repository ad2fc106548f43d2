"""Anthropic Messages: POST /v1/messages (and /v1/messages/count_tokens, same request).

A request's prompt is ``system`` (a string or text blocks) and the messages' content (a
string or blocks: text, tool_use input, tool_result content). Streamed as
``message_start`` (input tokens), ``content_block_start`` / ``content_block_delta``
(``text_delta``, ``input_json_delta``) / ``content_block_stop`` per block index,
``message_delta`` (stop_reason, output tokens) and ``message_stop``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable

from dataplane.llm.dialects.base import (
    Dialect,
    Visit,
    dicts,
    int_of,
    require_list,
    require_str,
    text_of,
    visit_field,
    visit_parts,
    visit_strings,
)
from dataplane.llm.json_types import JsonObject
from dataplane.llm.record import CallRecord, Piece

DELTA_FIELDS = {"text_delta": ("text", "text"), "input_json_delta": ("tool", "partial_json")}


class Messages(Dialect):
    name = "anthropic.messages"

    def check_request(self, body: JsonObject) -> None:
        require_str(body, "model")
        require_list(body, "messages")

    def mask_request(self, body: JsonObject, visit: Visit) -> None:
        visit_parts(body, "system", visit)
        for message in dicts(body.get("messages")):
            visit_parts(message, "content", visit)
            for block in dicts(message.get("content")):
                _mask_block(block, visit)

    def tool_names(self, body: JsonObject) -> list[str]:
        return [text_of(t.get("name")) for t in dicts(body.get("tools"))]

    def read_response(self, body: JsonObject, record: CallRecord) -> None:
        for index, block in enumerate(dicts(body.get("content"))):
            if block.get("type") == "tool_use":
                arguments = json.dumps(block.get("input", {}), ensure_ascii=False)
                record.tool(("tool", index), text_of(block.get("name")), arguments)
            elif isinstance(block.get("text"), str):
                record.text(("text", index), block["text"])
        _read_usage(body.get("usage"), record)
        record.finish_reason = text_of(body.get("stop_reason"))
        record.terminal = True

    def read_event(self, event: JsonObject, record: CallRecord) -> list[Piece]:
        kind = event.get("type")
        if kind == "content_block_delta":
            return _delta(event, record)
        if kind == "content_block_start":
            block = event.get("content_block")
            if isinstance(block, dict) and block.get("type") == "tool_use":
                record.tool(("tool", int_of(event.get("index"))), text_of(block.get("name")))
        elif kind == "message_start":
            message = event.get("message")
            if isinstance(message, dict):
                _read_usage(message.get("usage"), record)
        elif kind == "message_delta":
            _read_usage(event.get("usage"), record, input_tokens=False)
            delta = event.get("delta")
            if isinstance(delta, dict) and delta.get("stop_reason"):
                record.finish_reason = text_of(delta["stop_reason"])
        elif kind in ("message_stop", "error"):
            record.terminal = True
            record.finish_reason = "error" if kind == "error" else record.finish_reason
        return []

    def closes(self, event: JsonObject, pending: Iterable[Hashable]) -> Iterable[Hashable]:
        if event.get("type") != "content_block_stop":
            return ()
        index = int_of(event.get("index"))
        return [key for key in pending if isinstance(key, tuple) and key[1] == index]

    def ends_all(self, event: JsonObject) -> bool:
        return event.get("type") in ("message_delta", "message_stop", "error")

    def event_name(self, event: JsonObject) -> str:
        return text_of(event.get("type"))


def _mask_block(block: JsonObject, visit: Visit) -> None:
    kind = block.get("type")
    if kind == "text":
        visit_field(block, "text", visit)
    elif kind == "tool_use" and "input" in block:
        block["input"] = visit_strings(block["input"], visit)
    elif kind == "tool_result":
        visit_parts(block, "content", visit)


def _delta(event: JsonObject, record: CallRecord) -> list[Piece]:
    delta = event.get("delta")
    if not isinstance(delta, dict) or delta.get("type") not in DELTA_FIELDS:
        return []
    stream, field = DELTA_FIELDS[text_of(delta.get("type"))]
    text = delta.get(field)
    if not isinstance(text, str) or not text:
        return []
    key = (stream, int_of(event.get("index")))
    if stream == "text":
        record.text(key, text)
    else:
        record.tool(key, arguments=text)
    return [Piece(key, delta, field, stream == "tool", _flush(event, field))]


def _flush(event: JsonObject, field: str) -> Callable[[str], JsonObject]:
    delta = event.get("delta")
    kind = delta.get("type") if isinstance(delta, dict) else None

    def flush(text: str) -> JsonObject:
        return {**event, "delta": {"type": kind, field: text}}

    return flush


def _read_usage(usage: object, record: CallRecord, input_tokens: bool = True) -> None:
    if not isinstance(usage, dict):
        return
    if input_tokens:
        for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"):
            record.add_input_tokens(usage.get(key))
    record.set_output_tokens(usage.get("output_tokens"))
