"""The agents page (/agents/): carol (auditor) and bob (administrator) see each agent's
state, version, config revision acknowledged against the current one, last heartbeat (stale
after 30 s), the resources it serves, its spool backlog and its token's state; the table
polls itself every 5 s. alice (a requester) is refused."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from controlplane.agents.models import Agent
from controlplane.agents.revision import config_revision_current
from controlplane.agents.services import IssuedAgent, agent_register, agent_token_revoke
from controlplane.identities.models import User
from controlplane.resources.models import Resource

HTMX = {"HTTP_HX_REQUEST": "true"}


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def row(page: str, name: str) -> str:
    start = page.index(f'<tr id="agent-{name}">')
    return page[start : page.index("</tr>", start)]


@pytest.fixture
def fleet(appdb: Resource, billingdb: Resource, edge: IssuedAgent, edge2: IssuedAgent) -> None:
    """edge-1 connected and current, serving appdb, two events in its spool; edge-2 connected
    but silent for a minute on an old revision; edge-3 never connected, its token revoked."""
    third = agent_register(actor=None, name="edge-3")
    agent_token_revoke(actor=None, agent=third.agent)
    now, current = timezone.now(), config_revision_current()
    Agent.objects.filter(pk=edge.agent.pk).update(
        connected=True, last_seen_at=now - timedelta(seconds=3), version="0.1.0",
        config_revision_acked=current, spool_backlog=2,
    )  # fmt: skip
    Agent.objects.filter(pk=edge2.agent.pk).update(
        connected=True, last_seen_at=now - timedelta(seconds=61), version="0.0.9",
        config_revision_acked=max(current - 1, 0),
    )  # fmt: skip


def test_a_requester_is_refused(alice: User, fleet: None) -> None:
    assert signed_in(alice).get("/agents/").status_code == 403


@pytest.mark.parametrize("persona", ["carol", "bob"])
def test_auditors_and_administrators_see_every_agent(
    persona: str, request: pytest.FixtureRequest, fleet: None
) -> None:
    response = signed_in(request.getfixturevalue(persona)).get("/agents/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f'id="config-revision">{config_revision_current()}<' in page
    assert 'hx-trigger="every 5s"' in page
    edge1, edge2, edge3 = row(page, "edge-1"), row(page, "edge-2"), row(page, "edge-3")
    assert "Connected" in edge1 and "0.1.0" in edge1 and "Current" in edge1
    assert ">appdb<" in edge1 and "billingdb" not in edge1
    assert re.search(r"<td>2 <span class=\"badge badge-warn\">pending", edge1)
    assert "Active" in edge1
    assert "Stale" in edge2 and "Behind" in edge2 and ">billingdb<" in edge2
    assert re.search(r">[345] s ago<", edge1) and re.search(r">1 min [123] s ago<", edge2)
    assert "Offline" in edge3 and "never" in edge3 and "Revoked" in edge3


def test_the_poll_gets_the_table_alone(carol: User, fleet: None) -> None:
    body = signed_in(carol).get("/agents/", **HTMX).content.decode()
    assert "<h1>" not in body and 'id="agents-table"' in body
