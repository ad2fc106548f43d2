"""GET /api/v1/sessions (filters as the console's) and POST .../terminate."""

from __future__ import annotations

from collections.abc import Callable
from unittest.mock import patch

import pytest
from rest_framework.test import APIClient

from controlplane.agents.models import Agent
from controlplane.identities.models import User
from dataplane.contract import AuditEvent as WireEvent
from tests.controlplane.sessions.conftest import actor_of, session_events

ClientAs = Callable[[User | None], APIClient]
Ingest = Callable[[list[WireEvent]], int]


@pytest.fixture
def sessions(ingest: Ingest, edge_online: Agent, alice: User, agent_smith: User) -> None:
    ingest(session_events(1, "s-alice", actor_of(alice), end=False))
    ingest(session_events(10, "s-smith", actor_of(agent_smith), statements=0))


def test_the_list_is_filtered_and_scoped(
    sessions: None, client_as: ClientAs, carol: User, alice: User
) -> None:
    everything = client_as(carol).get("/api/v1/sessions").json()
    assert everything["count"] == 2
    live = client_as(carol).get("/api/v1/sessions", {"live": "true"}).json()["results"]
    assert [s["session_id"] for s in live] == ["s-alice"]
    assert live[0]["state"] == "live" and live[0]["actor"]["name"] == "alice"
    assert live[0]["statements"] == 2 and live[0]["masked_values"] == 4
    own = client_as(alice).get("/api/v1/sessions").json()["results"]
    assert [s["session_id"] for s in own] == ["s-alice"]
    bad = client_as(carol).get("/api/v1/sessions", {"protocol": "smtp"})
    assert bad.status_code == 400 and "protocol" in bad.json()
    assert client_as(None).get("/api/v1/sessions").status_code in (401, 403)


def test_terminate(sessions: None, client_as: ClientAs, bob: User, carol: User) -> None:
    assert client_as(carol).post("/api/v1/sessions/s-alice/terminate").status_code == 403
    assert client_as(bob).post("/api/v1/sessions/nope/terminate").status_code == 404
    with patch("controlplane.sessions.services._send"):
        done = client_as(bob).post(
            "/api/v1/sessions/s-alice/terminate", {"reason": "leak"}, format="json"
        )
    assert done.status_code == 202 and done.json()["session_id"] == "s-alice"
    ended = client_as(bob).post("/api/v1/sessions/s-smith/terminate")
    assert ended.status_code == 400 and "already ended" in str(ended.json())
