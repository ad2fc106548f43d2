"""The agent websocket, driven as an agent would drive it.

These tests commit for real (transaction=True): pushes happen on commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from pytest_django import Settings

from controlplane.access.models import Grant
from controlplane.access.services import grant_create, grant_revoke
from controlplane.agents import revision
from controlplane.agents.models import Agent
from controlplane.agents.services import IssuedAgent
from controlplane.audit.models import AuditEvent
from controlplane.identities.models import User
from controlplane.resources.models import Resource
from dataplane.contract import Actor
from dataplane.contract import AuditEvent as WireEvent
from tests.controlplane.agents.agent_link import AgentLink

pytestmark = pytest.mark.django_db(transaction=True)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()


async def connected(link: AgentLink) -> tuple[dict[str, Any], dict[str, Any]]:
    """Connect and return the welcome and the first snapshot frames."""
    accepted, code = await link.connect()
    assert accepted, code
    return await link.receive(), await link.receive()


def wire_event(seq: int, action: str = "statement") -> dict[str, Any]:
    return WireEvent(
        seq=seq,
        time=datetime(2026, 1, 2, 3, 4, 5, seq, tzinfo=UTC).isoformat(),
        action=action,
        actor=Actor(sub="0b7c", kind="service_account", name="agent-smith"),
        resource="appdb",
        protocol="postgres",
        session="s-1",
        payload={"statement": f"SELECT {seq}"},
    ).to_dict()


@pytest.mark.parametrize("token", [None, "", "gha_000000000000_wrong", "not-a-token"])
def test_a_missing_or_bad_token_is_refused_with_4401_before_accepting(
    edge: IssuedAgent, token: str | None
) -> None:
    async def scenario() -> None:
        accepted, code = await AgentLink(token).connect()
        assert (accepted, code) == (False, 4401)

    run(scenario)


def test_where_the_server_can_answer_http_a_bad_token_gets_a_401_response(
    edge: IssuedAgent,
) -> None:
    async def scenario() -> None:
        link = AgentLink("gha_000000000000_wrong", extensions={"websocket.http.response": {}})
        await link.send_input({"type": "websocket.connect"})
        start = await link.receive_output(5)
        assert (start["type"], start["status"]) == ("websocket.http.response.start", 401)
        assert (b"www-authenticate", b"Bearer") in start["headers"]
        body = await link.receive_output(5)
        assert body["type"] == "websocket.http.response.body"
        await link.disconnect()

    run(scenario)


def test_on_connect_the_agent_gets_a_welcome_then_its_snapshot(
    edge: IssuedAgent, appdb: Resource, smith_on_appdb: Grant
) -> None:
    async def scenario() -> None:
        ws = AgentLink(edge.token)
        welcome, snapshot = await connected(ws)
        assert welcome == {"v": 1, "type": "welcome", "last_seq": 0}
        assert snapshot["type"] == "snapshot"
        assert [r["name"] for r in snapshot["snapshot"]["resources"]] == ["appdb"]
        assert [g["id"] for g in snapshot["snapshot"]["grants"]] == [str(smith_on_appdb.pk)]
        await ws.disconnect()

    run(scenario)
    agent = Agent.objects.get(pk=edge.agent.pk)
    assert agent.connected is False and agent.last_seen_at is not None
    assert list(AuditEvent.objects.filter(actor_kind="agent").values_list("action", flat=True)) == [
        "agent.disconnected",
        "agent.connected",
    ]


def test_events_are_stored_once_and_acked_even_when_a_batch_is_re_sent(edge: IssuedAgent) -> None:
    async def scenario() -> None:
        ws = AgentLink(edge.token)
        await connected(ws)
        batch = [wire_event(1, "session.start"), wire_event(2), wire_event(3)]
        await ws.send("events", events=batch)
        assert await ws.receive() == {"v": 1, "type": "ack", "seq": 3}
        await ws.send("events", events=[*batch[1:], wire_event(4, "session.end")])
        assert await ws.receive() == {"v": 1, "type": "ack", "seq": 4}
        await ws.disconnect()

    run(scenario)
    stored = AuditEvent.objects.filter(agent=edge.agent).order_by("agent_seq")
    assert [e.agent_seq for e in stored] == [1, 2, 3, 4]
    assert [e.action for e in stored] == ["session.start", "statement", "statement", "session.end"]
    assert (stored[1].actor_name, stored[1].resource, stored[1].payload) == (
        "agent-smith",
        "appdb",
        {"statement": "SELECT 2"},
    )


def test_the_welcome_tells_a_reconnecting_agent_the_highest_seq_stored(edge: IssuedAgent) -> None:
    async def scenario() -> None:
        ws = AgentLink(edge.token)
        await connected(ws)
        await ws.send("events", events=[wire_event(1), wire_event(2)])
        await ws.receive()
        await ws.disconnect()
        again = AgentLink(edge.token)
        welcome, _ = await connected(again)
        assert welcome["last_seq"] == 2
        await again.disconnect()

    run(scenario)


def test_hello_and_heartbeat_record_what_the_agent_reports(edge: IssuedAgent) -> None:
    async def scenario() -> None:
        ws = AgentLink(edge.token)
        await connected(ws)
        await ws.send("hello", agent_version="0.1.0", revision=3)
        await ws.send("heartbeat", revision=4, spool_backlog=17, sessions=2)
        await ws.send("events", events=[wire_event(1)])  # an ack proves the frames before it ran
        await ws.receive()
        agent = await database_sync_to_async(Agent.objects.get)(pk=edge.agent.pk)
        assert (
            agent.version,
            agent.config_revision_acked,
            agent.spool_backlog,
            agent.connected,
        ) == (
            "0.1.0",
            4,
            17,
            True,
        )
        await ws.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        '{"v": 99, "type": "hello"}',
        '{"v": 1, "type": "snapshot", "snapshot": {}}',
        '{"v": 1, "type": "events", "events": []}',
        '{"v": 1, "type": "events", "events": [{"format": 1, "seq": 0}]}',
        '{"v": 1, "type": "heartbeat", "revision": "x", "spool_backlog": 0}',
    ],
)
def test_an_off_contract_frame_gets_an_error_and_a_4400_close(
    edge: IssuedAgent, frame: str
) -> None:
    async def scenario() -> None:
        ws = AgentLink(edge.token)
        await connected(ws)
        await ws.send_frame(frame)
        error = await ws.receive()
        assert error["type"] == "error" and error["message"]
        assert await ws.receive_close_code() == 4400
        await ws.disconnect()

    run(scenario)


def test_an_event_with_a_time_without_timezone_is_off_contract(edge: IssuedAgent) -> None:
    async def scenario() -> None:
        ws = AgentLink(edge.token)
        await connected(ws)
        await ws.send("events", events=[{**wire_event(1), "time": "2026-01-02T03:04:05"}])
        assert (await ws.receive())["type"] == "error"
        await ws.disconnect()

    run(scenario)
    assert not AuditEvent.objects.filter(agent=edge.agent).exists()


def test_revoking_a_grant_pushes_a_snapshot_without_it(
    bob: User, edge: IssuedAgent, appdb: Resource, smith_on_appdb: Grant, settings: Settings
) -> None:
    settings.GATEHOUSE_CONFIG_POLL_SECONDS = 60  # so only the channel-layer push can deliver

    async def scenario() -> None:
        ws = AgentLink(edge.token)
        _, first = await connected(ws)
        assert len(first["snapshot"]["grants"]) == 1
        await database_sync_to_async(grant_revoke)(actor=bob, grant=smith_on_appdb)
        pushed = await ws.receive(wait_s=2)
        assert pushed["type"] == "snapshot"
        assert pushed["snapshot"]["grants"] == []
        assert pushed["snapshot"]["revision"] > first["snapshot"]["revision"]
        await ws.disconnect()

    run(scenario)


def test_a_change_made_without_a_channel_layer_push_still_arrives_within_a_second(
    bob: User, alice: User, edge: IssuedAgent, appdb: Resource, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if the change came from another process (a management command) whose in-memory
    # channel layer reaches no websocket: only the revision poll can deliver it.
    monkeypatch.setattr(revision, "_notify", lambda groups: None)

    async def scenario() -> None:
        ws = AgentLink(edge.token)
        await connected(ws)
        grant = await database_sync_to_async(grant_create)(
            actor=bob, identity=alice, resource=appdb, duration=timedelta(hours=1)
        )
        pushed = await ws.receive(wait_s=1.0)
        assert [g["id"] for g in pushed["snapshot"]["grants"]] == [str(grant.pk)]
        await ws.disconnect()

    run(scenario)


def test_each_revision_reaches_an_agent_once_though_push_and_poll_both_notice_it(
    bob: User, alice: User, edge: IssuedAgent, appdb: Resource
) -> None:
    async def scenario() -> None:
        ws = AgentLink(edge.token)
        await connected(ws)
        await database_sync_to_async(grant_create)(
            actor=bob, identity=alice, resource=appdb, duration=timedelta(hours=1)
        )
        pushed = await ws.receive(wait_s=2)
        assert len(pushed["snapshot"]["grants"]) == 1
        assert await ws.receive_nothing(timeout=1.2)
        await ws.disconnect()

    run(scenario)
