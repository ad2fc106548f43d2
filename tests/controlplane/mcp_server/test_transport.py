"""The /mcp endpoint: every request needs a bearer token (a gateway token, or an IdP token
of a bound service account); without one it gets 401 and a Bearer challenge before the MCP
SDK sees it. An MCP session belongs to the caller who opened it.

Driven over ASGI in-process with JSON-RPC POSTs (the real SDK client runs against uvicorn in
tests/integration/test_mcp_server.py). These tests commit for real: the endpoint reaches the
database from its own threads."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async as db

from controlplane.audit.models import AuditEvent
from controlplane.identities.models import User
from tests.controlplane.mcp_server.client import (
    ACCEPT,
    HANDSHAKE,
    answer,
    bearer,
    initialize,
    mcp,
    opened,
    rpc,
    run,
    token_of,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_request_without_a_token_gets_a_bare_bearer_challenge(db: None) -> None:
    async def scenario() -> None:
        async with mcp() as client:
            response = await client.post("/mcp", json=initialize(), headers=ACCEPT)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="gatehouse"'

    run(scenario)


@pytest.mark.parametrize("token", ["not-a-token", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_a_bad_token_gets_invalid_token_and_one_audit_event_per_client(
    db: None, token: str
) -> None:
    async def scenario() -> None:
        async with mcp() as client:
            for _ in range(3):
                response = await client.post("/mcp", json=initialize(), headers=bearer(token))
                assert response.status_code == 401
                assert 'error="invalid_token"' in response.headers["www-authenticate"]
                assert response.json()["error"] == "invalid_token"

    run(scenario)
    [event] = AuditEvent.objects.filter(action="mcp.auth_refused")
    assert token not in str(event.payload)


def test_an_expired_or_disabled_identitys_token_is_refused(agent_smith: User) -> None:
    token = token_of(agent_smith)
    User.objects.filter(pk=agent_smith.pk).update(is_active=False)

    async def scenario() -> None:
        async with mcp() as client:
            response = await client.post("/mcp", json=initialize(), headers=bearer(token))
        assert response.status_code == 401
        assert "no active identity" in response.json()["error_description"]

    run(scenario)


def test_a_host_django_does_not_serve_is_refused(agent_smith: User) -> None:
    token = token_of(agent_smith)

    async def scenario() -> None:
        async with mcp() as client:
            headers = {**bearer(token), "Host": "evil.example"}
            response = await client.post("/mcp", json=initialize(), headers=headers)
        assert response.status_code == 400

    run(scenario)


@pytest.mark.parametrize("value", ["x" * 129, "tab\there", "caf\xe9".encode("latin-1")])
def test_a_malformed_correlation_id_is_refused(agent_smith: User, value: str | bytes) -> None:
    token = token_of(agent_smith)

    async def scenario() -> None:
        async with mcp() as client:
            headers = {**bearer(token), "X-Correlation-Id": value}
            response = await client.post("/mcp", json=initialize(), headers=headers)
        assert response.status_code == 400
        assert "X-Correlation-Id" in response.json()["error_description"]

    run(scenario)


def test_an_agent_with_a_gateway_token_opens_a_session_and_lists_the_tools(
    agent_smith: User,
) -> None:
    token = token_of(agent_smith)

    async def scenario() -> None:
        async with mcp() as client:
            session = await opened(client, token)
            headers = bearer(
                token, **{"Mcp-Session-Id": session, "Mcp-Protocol-Version": HANDSHAKE}
            )
            listed = answer(
                await client.post("/mcp", json=rpc("tools/list", id=2), headers=headers)
            )
        names = {tool["name"] for tool in listed["result"]["tools"]}
        assert names == {"list_resources", "query_database", "call_http", "request_access"}

    run(scenario)


def test_a_session_answers_only_the_caller_who_opened_it(agent_smith: User, alice: User) -> None:
    smith, alices = token_of(agent_smith), token_of(alice)

    async def scenario() -> None:
        async with mcp() as client:
            session = await opened(client, smith)
            headers = bearer(
                alices, **{"Mcp-Session-Id": session, "Mcp-Protocol-Version": HANDSHAKE}
            )
            response = await client.post("/mcp", json=rpc("tools/list", id=2), headers=headers)
        assert response.status_code == 404

    run(scenario)


def test_the_session_id_becomes_the_correlation_id_of_its_tool_calls(agent_smith: User) -> None:
    token = token_of(agent_smith)

    async def scenario() -> None:
        async with mcp() as client:
            session = await opened(client, token)
            headers = bearer(
                token, **{"Mcp-Session-Id": session, "Mcp-Protocol-Version": HANDSHAKE}
            )
            call = rpc("tools/call", {"name": "list_resources", "arguments": {}}, id=3)
            result = answer(await client.post("/mcp", json=call, headers=headers))["result"]
        assert result["isError"] is False
        assert result["structuredContent"] == {"resources": []}
        event = await db(AuditEvent.objects.get)(action="mcp.tool_call")
        assert event.payload["correlation_id"] == session

    run(scenario)


def test_without_sessions_a_given_correlation_id_is_kept(agent_smith: User) -> None:
    token = token_of(agent_smith)

    async def scenario() -> None:
        async with mcp(stateless=True) as client:
            headers = bearer(token, **{"X-Correlation-Id": "run-42"})
            assert (
                await client.post("/mcp", json=initialize(), headers=headers)
            ).status_code == 200
            call = rpc("tools/call", {"name": "list_resources", "arguments": {}}, id=2)
            headers["Mcp-Protocol-Version"] = HANDSHAKE
            result = answer(await client.post("/mcp", json=call, headers=headers))["result"]
        assert result["isError"] is False

    run(scenario)
    assert AuditEvent.objects.get(action="mcp.tool_call").payload["correlation_id"] == "run-42"
