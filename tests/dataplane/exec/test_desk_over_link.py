"""Exec calls over the real link: the control plane's ``exec`` frame reaches the desk, the
call runs as a task of its own, and its ``exec_result`` goes back on the same websocket."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection

from dataplane.contract import Envelope
from dataplane.contract.exec_call import ExecCall, ExecResult
from dataplane.exec.desk import ExecDesk
from dataplane.link.spool import Spool
from tests.dataplane.link.test_control_plane_link import Agent, ControlPlanePeer, eventually, run

CALL = {"format": 1, "id": "call-1", "resource": "orders-db", "token": "tok.en",
        "correlation_id": "run-1", "timeout_s": 5, "max_rows": 10, "sql": "select 1"}  # fmt: skip


class ExecPeer(ControlPlanePeer):
    """Sends the given exec frames once the agent's first heartbeat arrives; keeps results."""

    def __init__(self, calls: list[dict[str, Any]]) -> None:
        super().__init__()
        self.calls = calls
        self.results: list[dict[str, Any]] = []

    async def _on_frame(self, websocket: ServerConnection, envelope: Envelope) -> None:
        if envelope.type == "exec_result":
            self.results.append(envelope.body)
        elif envelope.type == "heartbeat" and self.calls:
            calls, self.calls = self.calls, []
            for body in calls:
                await self._send(websocket, "exec", **body)
        elif envelope.type != "heartbeat":
            await super()._on_frame(websocket, envelope)


def test_an_exec_frame_is_run_and_its_result_sent_back(tmp_path: Path) -> None:
    ran: list[ExecCall] = []

    async def runner(call: ExecCall) -> ExecResult:
        ran.append(call)
        await asyncio.sleep(0.01)
        return ExecResult(id=call.id, result={"rows": [[1]]})

    async def scenario() -> None:
        peer = ExecPeer([CALL])
        await peer.start()
        agent = Agent(await Spool.open(tmp_path), peer.url, exec_desk=ExecDesk(runner))
        agent.start()
        await eventually(lambda: bool(peer.results))
        expected = {"format": 1, "id": "call-1", "ok": True, "result": {"rows": [[1]]}}
        assert peer.results == [expected]
        assert ran[0].sql == "select 1" and ran[0].correlation_id == "run-1"
        await agent.stop()
        await agent.spool.close()
        await peer.stop()

    run(scenario)


def test_a_malformed_exec_frame_is_answered_with_bad_request_and_not_run(tmp_path: Path) -> None:
    async def runner(call: ExecCall) -> ExecResult:
        raise AssertionError("a malformed call must not run")

    async def scenario() -> None:
        peer = ExecPeer([{**CALL, "token": ""}])
        await peer.start()
        agent = Agent(await Spool.open(tmp_path), peer.url, exec_desk=ExecDesk(runner))
        agent.start()
        await eventually(lambda: bool(peer.results))
        (result,) = peer.results
        assert result["ok"] is False and result["error"]["code"] == "bad_request"
        assert result["error"]["status"] == 400
        assert agent.link.connected  # the link goes on
        await agent.stop()
        await agent.spool.close()
        await peer.stop()

    run(scenario)
