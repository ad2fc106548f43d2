"""Over the agent websocket: a terminate reaches the agent serving the session as a
``session_terminate`` frame, and a fresh agent process (hello at revision 0) ends the
sessions its predecessor left open. These tests commit for real (pushes happen on commit)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from pytest_django import Settings

from controlplane.agents.services import IssuedAgent
from controlplane.identities.models import User
from controlplane.sessions.models import SessionRecord
from controlplane.sessions.services import session_terminate
from tests.controlplane.agents.agent_link import AgentLink
from tests.controlplane.agents.test_consumers import connected, run, wire_event

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_terminate_reaches_the_agent_serving_the_session(
    bob: User, edge: IssuedAgent, settings: Settings
) -> None:
    settings.GATEHOUSE_CONFIG_POLL_SECONDS = 60  # only the channel-layer push can deliver

    async def scenario() -> None:
        ws = AgentLink(edge.token)
        await connected(ws)
        await ws.send("events", events=[wire_event(1, "session.start"), wire_event(2)])
        assert (await ws.receive())["type"] == "ack"
        record = await database_sync_to_async(SessionRecord.objects.get)(session_id="s-1")
        await database_sync_to_async(session_terminate)(actor=bob, record=record, reason="leak")
        frame = await ws.receive(wait_s=2)
        assert frame == {
            "v": 1,
            "type": "session_terminate",
            "session": "s-1",
            "reason": "leak",
            "by": "bob",
        }
        await ws.disconnect()

    run(scenario)


def test_a_fresh_agent_process_ends_the_sessions_left_open(edge: IssuedAgent) -> None:
    async def scenario() -> None:
        ws = AgentLink(edge.token)
        await connected(ws)
        await ws.send("events", events=[wire_event(1, "session.start")])
        await ws.receive()
        # Frames are handled in order: the ack of the next batch says the hello is done.
        await ws.send("hello", agent_version="1.0", revision=3)  # a reconnect: still served
        await ws.send("events", events=[wire_event(2)])
        await ws.receive()
        assert await _open_sessions() == 1
        await ws.send("hello", agent_version="1.0", revision=0)  # a new process
        await ws.send("events", events=[wire_event(3, "credential.dropped") | {"session": ""}])
        await ws.receive()
        assert await _open_sessions() == 0
        await ws.disconnect()

    run(scenario)
    assert SessionRecord.objects.get().end_reason.startswith("lost:")


@database_sync_to_async
def _open_sessions() -> int:
    return SessionRecord.objects.open().count()
