"""Holds over the agent websocket, driven as an agent would drive it: the hold frame is
stored, a decision made in the console reaches the agent as ``hold_decision`` through the
channel layer, a hold sent again after its decision is answered at once, and a withdrawn
hold can no longer be decided. These tests commit for real (pushes happen on commit)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from pytest_django import Settings

from controlplane.agents.services import IssuedAgent
from controlplane.guardrails import holds
from controlplane.guardrails.holds import statement_hold_approve, statement_hold_deny
from controlplane.guardrails.models import StatementHold
from controlplane.identities.models import User
from controlplane.resources.models import Resource
from tests.controlplane.agents.agent_link import AgentLink
from tests.controlplane.guardrails.conftest import hold_body

pytestmark = pytest.mark.django_db(transaction=True)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()


async def connected(link: AgentLink) -> None:
    accepted, code = await link.connect()
    assert accepted, code
    assert (await link.receive())["type"] == "welcome"
    assert (await link.receive())["type"] == "snapshot"


async def stored(hold_id: str, status: str = "pending") -> StatementHold:
    """Wait until the consumer has stored the hold (frames are handled in order, but the
    test's send returns before the consumer is done)."""
    for _ in range(200):
        hold = await database_sync_to_async(StatementHold.objects.filter(pk=hold_id).first)()
        if hold is not None and hold.status == status:
            return hold
        await asyncio.sleep(0.01)
    raise AssertionError(f"hold {hold_id} never became {status}")


@pytest.fixture
def quiet(settings: Settings) -> None:
    settings.GATEHOUSE_CONFIG_POLL_SECONDS = 60  # only the channel-layer push delivers


@pytest.mark.usefixtures("quiet", "appdb")
def test_a_decision_in_the_console_reaches_the_agent_holding_the_statement(
    edge: IssuedAgent, agent_smith: User, bob: User
) -> None:
    body = hold_body(agent_smith)
    hold_id = body["hold"]["id"]

    async def scenario() -> None:
        ws = AgentLink(edge.token)
        await connected(ws)
        await ws.send("hold", **body)
        hold = await stored(hold_id)
        await database_sync_to_async(statement_hold_approve)(actor=bob, hold=hold)
        decision = await ws.receive(wait_s=2)
        assert decision["type"] == "hold_decision"
        assert (decision["id"], decision["decision"], decision["by"]) == (
            hold_id,
            "approved",
            "bob",
        )
        # After a reconnect the agent sends the hold again: the answer comes at once.
        await ws.send("hold", **body)
        again = await ws.receive(wait_s=2)
        assert (again["type"], again["decision"]) == ("hold_decision", "approved")
        await ws.disconnect()

    run(scenario)


@pytest.mark.usefixtures("quiet", "appdb")
def test_a_withdrawn_hold_cannot_be_denied_any_more(
    edge: IssuedAgent, agent_smith: User, bob: User
) -> None:
    body = hold_body(agent_smith)
    hold_id = body["hold"]["id"]

    async def scenario() -> None:
        ws = AgentLink(edge.token)
        await connected(ws)
        await ws.send("hold", **body)
        await stored(hold_id)
        await ws.send("hold_withdrawn", id=hold_id, reason="client cancelled")
        hold = await stored(hold_id, status="withdrawn")
        with pytest.raises(Exception, match="withdrawn"):
            await database_sync_to_async(statement_hold_deny)(actor=bob, hold=hold)
        await ws.disconnect()

    run(scenario)


@pytest.mark.usefixtures("appdb")
def test_a_hold_for_a_resource_of_another_agent_is_denied_at_once(
    edge: IssuedAgent, edge2: IssuedAgent, agent_smith: User
) -> None:
    body = hold_body(agent_smith)  # appdb is edge-1's

    async def scenario() -> None:
        ws = AgentLink(edge2.token)
        await connected(ws)
        await ws.send("hold", **body)
        answer = await ws.receive(wait_s=2)
        assert (answer["type"], answer["decision"], answer["by"]) == ("hold_decision", "denied", "")
        await ws.disconnect()

    run(scenario)
    assert not StatementHold.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"id": "not-a-uuid"},
        {"statement": ""},
        {"expires_at": "2026-11-30T12:00:00"},  # no offset
        {"statement": 42},
    ],
)
def test_an_off_contract_hold_gets_an_error_and_a_4400_close(
    edge: IssuedAgent, agent_smith: User, appdb: Resource, change: dict[str, Any]
) -> None:
    body = hold_body(agent_smith)
    body["hold"].update(change)

    async def scenario() -> None:
        ws = AgentLink(edge.token)
        await connected(ws)
        await ws.send("hold", **body)
        assert (await ws.receive())["type"] == "error"
        assert await ws.receive_close_code() == 4400

    run(scenario)
    assert not StatementHold.objects.exists()


@pytest.mark.usefixtures("appdb")
def test_a_decision_made_in_another_process_still_reaches_the_agent(
    edge: IssuedAgent,
    agent_smith: User,
    bob: User,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No shared channel layer (a management command, another replica): the websocket's
    poll finds the decision of a hold its agent waits on."""
    settings.GATEHOUSE_CONFIG_POLL_SECONDS = 0.05
    monkeypatch.setattr(holds, "_send", lambda group, body: None)  # the push never arrives
    body = hold_body(agent_smith)
    hold_id = body["hold"]["id"]

    async def scenario() -> None:
        ws = AgentLink(edge.token)
        await connected(ws)
        await ws.send("hold", **body)
        hold = await stored(hold_id)
        await database_sync_to_async(statement_hold_deny)(actor=bob, hold=hold)
        decision = await ws.receive(wait_s=2)
        assert (decision["type"], decision["id"], decision["decision"]) == (
            "hold_decision",
            hold_id,
            "denied",
        )
        await ws.disconnect()

    run(scenario)
