"""A plain HTTP API for the `http` resource tests: echo, big and slow bodies, a JSON document
with personal data, and an OAuth client-credentials token endpoint guarding /api/protected."""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from devstack.model_upstream.wire import json_response

BIG_CHUNK = 64 * 1024
# A printable, recognisable pattern: a relayed body can be checked byte for byte.
BIG_PATTERN = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_\n"
MAX_SLOW_S = 120.0

PII_DOCUMENT = {
    "customer": {
        "id": 4711,
        "name": "Alice Example",
        "email": "alice.example@example.com",
        "phone": "+1 415 555 0132",
        "card_number": "4111 1111 1111 1111",
    },
    "note": "Call me at +1 415 555 0132 or write to alice.example@example.com.",
}


@dataclass
class OAuthServer:
    """The client-credentials grant for one client; bearer tokens live `expires_in_s`."""

    client_id: str
    client_secret: str
    expires_in_s: int = 3
    tokens: dict[str, float] = field(default_factory=dict)
    issued: int = 0

    def issue(self) -> dict[str, object]:
        now = time.monotonic()
        self.tokens = {t: expiry for t, expiry in self.tokens.items() if expiry > now}
        token = secrets.token_urlsafe(24)
        self.tokens[token] = now + self.expires_in_s
        self.issued += 1
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in_s}

    def valid(self, token: str) -> bool:
        return self.tokens.get(token, 0.0) > time.monotonic()

    def client_matches(self, client_id: str, client_secret: str) -> bool:
        return secrets.compare_digest(client_id, self.client_id) and secrets.compare_digest(
            client_secret, self.client_secret
        )


async def echo(request: Request) -> Response:
    """Any method: the request as seen here (method, path, query, headers, body)."""
    body = await request.body()
    return json_response(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": {
                name.decode("latin-1"): value.decode("latin-1")
                for name, value in request.headers.raw
            },
            "body": body.decode("utf-8", errors="replace"),
        }
    )


async def big(request: Request) -> Response:
    """GET /api/big?bytes=N: N bytes of a repeating pattern, streamed in 64 KiB chunks."""
    try:
        size = int(request.query_params.get("bytes", "0"))
    except ValueError:
        size = -1
    if size < 0:
        return json_response({"error": "bytes must be a non-negative integer"}, 400)
    return StreamingResponse(
        _pattern(size),
        media_type="application/octet-stream",
        headers={"content-length": str(size)},
    )


def pattern_bytes(size: int) -> bytes:
    """What /api/big?bytes=size sends, for tests to compare against."""
    repeats = size // len(BIG_PATTERN) + 1
    return (BIG_PATTERN * repeats)[:size]


async def _pattern(size: int) -> AsyncIterator[bytes]:
    chunk = pattern_bytes(BIG_CHUNK + len(BIG_PATTERN))
    sent = 0
    while sent < size:
        # Chunks start on a pattern boundary, so the whole body is one continuous pattern.
        offset = sent % len(BIG_PATTERN)
        piece = chunk[offset : offset + min(BIG_CHUNK, size - sent)]
        sent += len(piece)
        yield piece


async def slow(request: Request) -> Response:
    """GET /api/slow?s=N: answer after N seconds (at most two minutes)."""
    try:
        seconds = float(request.query_params.get("s", "1"))
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= MAX_SLOW_S:
        return json_response({"error": f"s must be between 0 and {MAX_SLOW_S:g}"}, 400)
    await asyncio.sleep(seconds)
    return json_response({"slept_s": seconds})


async def json_pii(request: Request) -> Response:
    """A JSON document with an email address, a phone number and a card number."""
    return json_response(PII_DOCUMENT)


async def oauth_token(request: Request) -> Response:
    """POST /oauth/token, client_credentials; the client by basic auth or form fields."""
    oauth: OAuthServer = request.app.state.oauth
    form = dict(parse_qsl((await request.body()).decode("utf-8", errors="replace")))
    if form.get("grant_type") != "client_credentials":
        return json_response({"error": "unsupported_grant_type"}, 400)
    client_id, client_secret = _client_credentials(request, form)
    if not oauth.client_matches(client_id, client_secret):
        headers = {"www-authenticate": 'Basic realm="oauth"'}
        return json_response({"error": "invalid_client"}, 401, headers)
    return json_response(oauth.issue(), headers={"cache-control": "no-store"})


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        client_id, _, client_secret = decoded.partition(":")
        return client_id, client_secret
    return form.get("client_id", ""), form.get("client_secret", "")


async def protected(request: Request) -> Response:
    """GET /api/protected: 200 only with a live bearer token from /oauth/token."""
    oauth: OAuthServer = request.app.state.oauth
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not oauth.valid(token.strip()):
        headers = {"www-authenticate": 'Bearer error="invalid_token"'}
        return json_response({"error": "invalid_token"}, 401, headers)
    return json_response({"ok": True, "resource": "protected"})
