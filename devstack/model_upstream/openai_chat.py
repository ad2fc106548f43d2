"""POST /v1/chat/completions: a chat.completion, or chat.completion.chunk events."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from devstack.model_upstream import behaviour, openai_api
from devstack.model_upstream.behaviour import Answer
from devstack.model_upstream.wire import (
    data_event,
    event_stream,
    json_response,
    read_json,
    wait_before_answering,
)

TEXT_PARTS = ("text",)


async def chat_completions(request: Request) -> Response:
    """Answer a Chat Completions request as OpenAI would (see behaviour for what is said)."""
    refused = openai_api.auth_failure(request)
    if refused is not None:
        return refused
    body = await read_json(request)
    if body is None or not isinstance(body.get("messages"), list):
        return openai_api.bad_request("We could not parse the JSON body of your request.")
    trigger = behaviour.trigger_for(body.get("model"))
    failure = openai_api.trigger_failure(trigger)
    if failure is not None:
        return failure
    await wait_before_answering(trigger)
    answer = _answer(body)
    if body.get("stream"):
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        return event_stream(_chunks(body, answer, include_usage=include_usage), trigger)
    return json_response(_completion(body, answer))


def _answer(body: dict[str, Any]) -> Answer:
    messages = [m for m in body["messages"] if isinstance(m, dict)]
    texts = [behaviour.text_of(m.get("content"), part_types=TEXT_PARTS) for m in messages]
    users = [text for m, text in zip(messages, texts, strict=True) if m.get("role") == "user"]
    return behaviour.answer(
        last_user_text=users[-1] if users else "",
        prompt_text="\n".join(texts),
        tool_names=_function_names(body.get("tools")),
        call_prefix="call_",
    )


def _function_names(tools: object) -> list[str]:
    if not isinstance(tools, list):
        return []
    functions = [tool.get("function") for tool in tools if isinstance(tool, dict)]
    return [str(f["name"]) for f in functions if isinstance(f, dict) and "name" in f]


def _usage(answer: Answer) -> dict[str, int]:
    prompt, completion = answer.prompt_words, answer.completion_words
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _completion(body: dict[str, Any], answer: Answer) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.text, "refusal": None}
    finish_reason = "stop"
    if answer.tool_call is not None:
        call = answer.tool_call
        message["content"] = None
        message["tool_calls"] = [
            {
                "id": call.call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_json},
            }
        ]
        finish_reason = "tool_calls"
    return {
        "id": behaviour.next_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(body.get("model", "")),
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": _usage(answer),
        "system_fingerprint": "fp_gatehouse",
    }


def _chunks(body: dict[str, Any], answer: Answer, *, include_usage: bool) -> list[bytes]:
    """Role first, the content (or tool call) in small deltas, finish_reason, usage, [DONE]."""
    envelope = {
        "id": behaviour.next_id("chatcmpl-"),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": str(body.get("model", "")),
        "system_fingerprint": "fp_gatehouse",
    }

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        extra = {"usage": None} if include_usage else {}
        return data_event({**envelope, "choices": [choice], **extra})

    if answer.tool_call is None:
        events = [chunk({"role": "assistant", "content": "", "refusal": None})]
        events += [chunk({"content": piece}) for piece in behaviour.pieces(answer.text)]
        events.append(chunk({}, "stop"))
    else:
        events = _tool_call_chunks(answer, chunk)
    if include_usage:
        events.append(data_event({**envelope, "choices": [], "usage": _usage(answer)}))
    events.append(b"data: [DONE]\n\n")
    return events


def _tool_call_chunks(answer: Answer, chunk: Any) -> list[bytes]:
    call = answer.tool_call
    assert call is not None
    opening = {
        "index": 0,
        "id": call.call_id,
        "type": "function",
        "function": {"name": call.name, "arguments": ""},
    }
    events = [chunk({"role": "assistant", "content": None, "tool_calls": [opening]})]
    events += [
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        for piece in behaviour.pieces(call.arguments_json)
    ]
    events.append(chunk({}, "tool_calls"))
    return events
