"""POST /v1/messages: Anthropic's Messages API, a `message` or its event stream; and the
Anthropic shapes of auth failures, errors and the model list."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from devstack.model_upstream import behaviour
from devstack.model_upstream.behaviour import RETRY_AFTER_S, Answer, Trigger
from devstack.model_upstream.wire import (
    event_stream,
    json_response,
    named_event,
    read_json,
    wait_before_answering,
)

TEXT_PARTS = ("text",)
MODELS = ("claude-sonnet-4-6", "claude-haiku-4-5", "claude-opus-4-7")


def error(status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """Anthropic's error body: {"type": "error", "error": {type, message}, "request_id"}."""
    body = {
        "type": "error",
        "error": {"type": type_, "message": message},
        "request_id": behaviour.next_id("req_"),
    }
    return json_response(body, status, headers)


def auth_failure(request: Request) -> Response | None:
    """401 unless the key is presented; 400 without `anthropic-version`, as Anthropic does.

    The key comes as `x-api-key`, or as `Authorization: Bearer` (what the installed anthropic
    SDK sends for an API key)."""
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    presented = request.headers.get("x-api-key") or (
        bearer.strip() if scheme.lower() == "bearer" else ""
    )
    if presented != request.app.state.api_key:
        return error(401, "authentication_error", "invalid x-api-key")
    if not request.headers.get("anthropic-version"):
        return error(400, "invalid_request_error", "anthropic-version: header is required")
    return None


def trigger_failure(trigger: Trigger) -> Response | None:
    if trigger is Trigger.RATE_LIMITED:
        headers = {"retry-after": str(RETRY_AFTER_S)}
        return error(
            429, "rate_limit_error", "Number of requests has exceeded your rate limit.", headers
        )
    if trigger is Trigger.SERVER_ERROR:
        return error(500, "api_error", "Internal server error")
    return None


def model_list() -> Response:
    data = [
        {"type": "model", "id": name, "display_name": name, "created_at": "2025-01-01T00:00:00Z"}
        for name in MODELS
    ]
    return json_response(
        {"data": data, "has_more": False, "first_id": MODELS[0], "last_id": MODELS[-1]}
    )


async def messages(request: Request) -> Response:
    """Answer a Messages request as Claude would (see behaviour for what is said)."""
    refused = auth_failure(request)
    if refused is not None:
        return refused
    body = await read_json(request)
    if body is None or not isinstance(body.get("messages"), list) or "max_tokens" not in body:
        return error(400, "invalid_request_error", "messages and max_tokens: Field required")
    trigger = behaviour.trigger_for(body.get("model"))
    failure = trigger_failure(trigger)
    if failure is not None:
        return failure
    await wait_before_answering(trigger)
    answer = _answer(body)
    message_id = behaviour.next_id("msg_")
    if body.get("stream"):
        return event_stream(_events(body, answer, message_id), trigger)
    return json_response(_message(body, answer, message_id, streaming=False))


def _answer(body: dict[str, Any]) -> Answer:
    messages = [m for m in body["messages"] if isinstance(m, dict)]
    texts = [behaviour.text_of(m.get("content"), part_types=TEXT_PARTS) for m in messages]
    users = [text for m, text in zip(messages, texts, strict=True) if m.get("role") == "user"]
    system = behaviour.text_of(body.get("system"), part_types=TEXT_PARTS)
    offered = body.get("tools")
    tools = offered if isinstance(offered, list) else []
    names = [
        str(t["name"])
        for t in tools
        if isinstance(t, dict) and "name" in t and t.get("type", "custom") == "custom"
    ]
    return behaviour.answer(
        last_user_text=users[-1] if users else "",
        prompt_text="\n".join([system, *texts]),
        tool_names=names,
        call_prefix="toolu_",
    )


def _content_block(answer: Answer, *, partial: bool) -> dict[str, Any]:
    call = answer.tool_call
    if call is not None:
        arguments: dict[str, Any] = {} if partial else dict(call.arguments)
        return {"type": "tool_use", "id": call.call_id, "name": call.name, "input": arguments}
    return {"type": "text", "text": "" if partial else answer.text}


def _stop_reason(answer: Answer) -> str:
    return "tool_use" if answer.tool_call is not None else "end_turn"


def _message(
    body: dict[str, Any], answer: Answer, message_id: str, *, streaming: bool
) -> dict[str, Any]:
    """The message; as message_start announces it when `streaming` (no content, no stop)."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": str(body.get("model", "")),
        "content": [] if streaming else [_content_block(answer, partial=False)],
        "stop_reason": None if streaming else _stop_reason(answer),
        "stop_sequence": None,
        "usage": {
            "input_tokens": answer.prompt_words,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 1 if streaming else answer.completion_words,
        },
    }


def _events(body: dict[str, Any], answer: Answer, message_id: str) -> list[bytes]:
    """message_start, content_block_start, ping, deltas, stops, message_delta, message_stop."""
    payloads: list[dict[str, Any]] = [
        {"type": "message_start", "message": _message(body, answer, message_id, streaming=True)},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": _content_block(answer, partial=True),
        },
        {"type": "ping"},
    ]
    payloads += [
        {"type": "content_block_delta", "index": 0, "delta": delta} for delta in _deltas(answer)
    ]
    payloads += [
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": _stop_reason(answer), "stop_sequence": None},
            "usage": {"output_tokens": answer.completion_words},
        },
        {"type": "message_stop"},
    ]
    return [named_event(p["type"], p) for p in payloads]


def _deltas(answer: Answer) -> list[dict[str, str]]:
    if answer.tool_call is None:
        return [{"type": "text_delta", "text": piece} for piece in behaviour.pieces(answer.text)]
    arguments = answer.tool_call.arguments_json
    # Anthropic opens a tool's input with an empty partial_json; clients must cope.
    pieces = ["", *behaviour.pieces(arguments)]
    return [{"type": "input_json_delta", "partial_json": piece} for piece in pieces]
