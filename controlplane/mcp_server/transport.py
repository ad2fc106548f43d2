"""The ``/mcp`` endpoint: the SDK's Streamable HTTP transport behind Gatehouse's own checks.

Every request must carry ``Authorization: Bearer <token>`` (see ``auth``); a missing or
unacceptable one gets 401 with ``WWW-Authenticate: Bearer`` (RFC 6750 §3) before the SDK
sees the request. The caller rides in the ASGI scope, where tools read it back
(``caller_of``), and as the scope's ``user`` the SDK compares to a session's owner, so a
session opened by one caller answers 404 to any other.

The SDK's session manager needs a running task group. Under a server that speaks the ASGI
lifespan protocol it starts at startup and stops at shutdown; under one that does not
(``uvicorn --lifespan off``, Daphne) the first request starts it. Sessions are kept in this
process (``Mcp-Session-Id``, which also serves as the correlation id of the calls made in
the session); set ``GATEHOUSE_MCP_STATELESS=true`` to serve each request on its own when
several replicas share one address without sticky sessions.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

from channels.db import database_sync_to_async as db
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import transaction
from django.http.request import split_domain_port, validate_host
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from controlplane.audit.services import audit_event_record
from controlplane.mcp_server.actions import McpAction
from controlplane.mcp_server.auth import Caller, CallerRejected, mcp_caller_authenticate

logger = logging.getLogger(__name__)

CALLER_KEY = "gatehouse.mcp_caller"
CORRELATION_KEY = "gatehouse.correlation_id"
CORRELATION_HEADER = b"x-correlation-id"
SESSION_HEADER = b"mcp-session-id"
MAX_CORRELATION_ID = 128
REALM = 'Bearer realm="gatehouse"'
# A flood of bad tokens must not become a flood of audit rows: one per client and minute.
REFUSAL_AUDIT_WINDOW_S = 60


class McpEndpoint:
    """The ASGI app mounted at ``/mcp`` (and the lifespan handler of the whole server)."""

    def __init__(self, server: MCPServer, *, stateless: bool) -> None:
        # Host checks are Django's (ALLOWED_HOSTS, below); the SDK's DNS-rebinding guard
        # would need its own copy of them, and a bearer token is no ambient credential.
        server.streamable_http_app(
            stateless_http=stateless,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        self._sessions: StreamableHTTPSessionManager = server.session_manager
        self._runner: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await _refuse(send, 404, "not_found", "the MCP endpoint speaks HTTP only")
        refusal = _request_refusal(scope)
        if refusal is not None:
            return await _refuse(send, *refusal)
        token = _bearer(scope)
        if not token:  # RFC 6750 §3.1: no credentials, no error code, only the challenge
            return await _refuse(send, 401, "", "send Authorization: Bearer <token>")
        try:
            caller = await db(mcp_caller_authenticate)(token=token)
        except CallerRejected as rejected:
            await db(_refusal_record)(scope, str(rejected))
            return await _refuse(send, 401, "invalid_token", str(rejected))
        await self.start()
        await self._sessions.handle_request(_authenticated(scope, caller), receive, send)

    async def lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI lifespan protocol: run the session manager for the server's lifetime."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def start(self) -> None:
        """Start the session manager once (idempotent) and wait until it runs."""
        if self._runner is None:
            self._ready = asyncio.Event()
            self._runner = asyncio.get_running_loop().create_task(
                self._run(self._ready), name="mcp-session-manager"
            )
        assert self._ready is not None
        await self._ready.wait()
        if self._runner.done():
            raise RuntimeError("the MCP session manager stopped")

    async def stop(self) -> None:
        """Stop the session manager (its sessions end)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)

    async def _run(self, ready: asyncio.Event) -> None:
        try:
            async with self._sessions.run():
                ready.set()
                await asyncio.Event().wait()  # until stop() cancels it
        finally:
            ready.set()  # a manager that failed to start must not leave requests waiting


def caller_of(request: Request | None) -> Caller:
    """The caller the endpoint authenticated for this request (tools call this)."""
    caller = request.scope.get(CALLER_KEY) if request is not None else None
    if not isinstance(caller, Caller):  # fail closed: no tool runs for nobody
        raise PermissionError("no authenticated MCP caller")
    return caller


def correlation_id_of(request: Request | None) -> str:
    """The request's ``X-Correlation-Id``, else its MCP session id, else a fresh id."""
    given = request.scope.get(CORRELATION_KEY) if request is not None else None
    return given or f"mcp-{uuid.uuid4().hex}"


def _request_refusal(scope: Scope) -> tuple[int, str, str] | None:
    host = _header(scope, b"host")
    if not host or not validate_host(split_domain_port(host)[0], settings.ALLOWED_HOSTS):
        return 400, "invalid_request", "this host is not served here"
    if not _correlation_id_valid(_header(scope, CORRELATION_HEADER)):
        return 400, "invalid_request", "X-Correlation-Id: at most 128 printable ASCII characters"
    return None


def _correlation_id_valid(value: str) -> bool:
    return len(value) <= MAX_CORRELATION_ID and all(" " <= c <= "~" for c in value)


def _bearer(scope: Scope) -> str:
    """The bearer token, or "" when the request carries none."""
    scheme, _, token = _header(scope, b"authorization").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _authenticated(scope: Scope, caller: Caller) -> Scope:
    correlation = _header(scope, CORRELATION_HEADER) or _header(scope, SESSION_HEADER)
    owner = AccessToken(
        token="", client_id=caller.principal, scopes=[], subject=str(caller.identity.pk)
    )
    return {
        **scope,
        CALLER_KEY: caller,
        CORRELATION_KEY: correlation,
        "user": AuthenticatedUser(owner),
    }


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


def _refusal_record(scope: Scope, reason: str) -> None:
    """Log every refusal; audit the first per client address and minute."""
    client = (scope.get("client") or ("unknown", 0))[0]
    logger.info("MCP request from %s refused: %s", client, reason)
    key = f"gatehouse:mcp-refused:{client}"
    if not cache.add(key, 1, REFUSAL_AUDIT_WINDOW_S):
        return
    with transaction.atomic():
        audit_event_record(
            actor=AnonymousUser(),
            action=McpAction.AUTH_REFUSED,
            payload={"reason": reason, "client_address": str(client)},
        )


async def _refuse(send: Send, status: int, error: str, description: str) -> None:
    body = json.dumps({"error": error or "unauthorized", "error_description": description})
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body.encode())).encode()),
    ]
    if status == 401:
        headers.append((b"www-authenticate", _challenge(error, description).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode()})


def _challenge(error: str, description: str) -> str:
    if not error:
        return REALM
    return f'{REALM}, error="{error}", error_description="{_quoted(description)}"'


def _quoted(text: str) -> str:
    """RFC 6750's error_description: printable ASCII without quotes or backslashes."""
    return "".join(c for c in text if " " <= c <= "~" and c not in '"\\')[:200]
