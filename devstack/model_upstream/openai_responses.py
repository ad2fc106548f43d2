"""POST /v1/responses: the Responses API, a `response` object or its typed event stream."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from devstack.model_upstream import behaviour, openai_api
from devstack.model_upstream.behaviour import Answer
from devstack.model_upstream.wire import (
    event_stream,
    json_response,
    named_event,
    read_json,
    wait_before_answering,
)

TEXT_PARTS = ("input_text", "output_text", "text")


async def responses(request: Request) -> Response:
    """Answer a Responses API request as OpenAI would (see behaviour for what is said)."""
    refused = openai_api.auth_failure(request)
    if refused is not None:
        return refused
    body = await read_json(request)
    if body is None or not isinstance(body.get("input"), str | list):
        return openai_api.bad_request("Missing required parameter: 'input'.")
    trigger = behaviour.trigger_for(body.get("model"))
    failure = openai_api.trigger_failure(trigger)
    if failure is not None:
        return failure
    await wait_before_answering(trigger)
    turn = Turn(body, _answer(body))
    if body.get("stream"):
        return event_stream(turn.events(), trigger)
    return json_response(turn.response("completed", [turn.output_item("completed")]))


def _answer(body: dict[str, Any]) -> Answer:
    items = body["input"]
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    messages = [item for item in items if isinstance(item, dict) and "role" in item]
    texts = [behaviour.text_of(m.get("content"), part_types=TEXT_PARTS) for m in messages]
    users = [text for m, text in zip(messages, texts, strict=True) if m.get("role") == "user"]
    instructions = body.get("instructions")
    prompt = [instructions] if isinstance(instructions, str) else []
    offered = body.get("tools")
    tools = offered if isinstance(offered, list) else []
    names = [str(t["name"]) for t in tools if isinstance(t, dict) and t.get("type") == "function"]
    return behaviour.answer(
        last_user_text=users[-1] if users else "",
        prompt_text="\n".join(prompt + texts),
        tool_names=names,
        call_prefix="call_",
    )


@dataclass
class Turn:
    """One answer with its ids, rendered as a `response` object or as its event stream."""

    body: dict[str, Any]
    answer: Answer
    response_id: str = field(default_factory=lambda: behaviour.next_id("resp_"))
    item_id: str = field(default_factory=lambda: behaviour.next_id("msg_"))
    created_at: int = field(default_factory=lambda: int(time.time()))

    def output_item(self, status: str, *, partial: bool = False) -> dict[str, Any]:
        """The answer's one output item; `partial` gives it as first announced (no text yet)."""
        call = self.answer.tool_call
        if call is not None:
            return {
                "type": "function_call",
                "id": self.item_id,
                "call_id": call.call_id,
                "name": call.name,
                "arguments": "" if partial else call.arguments_json,
                "status": status,
            }
        content = [] if partial else [text_part(self.answer.text)]
        return {
            "type": "message",
            "id": self.item_id,
            "role": "assistant",
            "status": status,
            "content": content,
        }

    def response(self, status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
        done = status == "completed"
        return {
            "id": self.response_id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "completed_at": int(time.time()) if done else None,
            "error": None,
            "incomplete_details": None,
            "instructions": self.body.get("instructions"),
            "model": str(self.body.get("model", "")),
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": self.body.get("tool_choice", "auto"),
            "tools": self.body.get("tools") or [],
            "text": {"format": {"type": "text"}},
            "usage": self.usage() if done else None,
        }

    def usage(self) -> dict[str, Any]:
        prompt, completion = self.answer.prompt_words, self.answer.completion_words
        return {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        }

    def events(self) -> list[bytes]:
        """created, in_progress, the item's events, completed; numbered in sequence."""
        started = self.response("in_progress", [])
        payloads: list[dict[str, Any]] = [
            {"type": "response.created", "response": started},
            {"type": "response.in_progress", "response": started},
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": self.output_item("in_progress", partial=True),
            },
        ]
        payloads += self._function_call_events() if self.answer.tool_call else self._text_events()
        done_item = self.output_item("completed")
        payloads += [
            {"type": "response.output_item.done", "output_index": 0, "item": done_item},
            {"type": "response.completed", "response": self.response("completed", [done_item])},
        ]
        return [
            named_event(p["type"], {**p, "sequence_number": number})
            for number, p in enumerate(payloads)
        ]

    def _text_events(self) -> list[dict[str, Any]]:
        where = {"item_id": self.item_id, "output_index": 0, "content_index": 0}
        text = self.answer.text
        return [
            {"type": "response.content_part.added", **where, "part": text_part("")},
            *(
                {"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []}
                for piece in behaviour.pieces(text)
            ),
            {"type": "response.output_text.done", **where, "text": text, "logprobs": []},
            {"type": "response.content_part.done", **where, "part": text_part(text)},
        ]

    def _function_call_events(self) -> list[dict[str, Any]]:
        call = self.answer.tool_call
        assert call is not None
        where = {"item_id": self.item_id, "output_index": 0}
        return [
            *(
                {"type": "response.function_call_arguments.delta", **where, "delta": piece}
                for piece in behaviour.pieces(call.arguments_json)
            ),
            {
                "type": "response.function_call_arguments.done",
                **where,
                "name": call.name,
                "arguments": call.arguments_json,
            },
        ]


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
