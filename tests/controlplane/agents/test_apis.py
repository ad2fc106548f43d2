"""REST: administrators register agents and see their state."""

from __future__ import annotations

from collections.abc import Callable

from rest_framework.test import APIClient

from controlplane.agents.selectors import agent_by_token
from controlplane.agents.services import IssuedAgent
from controlplane.identities.models import User

ClientAs = Callable[[User | None], APIClient]


def test_an_administrator_registers_an_agent_and_sees_its_token_once(
    client_as: ClientAs, bob: User
) -> None:
    api = client_as(bob)
    created = api.post("/api/v1/agents", {"name": "edge-1"}, format="json")
    assert created.status_code == 201
    assert agent_by_token(token=created.json()["token"]).name == "edge-1"
    listed = api.get("/api/v1/agents").json()["results"]
    assert [a["name"] for a in listed] == ["edge-1"]
    assert "token" not in listed[0]
    assert listed[0]["connected"] is False


def test_agent_names_are_unique_slugs(client_as: ClientAs, bob: User, edge: IssuedAgent) -> None:
    api = client_as(bob)
    assert api.post("/api/v1/agents", {"name": "edge-1"}, format="json").status_code == 400
    assert api.post("/api/v1/agents", {"name": "edge 1"}, format="json").status_code == 400


def test_non_administrators_may_not_see_or_register_agents(
    client_as: ClientAs, alice: User
) -> None:
    assert client_as(alice).get("/api/v1/agents").status_code == 403
    assert (
        client_as(alice).post("/api/v1/agents", {"name": "rogue"}, format="json").status_code == 403
    )
