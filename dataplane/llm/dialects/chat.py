"""OpenAI Chat Completions: POST /v1/chat/completions.

Streamed as ``data: {chat.completion.chunk}`` events ended by ``data: [DONE]``; a choice's
text comes in ``choices[i].delta.content``, tool calls in ``delta.tool_calls[k]`` (name
first, arguments in pieces), usage in a last chunk with no choices (stream_options
include_usage).
"""

from __future__ import annotations

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
)
from dataplane.llm.json_types import JsonObject
from dataplane.llm.record import CallRecord, Piece


class ChatCompletions(Dialect):
    name = "openai.chat"
    done_marker = "[DONE]"

    def check_request(self, body: JsonObject) -> None:
        require_str(body, "model")
        require_list(body, "messages")

    def mask_request(self, body: JsonObject, visit: Visit) -> None:
        for message in dicts(body.get("messages")):
            visit_parts(message, "content", visit)
            for call in dicts(message.get("tool_calls")):
                visit_field(call.get("function"), "arguments", visit)
            visit_field(message.get("function_call"), "arguments", visit)

    def tool_names(self, body: JsonObject) -> list[str]:
        functions = [t.get("function") for t in dicts(body.get("tools"))]
        return [text_of(f.get("name")) for f in functions if isinstance(f, dict)]

    def read_response(self, body: JsonObject, record: CallRecord) -> None:
        for choice in dicts(body.get("choices")):
            index = int_of(choice.get("index"))
            message = choice.get("message")
            if isinstance(message, dict):
                _read_message(message, index, record)
            record.finish_reason = record.finish_reason or text_of(choice.get("finish_reason"))
        _read_usage(body, record)
        record.terminal = True

    def read_event(self, event: JsonObject, record: CallRecord) -> list[Piece]:
        pieces: list[Piece] = []
        for choice in dicts(event.get("choices")):
            index = int_of(choice.get("index"))
            delta = choice.get("delta")
            if isinstance(delta, dict):
                pieces += _read_delta(event, delta, index, record)
            record.finish_reason = record.finish_reason or text_of(choice.get("finish_reason"))
        _read_usage(event, record)
        return pieces

    def closes(self, event: JsonObject, pending: Iterable[Hashable]) -> Iterable[Hashable]:
        ended = {
            int_of(c.get("index")) for c in dicts(event.get("choices")) if c.get("finish_reason")
        }
        return [key for key in pending if isinstance(key, tuple) and key[1] in ended]


def _read_message(message: JsonObject, index: int, record: CallRecord) -> None:
    content = message.get("content")
    if isinstance(content, str):
        record.text(("content", index), content)
    for k, call in enumerate(dicts(message.get("tool_calls"))):
        function = call.get("function")
        if isinstance(function, dict):
            name, arguments = text_of(function.get("name")), text_of(function.get("arguments"))
            record.tool(("tool", index, k), name, arguments)


def _read_delta(
    chunk: JsonObject, delta: JsonObject, index: int, record: CallRecord
) -> list[Piece]:
    pieces: list[Piece] = []
    content = delta.get("content")
    if isinstance(content, str) and content:
        record.text(("content", index), content)
        flush = _flush_content(chunk, index)
        pieces.append(Piece(("content", index), delta, "content", False, flush))
    for call in dicts(delta.get("tool_calls")):
        k = int_of(call.get("index"))
        function = call.get("function")
        if not isinstance(function, dict):
            continue
        key = ("tool", index, k)
        arguments = text_of(function.get("arguments"))
        record.tool(key, text_of(function.get("name")), arguments)
        if arguments:
            pieces.append(Piece(key, function, "arguments", True, _flush_tool(chunk, index, k)))
    return pieces


def _read_usage(body: JsonObject, record: CallRecord) -> None:
    usage = body.get("usage")
    if isinstance(usage, dict):
        record.add_input_tokens(usage.get("prompt_tokens"))
        record.set_output_tokens(usage.get("completion_tokens"))


def _chunk_head(chunk: JsonObject) -> JsonObject:
    return {k: v for k, v in chunk.items() if k not in ("choices", "usage")}


def _flush_content(chunk: JsonObject, index: int) -> Callable[[str], JsonObject]:
    head = _chunk_head(chunk)

    def flush(text: str) -> JsonObject:
        delta = {"content": text}
        return {**head, "choices": [{"index": index, "delta": delta, "finish_reason": None}]}

    return flush


def _flush_tool(chunk: JsonObject, index: int, k: int) -> Callable[[str], JsonObject]:
    head = _chunk_head(chunk)

    def flush(text: str) -> JsonObject:
        delta = {"tool_calls": [{"index": k, "function": {"arguments": text}}]}
        return {**head, "choices": [{"index": index, "delta": delta, "finish_reason": None}]}

    return flush
