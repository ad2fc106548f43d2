"""The sessions page: filters in GET parameters (htmx gets the table alone), the live panel
with Terminate buttons only for those allowed, and a terminate POST that refuses auditors
(403) and requesters, asks plain posts to confirm, and tells the agent for an admin."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import patch

import pytest
from django.test import Client
from django.utils import timezone

from controlplane.agents.models import Agent
from controlplane.audit.models import AuditEvent
from controlplane.identities.models import User
from controlplane.policies.models import Policy
from tests.controlplane.sessions.conftest import (  # noqa: F401
    actor_of,
    edge_online,
    ingest,
    session_events,
    wire_event,
)
from tests.controlplane.web.test_console import HTMX, signed_in


@pytest.fixture
def sessions(ingest, edge_online: Agent, developer_alice: User, bob: User) -> None:  # noqa: F811
    ingest(session_events(1, "s-alice", actor_of(developer_alice), end=False))
    just_now = timezone.now() - timedelta(seconds=20)  # s-bob ended a few seconds ago
    bob_events = session_events(10, "s-bob", actor_of(bob), statements=1, base=just_now)
    denial = wire_event(13, "guardrail.denied", session="s-bob", actor=actor_of(bob), at=just_now)
    ingest([*bob_events, denial])


def test_an_auditor_sees_every_session_but_no_terminate_button(sessions: None, carol: User) -> None:
    page = signed_in(carol).get("/sessions/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="session-s-alice"' in html and 'id="session-s-bob"' in html
    assert 'id="live-s-alice"' in html and "Live</span>" in html
    assert "/sessions/s-alice/terminate" not in html


def test_an_auditor_posting_terminate_gets_403(sessions: None, carol: User) -> None:
    client = signed_in(carol)
    for headers in ({}, HTMX):
        answer = client.post("/sessions/s-alice/terminate", {"confirm": "yes"}, **headers)
        assert answer.status_code == 403
    assert not AuditEvent.objects.filter(action="session.terminate_requested").exists()


def test_a_requester_sees_only_her_own_sessions(sessions: None, developer_alice: User) -> None:
    html = signed_in(developer_alice).get("/sessions/").content.decode()
    assert 'id="session-s-alice"' in html and "s-bob" not in html
    assert "/sessions/s-alice/terminate" not in html
    assert signed_in(developer_alice).post("/sessions/s-bob/terminate").status_code == 404
    assert signed_in(developer_alice).post("/sessions/s-alice/terminate").status_code == 403


def test_filters_are_get_parameters_and_htmx_gets_the_table_alone(
    sessions: None, bob: User
) -> None:
    client = signed_in(bob)
    html = client.get("/sessions/", {"denied": "on"}).content.decode()
    assert 'id="session-s-bob"' in html and 'id="session-s-alice"' not in html
    fragment = client.get(
        "/sessions/", {"identity": "alice"}, HTTP_HX_TARGET="session-results", **HTMX
    ).content.decode()
    assert "<h1>" not in fragment and 'id="session-s-alice"' in fragment
    assert 'id="session-s-bob"' not in fragment
    bad = client.get("/sessions/", {"since": "2026-03-02T00:00", "until": "2026-03-01T00:00"})
    assert bad.status_code == 400 and "must be after" in bad.content.decode()


def test_the_live_panel_polls_and_offers_terminate_to_the_approver(
    sessions: None, erin: User, appdb_policy: Policy
) -> None:
    fragment = signed_in(erin).get("/sessions/live", **HTMX).content.decode()
    assert 'id="live-s-alice"' in fragment and "/sessions/s-alice/terminate" in fragment
    assert "hx-confirm" in fragment
    assert "s-bob" in fragment  # ended a moment ago: still shown, marked ended
    assert 'data-state="ended"' in fragment


def test_an_admin_terminates_after_confirming(sessions: None, bob: User) -> None:
    client = signed_in(bob)
    confirm = client.post("/sessions/s-alice/terminate")
    assert confirm.status_code == 200 and 'name="confirm" value="yes"' in confirm.content.decode()
    assert not AuditEvent.objects.filter(action="session.terminate_requested").exists()
    with patch("controlplane.sessions.services._send"):
        done = client.post("/sessions/s-alice/terminate", {"confirm": "yes", "reason": "leak"})
    assert done.status_code == 302 and done["Location"] == "/sessions/"
    event = AuditEvent.objects.get(action="session.terminate_requested")
    assert event.payload["reason"] == "leak"


def test_an_htmx_terminate_answers_the_live_panel_and_a_status(sessions: None, bob: User) -> None:
    with patch("controlplane.sessions.services._send"):
        answer = signed_in(bob).post("/sessions/s-alice/terminate", {"confirm": "yes"}, **HTMX)
    assert answer.status_code == 200 and 'id="live-s-alice"' in answer.content.decode()
    assert "gatehouse-status" in answer["HX-Trigger"] and "sessions-changed" in answer["HX-Trigger"]
    again = signed_in(bob).post("/sessions/s-bob/terminate", {"confirm": "yes"}, **HTMX)
    assert again.status_code == 409 and "already ended" in again.content.decode()


def test_terminate_needs_csrf(sessions: None, bob: User) -> None:
    client: Client = signed_in(bob, csrf=True)
    assert client.post("/sessions/s-alice/terminate", {"confirm": "yes"}).status_code == 403
