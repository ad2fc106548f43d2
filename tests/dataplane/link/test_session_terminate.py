"""``session_terminate`` frames: the link ends the named live session through the session
registry (reason "terminated by <by>..."); an unknown id or a malformed frame is a log
line, and the link stays connected."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dataplane.contract import ContractError
from dataplane.contract.envelopes import CONTROL_PLANE_TO_AGENT, SessionTerminate
from dataplane.core.session import Session, SessionRegistry
from dataplane.link.spool import Spool
from tests.dataplane.link.test_control_plane_link import Agent, ControlPlanePeer, eventually, run


def _terminate(session: str, reason: str = "", by: str = "bob") -> dict[str, object]:
    return {"type": "session_terminate", "body": {"session": session, "reason": reason, "by": by}}


def test_the_frame_is_part_of_the_contract() -> None:
    assert "session_terminate" in CONTROL_PLANE_TO_AGENT
    order = SessionTerminate.from_body({"session": "s-1", "reason": "leak", "by": "bob"})
    assert order.end_reason == "terminated by bob: leak"
    assert SessionTerminate.from_body(order.to_body()) == order
    assert SessionTerminate("s-1", "", "bob").end_reason == "terminated by bob"
    for body in (
        {"session": "", "by": "bob"},
        {"session": "s", "by": ""},
        {"session": 1, "by": "b"},
    ):
        with pytest.raises(ContractError):
            SessionTerminate.from_body(body)


def test_the_registry_ends_a_live_session_by_id() -> None:
    registry, ended = SessionRegistry(), []
    session = Session(protocol="postgres", client_address="10.0.0.1:1")
    session.on_terminate(ended.append)
    registry.add(session)
    assert registry.terminate(session.id, "terminated by bob")
    assert ended == ["terminated by bob"]
    assert not registry.terminate("no-such-session", "terminated by bob")


def test_the_link_ends_the_named_session_and_logs_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[tuple[str, str]] = []

    def end_session(session_id: str, reason: str) -> bool:
        calls.append((session_id, reason))
        return session_id == "s-live"

    async def scenario() -> None:
        frames = [
            {"type": "welcome", "body": {"last_seq": 0}},
            _terminate("s-gone"),
            {"type": "session_terminate", "body": {"session": "s-live", "by": 7}},
            _terminate("s-live", "data leak", by="bob"),
        ]
        peer = ControlPlanePeer(first_frames=frames)
        await peer.start()
        agent = Agent(await Spool.open(tmp_path), peer.url, end_session=end_session)
        agent.start()
        await eventually(lambda: len(calls) == 2)
        await asyncio.sleep(0.1)
        assert agent.link.connected and peer.connections == 1  # nothing made it reconnect
        await agent.stop()
        await agent.spool.close()
        await peer.stop()

    run(scenario)
    assert calls == [("s-gone", "terminated by bob"), ("s-live", "terminated by bob: data leak")]
    assert "no such live session here" in caplog.text
    assert "ignoring a session_terminate frame" in caplog.text
    assert "session s-live terminated by bob" in caplog.text
