"""tool_call_run, the one path of every tool call: whatever ends a call (its work, a
failure, the client leaving while it is held), exactly one ``mcp.tool_call`` event records
it, and a held call nobody waits for any more is withdrawn."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async as db

from controlplane.audit.models import AuditEvent
from controlplane.identities.models import User
from controlplane.mcp_server.auth import Caller
from controlplane.mcp_server.calls import ToolCall, ToolResult, tool_call_run
from controlplane.mcp_server.models import ToolCallHold
from tests.controlplane.mcp_server.client import run
from tests.controlplane.mcp_server.conftest import rule

pytestmark = pytest.mark.django_db(transaction=True)


def _call(identity: User, on_behalf_of: User | None = None) -> ToolCall:
    caller = Caller(identity=identity, on_behalf_of=on_behalf_of, via="gateway_token")
    return ToolCall(
        caller=caller,
        tool="list_resources",
        arguments={"note": "x" * 600},
        resource=None,
        correlation_id="run-9",
    )


def test_a_failing_tool_answers_a_plain_error_and_is_still_audited(agent_smith: User) -> None:
    results: list[ToolResult] = []

    async def broken() -> ToolResult:
        raise RuntimeError("secret detail of the failure")

    async def scenario() -> None:
        results.append(await tool_call_run(_call(agent_smith), broken))

    run(scenario)
    [result] = results
    assert result.is_error and result.payload["error"]["code"] == "internal_error"
    assert "secret detail" not in str(result.payload)
    event = AuditEvent.objects.get(action="mcp.tool_call")
    assert (event.payload["outcome"], event.payload["correlation_id"]) == (
        "internal_error",
        "run-9",
    )
    assert len(event.payload["arguments"]["note"]) == 500  # free text is cut in the log


def test_a_client_that_leaves_while_held_withdraws_the_hold(agent_smith: User, alice: User) -> None:
    rule("held-listing", tool="list_resources", effect="hold")
    ran: list[Any] = []

    async def work() -> ToolResult:
        ran.append(True)
        return ToolResult(payload={})

    async def scenario() -> None:
        task = asyncio.ensure_future(tool_call_run(_call(agent_smith, alice), work))
        while not await db(ToolCallHold.objects.exists)():
            assert not task.done(), task.result()
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(scenario)
    assert ran == []
    assert ToolCallHold.objects.get().status == "withdrawn"
    event = AuditEvent.objects.get(action="mcp.tool_call")
    assert (event.payload["outcome"], event.on_behalf_of_name) == ("cancelled", "alice")
