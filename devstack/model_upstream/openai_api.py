"""What the OpenAI endpoints share: bearer-key auth, the error shape, the model list."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from devstack.model_upstream.behaviour import RETRY_AFTER_S, Trigger
from devstack.model_upstream.wire import json_response

MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "o4-mini")


def error(
    status: int,
    message: str,
    *,
    type_: str,
    code: str | None,
    headers: dict[str, str] | None = None,
) -> Response:
    """OpenAI's error body: {"error": {message, type, param, code}}."""
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return json_response(body, status, headers)


def auth_failure(request: Request) -> Response | None:
    """401 unless `Authorization: Bearer <api key>`; the presented key is never echoed."""
    header = request.headers.get("authorization", "")
    if not header:
        return error(
            401,
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            type_="invalid_request_error",
            code=None,
        )
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or key.strip() != request.app.state.api_key:
        return error(
            401,
            "Incorrect API key provided.",
            type_="invalid_request_error",
            code="invalid_api_key",
        )
    return None


def trigger_failure(trigger: Trigger) -> Response | None:
    """The error a model name asks for, as OpenAI sends it."""
    if trigger is Trigger.RATE_LIMITED:
        return error(
            429,
            "Rate limit reached for requests. Please try again in 1s.",
            type_="requests",
            code="rate_limit_exceeded",
            headers={"retry-after": str(RETRY_AFTER_S), "x-ratelimit-remaining-requests": "0"},
        )
    if trigger is Trigger.SERVER_ERROR:
        return error(
            500,
            "The server had an error while processing your request. Sorry about that!",
            type_="server_error",
            code=None,
        )
    return None


def bad_request(message: str) -> Response:
    return error(400, message, type_="invalid_request_error", code=None)


def model_list() -> Response:
    created = int(time.time())
    data = [
        {"id": name, "object": "model", "created": created, "owned_by": "gatehouse-devstack"}
        for name in MODELS
    ]
    return json_response({"object": "list", "data": data})
