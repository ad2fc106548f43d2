"""An in-process MCP client for tests: JSON-RPC POSTs to a fresh /mcp endpoint over ASGI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgiref.sync import async_to_sync

from controlplane.identities.models import User
from controlplane.identities.tokens import gateway_token_mint
from controlplane.mcp_server.tools import server
from controlplane.mcp_server.transport import McpEndpoint

HANDSHAKE = "2025-06-18"
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()


@asynccontextmanager
async def mcp(*, stateless: bool = False) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a fresh endpoint (its session manager runs for the scenario only)."""
    endpoint = McpEndpoint(server, stateless=stateless)
    transport = httpx.ASGITransport(app=endpoint)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield client
    finally:
        await endpoint.stop()


def rpc(method: str, params: dict[str, Any] | None = None, id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": params or {}}


def initialize() -> dict[str, Any]:
    return rpc(
        "initialize",
        {
            "protocolVersion": HANDSHAKE,
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    )


def answer(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC message of a JSON or one-event SSE response."""
    if response.headers["content-type"].startswith("application/json"):
        return response.json()
    data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
    return json.loads([d for d in data if d][-1])


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {**ACCEPT, "Authorization": f"Bearer {token}", **headers}


def in_session(token: str, session: str, **headers: str) -> dict[str, str]:
    """The headers of a request in an open session."""
    return bearer(
        token, **{"Mcp-Session-Id": session, "Mcp-Protocol-Version": HANDSHAKE}, **headers
    )


async def opened(client: httpx.AsyncClient, token: str) -> str:
    """Open a session (initialize, initialized) and return its id."""
    response = await client.post("/mcp", json=initialize(), headers=bearer(token))
    assert response.status_code == 200, response.text
    session = response.headers["mcp-session-id"]
    headers = in_session(token, session)
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert (await client.post("/mcp", json=note, headers=headers)).status_code == 202
    return session


def token_of(identity: User, on_behalf_of: User | None = None) -> str:
    return gateway_token_mint(actor=None, identity=identity, on_behalf_of=on_behalf_of).token


async def tool_call(
    client: httpx.AsyncClient, token: str, name: str, arguments: dict[str, Any], **headers: str
) -> dict[str, Any]:
    """One tools/call in a session of its own; returns the CallToolResult as JSON."""
    session = await opened(client, token)
    sent = bearer(
        token, **{"Mcp-Session-Id": session, "Mcp-Protocol-Version": HANDSHAKE}, **headers
    )
    call = rpc("tools/call", {"name": name, "arguments": arguments}, id=7)
    reply = answer(await client.post("/mcp", json=call, headers=sent))
    assert "result" in reply, reply
    return reply["result"]
