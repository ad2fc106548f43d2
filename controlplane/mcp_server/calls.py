"""One MCP tool call, whatever the tool: its rule, its hold, its work, its audit event.

``tool_call_run`` is the single path every tool takes: the tool rule deciding the call is
resolved (deny: an error result naming the rule; hold: a ``ToolCallHold`` the call waits on,
polling its row every half second up to the rule's hold timeout), then the tool's own work
runs, and exactly one ``mcp.tool_call`` audit event records the call with its outcome,
whatever happened (refused, failed, cancelled by the client). Tools never touch the
database from the event loop: every ORM call goes through ``db`` (Channels'
``database_sync_to_async``, thread-sensitive), inside a ``ThreadSensitiveContext`` per call
so that one slow call does not queue the others behind it on one thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
from asgiref.sync import ThreadSensitiveContext
from channels.db import database_sync_to_async as db
from django.db import connection, transaction
from django.utils import timezone

from controlplane.audit.services import audit_event_record
from controlplane.mcp_server.actions import McpAction
from controlplane.mcp_server.arguments import arguments_digest, arguments_for_audit
from controlplane.mcp_server.auth import Caller
from controlplane.mcp_server.holds import (
    tool_call_hold_create,
    tool_call_hold_expire,
    tool_call_hold_withdraw,
)
from controlplane.mcp_server.models import ToolCallHold, ToolRule
from controlplane.mcp_server.selectors import tool_rule_for_call
from controlplane.resources.models import Resource

logger = logging.getLogger(__name__)

HOLD_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class ToolCall:
    """What was asked: by whom, which tool, with which arguments, on which resource."""

    caller: Caller
    tool: str
    arguments: Mapping[str, Any]
    resource: Resource | None
    correlation_id: str


@dataclass(frozen=True)
class ToolResult:
    """A tool's answer: a JSON object for the model, whether it is an error, and the
    outcome word the audit event records (``ok``, ``denied``, ``sql_error`` ...)."""

    payload: dict[str, Any]
    is_error: bool = False
    outcome: str = "ok"
    audit: dict[str, Any] = field(default_factory=dict)  # extra facts for the audit event


class ToolRefused(Exception):
    """The call ends with an error result before or instead of its work."""

    def __init__(self, outcome: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.result = ToolResult(
            payload={"error": {"code": outcome, "message": message, **details}},
            is_error=True,
            outcome=outcome,
            audit=details,
        )


Work = Callable[[], Awaitable[ToolResult]]


async def tool_call_run(call: ToolCall, work: Work) -> ToolResult:
    """Run one tool call through its rule and hold, then ``work``; record it once."""
    async with ThreadSensitiveContext():
        try:
            return await _decided_and_done(call, work)
        finally:
            with anyio.CancelScope(shield=True):
                await db(_connection_close)()


def _connection_close() -> None:
    """Close this thread's connection: the call's thread goes, so must its connection
    (resolved here, in the thread: ``connection`` is per thread)."""
    connection.close()


async def _decided_and_done(call: ToolCall, work: Work) -> ToolResult:
    started = time.monotonic()
    facts: dict[str, Any] = {}
    result = ToolResult(payload={}, is_error=True, outcome="cancelled")
    try:
        await _decide(call, facts)
        result = await work()
        return result
    except ToolRefused as refused:
        result = refused.result
        return result
    except Exception:
        logger.exception("MCP tool %s failed", call.tool)
        result = _internal_error()
        return result
    finally:
        with anyio.CancelScope(shield=True):
            await db(_record)(call, result, facts, time.monotonic() - started)


async def _decide(call: ToolCall, facts: dict[str, Any]) -> None:
    """Return when the call may go ahead (no rule, an allow rule, an approved hold); raise
    ToolRefused when it may not."""
    identity, resource = call.caller.identity, call.resource
    rule = await db(tool_rule_for_call)(identity=identity, tool=call.tool, resource=resource)
    if rule is None or rule.effect == ToolRule.Effect.ALLOW:
        facts["rule"] = rule.name if rule else ""
        return
    facts["rule"] = rule.name
    if rule.effect == ToolRule.Effect.DENY:
        raise ToolRefused(
            "denied_by_rule",
            f"tool rule {rule.name!r} does not let {identity.get_username()} call {call.tool}"
            + (f" on {resource.name}" if resource else ""),
            rule=rule.name,
        )
    await _held(call, rule, facts)


async def _held(call: ToolCall, rule: ToolRule, facts: dict[str, Any]) -> None:
    hold = await db(tool_call_hold_create)(
        identity=call.caller.identity,
        on_behalf_of=call.caller.on_behalf_of,
        tool=call.tool,
        arguments=call.arguments,
        resource=call.resource,
        rule=rule,
        correlation_id=call.correlation_id,
    )
    facts["hold"] = str(hold.pk)
    decided = await tool_call_hold_wait(hold)
    facts["hold_status"] = decided.status
    if decided.status == ToolCallHold.Status.APPROVED:
        facts["approved_by"] = decided.decided_by.get_username() if decided.decided_by else ""
        return
    by = decided.decided_by.get_username() if decided.decided_by else ""
    raise ToolRefused(
        f"hold_{decided.status}",
        _hold_message(decided.status, rule=rule.name, by=by),
        rule=rule.name,
        hold=str(hold.pk),
    )


async def tool_call_hold_wait(hold: ToolCallHold) -> ToolCallHold:
    """Wait for ``hold`` to be decided, polling its row every HOLD_POLL_SECONDS; at its
    deadline expire it (unless a decision won the race). A caller that goes away withdraws
    it, so nobody approves a call nobody waits for."""
    try:
        while True:
            current = await db(_hold_fresh)(hold.pk)
            if current.status != ToolCallHold.Status.PENDING:
                return current
            if timezone.now() >= current.expires_at:
                await db(tool_call_hold_expire)(hold_id=hold.pk)
                return await db(_hold_fresh)(hold.pk)
            await asyncio.sleep(HOLD_POLL_SECONDS)
    except BaseException:  # cancelled (the client left) or failed: nobody waits any more
        with anyio.CancelScope(shield=True):
            await db(tool_call_hold_withdraw)(hold_id=hold.pk)
        raise


def _hold_fresh(hold_id: object) -> ToolCallHold:
    return ToolCallHold.objects.select_related("decided_by").get(pk=hold_id)


def _hold_message(status: str, *, rule: str, by: str) -> str:
    messages = {
        ToolCallHold.Status.DENIED: f"an approver ({by}) denied this call held by tool rule "
        f"{rule!r}",
        ToolCallHold.Status.EXPIRED: f"nobody approved this call held by tool rule {rule!r} "
        "in time; ask again later or request access with a reason",
        ToolCallHold.Status.WITHDRAWN: "the held call was withdrawn",
    }
    return messages.get(ToolCallHold.Status(status), f"the held call ended {status}")


def _internal_error() -> ToolResult:
    """An unexpected failure: the client learns nothing of its details (they are logged)."""
    return ToolResult(
        payload={"error": {"code": "internal_error", "message": "the tool failed; try again"}},
        is_error=True,
        outcome="internal_error",
    )


def _record(call: ToolCall, result: ToolResult, facts: Mapping[str, Any], seconds: float) -> None:
    """The call's one ``mcp.tool_call`` event."""
    caller = call.caller
    with transaction.atomic():
        audit_event_record(
            actor=caller.identity,
            on_behalf_of=caller.on_behalf_of,
            action=McpAction.TOOL_CALL,
            resource=call.resource.name if call.resource else "",
            payload={
                "tool": call.tool,
                "arguments": arguments_for_audit(call.arguments),
                "arguments_sha256": arguments_digest(call.arguments),
                "outcome": result.outcome,
                "error": result.is_error,
                "duration_ms": round(seconds * 1000, 1),
                "correlation_id": call.correlation_id,
                "via": caller.via,
                **facts,
                **result.audit,
            },
        )
