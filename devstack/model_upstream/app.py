"""The ASGI application: routes, the request recorder and the /__test__ control endpoints."""

from __future__ import annotations

from collections import deque
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from devstack.model_upstream import anthropic_messages, http_api, openai_api
from devstack.model_upstream.http_api import OAuthServer
from devstack.model_upstream.openai_chat import chat_completions
from devstack.model_upstream.openai_responses import responses
from devstack.model_upstream.wire import json_response

RECORD_LIMIT = 1000
TEST_PREFIX = "/__test__/"
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class Recorder:
    """ASGI middleware keeping the last RECORD_LIMIT requests (control endpoints excepted)."""

    def __init__(self, app: ASGIApp, requests: deque[dict[str, Any]]) -> None:
        self.app = app
        self.requests = requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(TEST_PREFIX):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        self.requests.append(_as_record(scope, body))
        await self.app(scope, _replay(body, receive), send)


async def _read_body(receive: Receive) -> bytes:
    parts = []
    while True:
        message = await receive()
        parts.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body"):
            return b"".join(parts)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # then http.disconnect, when the client goes away

    return replayed


def _as_record(scope: Scope, body: bytes) -> dict[str, Any]:
    return {
        "method": scope["method"],
        "path": scope["path"],
        "query": scope["query_string"].decode("latin-1"),
        "headers": {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
        "body": body.decode("utf-8", errors="replace"),
    }


async def models(request: Request) -> Response:
    """GET /v1/models in the shape of whichever provider the credentials speak for."""
    if "anthropic-version" in request.headers:
        refused = anthropic_messages.auth_failure(request)
        return refused or anthropic_messages.model_list()
    return openai_api.auth_failure(request) or openai_api.model_list()


async def health(request: Request) -> Response:
    return json_response({"ok": True})


async def received(request: Request) -> Response:
    return json_response(list(request.app.state.requests))


async def clear(request: Request) -> Response:
    request.app.state.requests.clear()
    return json_response({"cleared": True})


async def oauth_stats(request: Request) -> Response:
    return json_response({"tokens_issued": request.app.state.oauth.issued})


ROUTES = [
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    Route("/v1/responses", responses, methods=["POST"]),
    Route("/v1/messages", anthropic_messages.messages, methods=["POST"]),
    Route("/v1/models", models, methods=["GET"]),
    Route("/api/echo", http_api.echo, methods=ANY_METHOD),
    Route("/api/echo/{rest:path}", http_api.echo, methods=ANY_METHOD),
    Route("/api/big", http_api.big, methods=["GET"]),
    Route("/api/slow", http_api.slow, methods=["GET"]),
    Route("/api/json-pii", http_api.json_pii, methods=["GET"]),
    Route("/api/protected", http_api.protected, methods=["GET"]),
    Route("/oauth/token", http_api.oauth_token, methods=["POST"]),
    Route(TEST_PREFIX + "health", health, methods=["GET"]),
    Route(TEST_PREFIX + "received", received, methods=["GET"]),
    Route(TEST_PREFIX + "clear", clear, methods=["POST"]),
    Route(TEST_PREFIX + "oauth", oauth_stats, methods=["GET"]),
]


def create_app(
    *,
    api_key: str,
    oauth_client_id: str,
    oauth_client_secret: str,
    oauth_expires_in_s: int = 3,
) -> ASGIApp:
    """The fake provider: OpenAI and Anthropic endpoints, the HTTP API, the recorder."""
    app = Starlette(routes=ROUTES)
    app.state.api_key = api_key
    app.state.requests = deque(maxlen=RECORD_LIMIT)
    app.state.oauth = OAuthServer(oauth_client_id, oauth_client_secret, oauth_expires_in_s)
    return Recorder(app, app.state.requests)
