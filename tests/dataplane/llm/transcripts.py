"""Byte transcripts shaped exactly like the providers' (field order, compact JSON, SSE
framing as OpenAI and Anthropic send them), built around the texts a test needs."""

from __future__ import annotations

import json
from typing import Any

CHAT_ID = "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
FINGERPRINT = "fp_44709d6fcb"
CREATED = 1741569952
MODEL = "gpt-4o-2024-08-06"
CLAUDE = "claude-sonnet-4-5-20250929"


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def data_event(value: Any) -> bytes:
    return f"data: {compact(value)}\n\n".encode()


def named_event(value: dict[str, Any]) -> bytes:
    return f"event: {value['type']}\ndata: {compact(value)}\n\n".encode()


def sse_events(stream: bytes) -> list[dict[str, Any] | str]:
    """The data payloads of a stream as a client reads them (JSON or the raw string)."""
    payloads: list[dict[str, Any] | str] = []
    for block in stream.decode().replace("\r\n", "\n").split("\n\n"):
        data = [line[5:].lstrip(" ") for line in block.split("\n") if line.startswith("data:")]
        if not data:
            continue
        text = "\n".join(data)
        try:
            payloads.append(json.loads(text))
        except ValueError:
            payloads.append(text)
    return payloads


# OpenAI Chat Completions


def chat_request(content: str, stream: bool = False, **extra: Any) -> bytes:
    body: dict[str, Any] = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": content},
        ],
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    body.update(extra)
    return json.dumps(body).encode()


def _chunk(choices: list[dict[str, Any]], usage: Any = None) -> dict[str, Any]:
    return {
        "id": CHAT_ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
        "choices": choices,
        "usage": usage,
    }


def _choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}


CHAT_USAGE = {
    "prompt_tokens": 19,
    "completion_tokens": 10,
    "total_tokens": 29,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}


def chat_stream(deltas: list[str], done: bool = True) -> bytes:
    """A streamed completion of `deltas` with include_usage: role chunk, content chunks,
    finish chunk, usage chunk, [DONE]."""
    events = [data_event(_chunk([_choice({"role": "assistant", "content": "", "refusal": None})]))]
    events += [data_event(_chunk([_choice({"content": d})])) for d in deltas]
    events.append(data_event(_chunk([_choice({}, "stop")])))
    events.append(data_event(_chunk([], CHAT_USAGE)))
    if done:
        events.append(b"data: [DONE]\n\n")
    return b"".join(events)


def chat_tool_stream(name: str, argument_pieces: list[str]) -> bytes:
    """A streamed tool call: id and name first, arguments in pieces, finish "tool_calls"."""
    first = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "index": 0,
                "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
        ],
        "refusal": None,
    }
    events = [data_event(_chunk([_choice(first)]))]
    for piece in argument_pieces:
        delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
        events.append(data_event(_chunk([_choice(delta)])))
    events.append(data_event(_chunk([_choice({}, "tool_calls")])))
    events.append(data_event(_chunk([], CHAT_USAGE)))
    events.append(b"data: [DONE]\n\n")
    return b"".join(events)


def chat_response(content: str | None, tool: tuple[str, str] | None = None) -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    finish = "stop"
    if tool is not None:
        message["tool_calls"] = [
            {
                "id": "call_62136354",
                "type": "function",
                "function": {"name": tool[0], "arguments": tool[1]},
            }
        ]
        finish = "tool_calls"
    message["annotations"] = []
    body = {
        "id": CHAT_ID,
        "object": "chat.completion",
        "created": CREATED,
        "model": MODEL,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": CHAT_USAGE,
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    }
    return json.dumps(body, indent=2).encode()  # OpenAI pretty-prints non-streamed bodies


# OpenAI Responses


def _response(status: str, output: list[dict[str, Any]], usage: Any) -> dict[str, Any]:
    return {
        "id": "resp_67ccd2bed1ec8190b14f964abc054267",
        "object": "response",
        "created_at": 1741476542,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "model": "gpt-4.1-2025-04-14",
        "output": output,
        "parallel_tool_calls": True,
        "temperature": 1.0,
        "usage": usage,
    }


RESPONSES_USAGE = {
    "input_tokens": 36,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 87,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 123,
}


def _message_item(text: str, status: str) -> dict[str, Any]:
    content = [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}]
    if status == "in_progress":
        content = []
    return {
        "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e6",
        "type": "message",
        "status": status,
        "content": content,
        "role": "assistant",
    }


def responses_stream(deltas: list[str], completed: bool = True) -> bytes:
    """A Responses API stream of one message whose text comes in `deltas`."""
    text = "".join(deltas)
    item_id = "msg_67ccd2bf17f0819081ff3bb2cf6508e6"
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": _response("in_progress", [], None)},
        {"type": "response.in_progress", "response": _response("in_progress", [], None)},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": _message_item("", "in_progress"),
        },
        {
            "type": "response.content_part.added",
            "item_id": item_id,
            "output_index": 0,
            "content_index": 0,
            "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""},
        },
    ]
    for delta in deltas:
        events.append(
            {
                "type": "response.output_text.delta",
                "item_id": item_id,
                "output_index": 0,
                "content_index": 0,
                "delta": delta,
                "logprobs": [],
            }
        )
    done_item = _message_item(text, "completed")
    events += [
        {
            "type": "response.output_text.done",
            "item_id": item_id,
            "output_index": 0,
            "content_index": 0,
            "text": text,
            "logprobs": [],
        },
        {
            "type": "response.content_part.done",
            "item_id": item_id,
            "output_index": 0,
            "content_index": 0,
            "part": done_item["content"][0],
        },
        {"type": "response.output_item.done", "output_index": 0, "item": done_item},
        {
            "type": "response.completed",
            "response": _response("completed", [done_item], RESPONSES_USAGE),
        },
    ]
    if not completed:
        events = events[:-4]
    numbered = [{"type": e["type"], "sequence_number": n, **e} for n, e in enumerate(events)]
    return b"".join(named_event(e) for e in numbered)


def responses_response(text: str, tool: tuple[str, str] | None = None) -> bytes:
    output = [_message_item(text, "completed")]
    if tool is not None:
        output.append(
            {
                "type": "function_call",
                "id": "fc_12345xyz",
                "call_id": "call_12345xyz",
                "name": tool[0],
                "arguments": tool[1],
                "status": "completed",
            }
        )
    return json.dumps(_response("completed", output, RESPONSES_USAGE), indent=2).encode()


# Anthropic Messages


def messages_request(content: str, stream: bool = False, **extra: Any) -> bytes:
    body: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": "You are a support agent.",
        "messages": [{"role": "user", "content": content}],
    }
    if stream:
        body["stream"] = True
    body.update(extra)
    return json.dumps(body).encode()


def _message_start() -> dict[str, Any]:
    return {
        "type": "message_start",
        "message": {
            "id": "msg_014p7gG3wDgGV9EUtLvnow3U",
            "type": "message",
            "role": "assistant",
            "model": CLAUDE,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": 472,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 2,
                "service_tier": "standard",
            },
        },
    }


def messages_stream(
    deltas: list[str], tool: tuple[str, list[str]] | None = None, stopped: bool = True
) -> bytes:
    """A Messages stream: a text block of `deltas`, optionally a tool_use block whose
    input JSON comes in pieces, message_delta with usage, message_stop."""
    events: list[dict[str, Any]] = [
        _message_start(),
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
    ]
    for delta in deltas:
        events.append(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": delta},
            }
        )
    events.append({"type": "content_block_stop", "index": 0})
    stop_reason = "end_turn"
    if tool is not None:
        stop_reason = "tool_use"
        block = {"type": "tool_use", "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "name": tool[0]}
        events.append(
            {"type": "content_block_start", "index": 1, "content_block": {**block, "input": {}}}
        )
        for piece in ["", *tool[1]]:
            events.append(
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": piece},
                }
            )
        events.append({"type": "content_block_stop", "index": 1})
    events += [
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": 89},
        },
        {"type": "message_stop"},
    ]
    if not stopped:
        events = events[:-2]
    return b"".join(named_event(e) for e in events)


def messages_response(text: str, tool: tuple[str, dict[str, Any]] | None = None) -> bytes:
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    if tool is not None:
        content.append(
            {
                "type": "tool_use",
                "id": "toolu_01A09q90qw90lq917835lq9",
                "name": tool[0],
                "input": tool[1],
            }
        )
    body = {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": CLAUDE,
        "content": content,
        "stop_reason": "tool_use" if tool else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 2095, "output_tokens": 503},
    }
    return json.dumps(body).encode()
