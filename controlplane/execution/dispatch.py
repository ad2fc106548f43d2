"""The round trip of one exec call to the agent serving the resource, over the channel layer.

    resource_exec ──group_send(agent.<id>, exec.call {exec, reply, wait_s})──▶ AgentConsumer
                                                     (pushes the snapshot, sends ``exec``)
    resource_exec ◀──reply: exec.accepted── AgentConsumer            (an agent has the call)
    resource_exec ◀──reply: exec.result {result}── AgentConsumer ◀── ``exec_result`` frame

The reply address is a channel of its own (``new_channel``), so this works with the
in-memory layer (one process) and with Redis (the agent's websocket in another process).
No ``exec.accepted`` within ACCEPT_TIMEOUT_S means no consumer of that agent is listening.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels.layers import get_channel_layer

from controlplane.agents.revision import agent_group
from dataplane.contract import ContractError
from dataplane.contract.exec_call import ExecCall, ExecResult

ACCEPT_TIMEOUT_S = 5.0
EXEC_CALL_MESSAGE = "exec.call"
EXEC_ACCEPTED_MESSAGE = "exec.accepted"
EXEC_RESULT_MESSAGE = "exec.result"


class AgentUnavailable(Exception):
    """No connected agent took the call."""


class AgentSilent(Exception):
    """The agent took the call but sent no result in time."""


async def exec_roundtrip(*, agent_id: object, call: ExecCall, wait_s: float) -> ExecResult:
    """Send ``call`` to the agent's websocket and wait up to ``wait_s`` for its result."""
    layer = get_channel_layer()
    if layer is None:
        raise AgentUnavailable("the control plane has no channel layer")
    reply = await layer.new_channel("exec.reply.")
    message = {"type": EXEC_CALL_MESSAGE, "exec": call.to_dict(), "reply": reply, "wait_s": wait_s}
    await layer.group_send(agent_group(agent_id), message)
    try:
        await _next(layer, reply, EXEC_ACCEPTED_MESSAGE, ACCEPT_TIMEOUT_S)
    except TimeoutError:
        raise AgentUnavailable("the agent serving the resource is not connected") from None
    try:
        answer = await _next(layer, reply, EXEC_RESULT_MESSAGE, wait_s)
    except TimeoutError:
        raise AgentSilent(f"the agent sent no result within {wait_s:g} s") from None
    try:
        return ExecResult.from_dict(answer["result"])
    except (ContractError, KeyError, TypeError) as exc:
        raise AgentSilent(f"the agent's result is off-contract: {exc}") from None


async def _next(layer: Any, channel: str, kind: str, wait_s: float) -> dict[str, Any]:
    """The next message of type ``kind`` on ``channel`` (others, e.g. a second accept from
    a duplicate consumer, are skipped)."""
    async with asyncio.timeout(wait_s):
        while True:
            message: dict[str, Any] = await layer.receive(channel)
            if message.get("type") == kind:
                return message
