"""The tools as an MCP client calls them: each call is decided by its tool rule (deny: an
error result naming the rule; hold: it waits for an approver), does its work, and leaves
exactly one ``mcp.tool_call`` audit event naming the identity and the person it acts for.

In-process over ASGI (see client.py); these tests commit for real."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from channels.db import database_sync_to_async as db

from controlplane.audit.models import AuditEvent
from controlplane.identities.models import User
from controlplane.mcp_server.holds import tool_call_hold_approve, tool_call_hold_deny
from controlplane.mcp_server.models import ToolCallHold
from controlplane.policies.models import Policy
from controlplane.resources.models import Resource
from tests.controlplane.mcp_server.client import mcp, run, token_of, tool_call
from tests.controlplane.mcp_server.conftest import rule

pytestmark = pytest.mark.django_db(transaction=True)

SELECT = {"resource": "appdb", "sql": "SELECT 1", "max_rows": 5}


def _call(token: str, name: str, arguments: dict[str, Any], **headers: str) -> dict[str, Any]:
    results: list[dict[str, Any]] = []

    async def scenario() -> None:
        async with mcp() as client:
            results.append(await tool_call(client, token, name, arguments, **headers))

    run(scenario)
    return results[0]


def _error(result: dict[str, Any]) -> dict[str, Any]:
    assert result["isError"] is True, result
    return result["structuredContent"]["error"]


def _the_call_event() -> AuditEvent:
    [event] = AuditEvent.objects.filter(action="mcp.tool_call")
    return event


def test_list_resources_shows_grants_and_what_may_be_requested(
    agent_smith: User, alice: User, appdb_policy: Policy, billingdb: Resource
) -> None:
    token = token_of(agent_smith, on_behalf_of=alice)
    result = _call(token, "list_resources", {}, **{"X-Correlation-Id": "run-1"})

    assert result["isError"] is False
    [appdb] = result["structuredContent"]["resources"]  # billingdb: no grant, no policy
    assert appdb == {
        "name": "appdb",
        "protocol": "postgres",
        "tool": "query_database",
        "grant": None,
        "may_request": True,
        "max_duration_minutes": 60,
    }
    event = _the_call_event()
    assert (event.actor_name, event.on_behalf_of_name) == ("agent-smith", "alice")
    assert event.payload["outcome"] == "ok" and event.payload["correlation_id"] == "run-1"
    assert event.payload["via"] == "gateway_token"


def test_a_denying_rule_answers_with_an_error_result_naming_it(
    agent_smith: User, appdb: Resource
) -> None:
    rule("agents-no-sql", tool="query_database", applies_to="service_accounts", effect="deny")
    error = _error(_call(token_of(agent_smith), "query_database", SELECT))

    assert (error["code"], error["rule"]) == ("denied_by_rule", "agents-no-sql")
    assert "agents-no-sql" in error["message"]
    event = _the_call_event()
    assert (event.payload["outcome"], event.payload["rule"]) == ("denied_by_rule", "agents-no-sql")
    assert "SELECT 1" not in str(event.payload)


def test_an_unknown_resource_and_the_wrong_tool_are_explained(
    agent_smith: User, appdb: Resource
) -> None:
    token = token_of(agent_smith)
    unknown = _error(_call(token, "query_database", {**SELECT, "resource": "nosuchdb"}))
    assert unknown["code"] == "unknown_resource"
    wrong = _error(_call(token, "call_http", {"resource": "appdb", "method": "GET", "path": "/"}))
    assert wrong["code"] == "wrong_tool" and "query_database" in wrong["message"]


def test_arguments_the_schema_refuses_never_reach_the_tool(agent_smith: User) -> None:
    result = _call(token_of(agent_smith), "query_database", {"resource": "appdb", "sql": ""})
    assert result["isError"] is True
    assert not AuditEvent.objects.filter(action="mcp.tool_call").exists()


def test_a_query_on_a_resource_whose_agent_is_away_says_so(
    agent_smith: User, appdb_policy: Policy
) -> None:
    error = _error(_call(token_of(agent_smith), "query_database", SELECT))
    assert error["code"] == "agent_unavailable"
    assert _the_call_event().payload["outcome"] == "agent_unavailable"
    # The exec service recorded its own event, tied to the same correlation id.
    exec_event = AuditEvent.objects.get(action="exec.call")
    assert exec_event.payload["correlation_id"] == _the_call_event().payload["correlation_id"]


def test_request_access_is_granted_at_once_by_an_auto_approval_rule(
    agent_smith: User, appdb_policy: Policy
) -> None:
    arguments = {"resource": "appdb", "reason": "nightly report", "duration_minutes": 10}
    result = _call(token_of(agent_smith), "request_access", arguments)

    assert result["isError"] is False
    answer = result["structuredContent"]
    assert answer["status"] == "granted" and answer["request_id"]
    assert answer["grant"]["expires_at"]
    again = _call(token_of(agent_smith), "request_access", arguments)["structuredContent"]
    assert again["status"] == "granted" and again["request_id"] is None  # already held


def test_request_access_without_a_decision_in_time_is_pending(
    developer_alice: User, appdb_policy: Policy
) -> None:
    arguments = {
        "resource": "appdb",
        "reason": "debugging",
        "duration_minutes": 30,
        "wait_seconds": 0,
    }
    answer = _call(token_of(developer_alice), "request_access", arguments)["structuredContent"]
    assert answer["status"] == "pending" and answer["request_id"]


def test_request_access_beyond_the_policy_is_an_error(
    agent_smith: User, appdb_policy: Policy
) -> None:
    arguments = {"resource": "appdb", "reason": "x", "duration_minutes": 600}
    error = _error(_call(token_of(agent_smith), "request_access", arguments))
    assert error["code"] == "invalid_request" and "maximum" in error["message"]


def test_the_gateway_sets_credentials_itself(agent_smith: User, edge: Any) -> None:
    Resource.objects.create(
        name="crm",
        protocol="http",
        host="crm.internal",
        port=443,
        upstream_password_ciphertext="x",
        agent=edge.agent,
    )
    arguments = {
        "resource": "crm",
        "method": "GET",
        "path": "/v1/me",
        "headers": {"Authorization": "Bearer stolen"},
    }
    error = _error(_call(token_of(agent_smith), "call_http", arguments))
    assert error["code"] == "invalid_request" and "Authorization" in error["message"]
    assert "stolen" not in str(_the_call_event().payload)


async def _held_call(
    client: httpx.AsyncClient, token: str, decide: Any
) -> tuple[dict[str, Any], ToolCallHold]:
    """Start a held call, decide its hold with ``decide(hold)`` once it exists, and return
    the call's result and the hold."""
    call = asyncio.ensure_future(tool_call(client, token, "list_resources", {}))
    while not await db(ToolCallHold.objects.exists)():
        assert not call.done(), call.result()
        await asyncio.sleep(0.05)
    hold = await db(ToolCallHold.objects.select_related("resource").get)()
    await db(decide)(hold)
    return await call, hold


def test_a_held_call_runs_once_an_administrator_approves_it(
    agent_smith: User, alice: User, bob: User
) -> None:
    rule("held-listing", tool="list_resources", effect="hold")
    token = token_of(agent_smith, on_behalf_of=alice)
    outcome: list[Any] = []

    async def scenario() -> None:
        async with mcp() as client:
            outcome.extend(
                await _held_call(client, token, lambda h: tool_call_hold_approve(actor=bob, hold=h))
            )

    run(scenario)
    result, hold = outcome
    assert result["isError"] is False and result["structuredContent"] == {"resources": []}
    assert hold.arguments == {} and hold.on_behalf_of == alice
    event = _the_call_event()
    assert event.payload["hold"] == str(hold.pk)
    assert (event.payload["outcome"], event.payload["approved_by"]) == ("ok", "bob")
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    held, approved, called = (
        actions.index("mcp.tool_call_held"),
        actions.index("mcp.hold_approved"),
        actions.index("mcp.tool_call"),
    )
    assert held < approved < called


def test_a_denied_held_call_ends_in_an_error_result(agent_smith: User, bob: User) -> None:
    rule("held-listing", tool="list_resources", effect="hold")
    token = token_of(agent_smith)
    outcome: list[Any] = []

    async def scenario() -> None:
        async with mcp() as client:
            deny = lambda h: tool_call_hold_deny(actor=bob, hold=h)  # noqa: E731
            outcome.extend(await _held_call(client, token, deny))

    run(scenario)
    error = _error(outcome[0])
    assert error["code"] == "hold_denied" and "bob" in error["message"]
    assert _the_call_event().payload["outcome"] == "hold_denied"


def test_a_held_call_nobody_decides_expires_at_the_rules_timeout(agent_smith: User) -> None:
    rule("held-listing", tool="list_resources", effect="hold", hold_timeout_s=1)
    error = _error(_call(token_of(agent_smith), "list_resources", {}))

    assert error["code"] == "hold_expired"
    assert ToolCallHold.objects.get().status == "expired"
    assert AuditEvent.objects.filter(action="mcp.hold_expired").count() == 1
    assert _the_call_event().payload["outcome"] == "hold_expired"
