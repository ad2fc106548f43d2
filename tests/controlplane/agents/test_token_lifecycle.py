"""An administrator rotates or revokes an agent's token: the old token is refused at once,
and an agent still connected with it is disconnected (4401) before it gets another snapshot.

These tests commit for real (transaction=True): pushes happen on commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from io import StringIO

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.core.management import call_command
from pytest_django import Settings
from rest_framework.test import APIClient

from controlplane.agents import revision, services
from controlplane.agents.models import Agent
from controlplane.agents.selectors import agent_by_token
from controlplane.agents.services import IssuedAgent, agent_token_revoke, agent_token_rotate
from controlplane.audit.models import AuditEvent
from controlplane.identities.models import User
from tests.controlplane.agents.agent_link import AgentLink

pytestmark = pytest.mark.django_db(transaction=True)

ClientAs = Callable[[User | None], APIClient]


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()


async def connected(token: str) -> AgentLink:
    link = AgentLink(token)
    accepted, code = await link.connect()
    assert accepted, code
    await link.receive()  # welcome
    await link.receive()  # first snapshot
    return link


def test_a_rotated_token_replaces_the_old_one_at_once(bob: User, edge: IssuedAgent) -> None:
    rotated = agent_token_rotate(actor=bob, agent=edge.agent)
    assert agent_by_token(token=edge.token) is None
    assert agent_by_token(token=rotated.token) == edge.agent
    event = AuditEvent.objects.get(action="agent.token_rotated")
    assert event.actor_name == "bob"
    assert event.payload["old_prefix"] == edge.agent.token_prefix
    assert edge.token not in str(event.payload) and rotated.token not in str(event.payload)


def test_a_revoked_token_is_refused_until_the_next_rotation(bob: User, edge: IssuedAgent) -> None:
    agent_token_revoke(actor=bob, agent=edge.agent)
    agent_token_revoke(actor=bob, agent=edge.agent)  # a second revoke changes nothing
    assert agent_by_token(token=edge.token) is None
    assert AuditEvent.objects.filter(action="agent.token_revoked").count() == 1
    rotated = agent_token_rotate(actor=bob, agent=edge.agent)
    assert agent_by_token(token=rotated.token) == edge.agent


def test_a_revoked_token_cannot_open_the_websocket(bob: User, edge: IssuedAgent) -> None:
    agent_token_revoke(actor=bob, agent=edge.agent)

    async def scenario() -> None:
        accepted, code = await AgentLink(edge.token).connect()
        assert (accepted, code) == (False, 4401)

    run(scenario)


@pytest.mark.parametrize("change", [agent_token_revoke, agent_token_rotate])
def test_a_connected_agent_whose_token_is_revoked_or_rotated_is_disconnected(
    bob: User, edge: IssuedAgent, settings: Settings, change: Callable[..., object]
) -> None:
    settings.GATEHOUSE_CONFIG_POLL_SECONDS = 60  # so only the channel-layer message can do it

    async def scenario() -> None:
        ws = await connected(edge.token)
        await database_sync_to_async(change)(actor=bob, agent=edge.agent)
        assert await ws.receive_close_code(wait_s=2) == 4401
        assert await ws.receive_nothing(timeout=1.0)  # closed once, and no snapshot after it
        await ws.disconnect(4401)

    run(scenario)


def test_a_revocation_from_another_process_still_disconnects_the_agent(
    edge: IssuedAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if `manage.py revoke_agent_token` ran in another process whose in-memory channel
    # layer reaches no websocket: the revision poll notices, and the socket re-checks.
    monkeypatch.setattr(revision, "_notify", lambda groups: None)
    monkeypatch.setattr(services, "_credentials_notify", lambda group: None)

    async def scenario() -> None:
        ws = await connected(edge.token)
        await database_sync_to_async(call_command)("revoke_agent_token", "edge-1")
        assert await ws.receive_close_code(wait_s=2) == 4401
        await ws.disconnect(4401)

    run(scenario)


def test_the_new_token_connects_after_a_rotation(bob: User, edge: IssuedAgent) -> None:
    rotated = agent_token_rotate(actor=bob, agent=edge.agent)

    async def scenario() -> None:
        ws = await connected(rotated.token)
        await ws.disconnect()

    run(scenario)


def test_administrators_rotate_and_revoke_through_the_api(
    client_as: ClientAs, bob: User, alice: User, edge: IssuedAgent
) -> None:
    assert client_as(alice).post("/api/v1/agents/edge-1/token/rotate").status_code == 403
    assert client_as(alice).post("/api/v1/agents/edge-1/token/revoke").status_code == 403
    assert client_as(bob).post("/api/v1/agents/nope/token/revoke").status_code == 404
    rotated = client_as(bob).post("/api/v1/agents/edge-1/token/rotate")
    assert rotated.status_code == 201
    new_token = rotated.json()["token"]
    assert agent_by_token(token=new_token) == edge.agent
    revoked = client_as(bob).post("/api/v1/agents/edge-1/token/revoke")
    assert revoked.status_code == 200
    assert revoked.json()["token_revoked_at"] is not None
    assert "token" not in revoked.json()
    assert agent_by_token(token=new_token) is None


def test_the_rotate_command_prints_the_new_token_once(edge: IssuedAgent) -> None:
    out = StringIO()
    call_command("rotate_agent_token", "edge-1", stdout=out, stderr=StringIO())
    new_token = out.getvalue().strip()
    assert agent_by_token(token=new_token) == Agent.objects.get(name="edge-1")
    assert agent_by_token(token=edge.token) is None
