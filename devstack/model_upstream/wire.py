"""Bytes on the wire shared by the providers: JSON bodies, server-sent events, stream faults."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from devstack.model_upstream.behaviour import SLOW_ANSWER_S, SLOW_STREAM_GAP_S, Trigger


class StreamCut(Exception):
    """Raised mid-stream on purpose: uvicorn then closes the connection without finishing the
    chunked body, as a provider does when its backend dies half-way through an answer."""


def dump(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dump(data), status, headers, media_type="application/json")


def data_event(data: Any) -> bytes:
    """An OpenAI-style event: only a data line."""
    return b"data: " + dump(data) + b"\n\n"


def named_event(name: str, data: Any) -> bytes:
    """An event with its type on an `event:` line, as Anthropic and the Responses API send."""
    return b"event: " + name.encode() + b"\ndata: " + dump(data) + b"\n\n"


async def read_json(request: Request) -> dict[str, Any] | None:
    """The request's JSON object, or None when the body is not one."""
    try:
        body = json.loads(await request.body())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def wait_before_answering(trigger: Trigger) -> None:
    if trigger is Trigger.SLOW:
        await asyncio.sleep(SLOW_ANSWER_S)


def event_stream(events: list[bytes], trigger: Trigger) -> StreamingResponse:
    """Stream precomputed events, paced or cut short as the model name asks."""
    return StreamingResponse(
        _paced(events, trigger),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


async def _paced(events: list[bytes], trigger: Trigger) -> AsyncIterator[bytes]:
    cut_at = len(events) // 2 if trigger is Trigger.CUT_STREAM else None
    for number, event in enumerate(events):
        if number == cut_at:
            raise StreamCut("cut-stream: closing the connection mid-answer")
        if trigger is Trigger.SLOW_STREAM and number:
            await asyncio.sleep(SLOW_STREAM_GAP_S)
        yield event
