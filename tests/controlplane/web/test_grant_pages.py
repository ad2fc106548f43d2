"""The grants page: administrators and auditors see every grant, approvers those on the
resources they approve, everyone their own; active grants count down and may be revoked in
one click by those allowed (never auditors: no button, and the POST is refused). A revoked
grant's row polls every second and shows its sessions ending as the agent reports them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from controlplane.access.models import AccessRequest, Grant
from controlplane.access.services import (
    access_request_approve,
    access_request_create,
    grant_create,
    grant_revoke,
)
from controlplane.audit.models import AuditEvent
from controlplane.identities.models import User
from controlplane.policies.models import Policy
from controlplane.resources.models import Resource
from controlplane.sessions.models import SessionRecord
from tests.controlplane.web.agent_sessions import heard, live_session

HTMX = {"HTTP_HX_REQUEST": "true"}
POLLING = 'hx-trigger="every 1s"'


def signed_in(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


@pytest.fixture
def grant(developer_alice: User, appdb_policy: Policy, erin: User) -> Grant:
    pending: AccessRequest = access_request_create(
        actor=developer_alice,
        resource=appdb_policy.resource,
        duration=timedelta(minutes=5),
        access_level="read-only",
        reason="ticket 42",
    )
    access_request_approve(actor=erin, request=pending, comment="ok")
    return Grant.objects.get(request=pending)


@pytest.fixture
def billing_grant(bob: User, frank: User, billingdb: Resource) -> Grant:
    """frank's grant on billingdb, which has no policy: erin approves nothing there."""
    return grant_create(actor=bob, identity=frank, resource=billingdb, duration=timedelta(hours=1))


@pytest.fixture
def past_grant(bob: User, developer_alice: User, appdb: Resource) -> Grant:
    ended = grant_create(
        actor=bob, identity=developer_alice, resource=appdb, duration=timedelta(minutes=1)
    )
    return grant_revoke(actor=bob, grant=ended, reason="done")


def rows(user: User, query: str = "") -> str:
    return signed_in(user).get("/grants/" + query).content.decode()


# -- who sees what --------------------------------------------------------------------------------
def test_alice_sees_her_own_grants_only(
    developer_alice: User, grant: Grant, billing_grant: Grant
) -> None:
    page = rows(developer_alice)
    assert f'id="grant-{grant.pk}"' in page and f"grant-{billing_grant.pk}" not in page
    assert f'data-expires-at="{grant.expires_at.isoformat()}"' in page
    assert "/revoke" not in page  # she approved nothing


def test_erin_sees_the_grants_on_what_she_approves(
    erin: User, grant: Grant, billing_grant: Grant
) -> None:
    page = rows(erin)
    assert f'id="grant-{grant.pk}"' in page and f"grant-{billing_grant.pk}" not in page
    assert f'action="/grants/{grant.pk}/revoke"' in page


def test_frank_sees_a_grant_on_what_he_approves_but_may_not_revoke_it(
    frank: User, grant: Grant
) -> None:
    page = rows(frank)  # he did not approve the request behind it
    assert f'id="grant-{grant.pk}"' in page and f"/grants/{grant.pk}/revoke" not in page


def test_administrators_see_and_may_revoke_every_grant(
    bob: User, grant: Grant, billing_grant: Grant
) -> None:
    page = rows(bob)
    for shown in (grant, billing_grant):
        assert f'action="/grants/{shown.pk}/revoke"' in page


def test_an_auditor_sees_every_grant_without_a_revoke_button_and_her_post_is_refused(
    carol: User, grant: Grant, billing_grant: Grant
) -> None:
    page = rows(carol)
    assert f'id="grant-{grant.pk}"' in page and f'id="grant-{billing_grant.pk}"' in page
    assert "/revoke" not in page and "Revoke" not in page
    response = signed_in(carol).post(f"/grants/{grant.pk}/revoke", **HTMX)
    assert response.status_code == 403
    assert json.loads(response["HX-Trigger"])["gatehouse-status"]["ok"] is False
    grant.refresh_from_db()
    assert grant.revoked_at is None
    assert not AuditEvent.objects.filter(action="grant.revoked").exists()


def test_an_auditors_plain_form_post_is_a_403_page_too(carol: User, grant: Grant) -> None:
    # Without JavaScript the refusal keeps its status: a page saying why, with a way back.
    response = signed_in(carol).post(f"/grants/{grant.pk}/revoke")
    assert response.status_code == 403
    assert b"Not allowed" in response.content and b'href="/grants/"' in response.content
    grant.refresh_from_db()
    assert grant.revoked_at is None


def test_someone_who_cannot_see_a_grant_gets_404_for_it(erin: User, billing_grant: Grant) -> None:
    assert signed_in(erin).post(f"/grants/{billing_grant.pk}/revoke").status_code == 404
    assert signed_in(erin).get(f"/grants/{billing_grant.pk}/row").status_code == 404
    billing_grant.refresh_from_db()
    assert billing_grant.revoked_at is None


# -- filters ------------------------------------------------------------------------------------
def test_past_grants_say_how_they_ended(bob: User, grant: Grant, past_grant: Grant) -> None:
    page = rows(bob, "?state=past")
    assert f'id="grant-{past_grant.pk}"' in page and f"grant-{grant.pk}" not in page
    assert "Revoked" in page and "by bob" in page
    assert 'id="active-heading"' not in page


def test_active_only_and_one_resource(
    bob: User, grant: Grant, past_grant: Grant, billing_grant: Grant
) -> None:
    page = rows(bob, "?state=active&resource=appdb")
    assert page.count('<option value="appdb"') == 1  # two grants on it, one choice
    assert '<option value="billingdb">' in page
    assert f'id="grant-{grant.pk}"' in page
    assert f"grant-{past_grant.pk}" not in page and f"grant-{billing_grant.pk}" not in page


def test_a_bad_filter_is_a_clear_400(bob: User, grant: Grant) -> None:
    response = signed_in(bob).get("/grants/?state=forever")
    assert response.status_code == 400
    assert 'role="alert">Show: Select a valid choice.' in response.content.decode()
    response = signed_in(bob).get("/grants/?resource=nosuchdb")
    assert response.status_code == 400


def test_htmx_gets_the_sections_alone(bob: User, grant: Grant) -> None:
    fragment = signed_in(bob).get("/grants/?state=active", **HTMX).content.decode()
    assert "<html" not in fragment and f'id="grant-{grant.pk}"' in fragment


def test_active_grants_count_their_live_sessions(bob: User, grant: Grant) -> None:
    live_session(grant, "aaa1")
    live_session(grant, "aaa2")
    assert '<span class="badge badge-ok">2 live</span>' in rows(bob, "?state=active")


# -- revoking ------------------------------------------------------------------------------------
def test_revoking_needs_the_csrf_token(bob: User, grant: Grant) -> None:
    assert signed_in(bob, csrf=True).post(f"/grants/{grant.pk}/revoke").status_code == 403
    assert signed_in(bob).get(f"/grants/{grant.pk}/revoke").status_code == 405
    grant.refresh_from_db()
    assert grant.revoked_at is None


def test_a_plain_form_post_revokes_and_comes_back_to_the_grants_page(
    erin: User, grant: Grant
) -> None:
    response = signed_in(erin).post(f"/grants/{grant.pk}/revoke")
    assert response.status_code == 302 and response["Location"] == "/grants/"
    grant.refresh_from_db()
    assert grant.revoked_by == erin


def test_the_revoked_row_watches_its_live_session_until_the_agent_reports_its_end(
    erin: User, grant: Grant
) -> None:
    session = live_session(grant)
    response = signed_in(erin).post(f"/grants/{grant.pk}/revoke", **HTMX)
    assert response.status_code == 200
    row = response.content.decode()
    assert row.startswith(f'<tr id="grant-{grant.pk}"') and POLLING in row
    assert "Revoked" in row and '<span class="badge badge-ok">live</span>' in row
    assert "/revoke" not in row  # nothing left to revoke
    status = json.loads(response["HX-Trigger"])["gatehouse-status"]
    assert status == {"message": "alice's grant on appdb revoked.", "ok": True}

    still = signed_in(erin).get(f"/grants/{grant.pk}/row").content.decode()
    assert POLLING in still and "session ended" not in still

    SessionRecord.objects.filter(pk=session.pk).update(
        ended_at=timezone.now(), end_reason="access grant ended"
    )
    ended = signed_in(erin).get(f"/grants/{grant.pk}/row").content.decode()
    assert "session ended" in ended and '<span class="muted">access grant ended</span>' in ended
    assert "hx-trigger" not in ended  # done: the row stops polling


def test_a_revoked_grant_without_sessions_does_not_poll(erin: User, grant: Grant) -> None:
    row = signed_in(erin).post(f"/grants/{grant.pk}/revoke", **HTMX).content.decode()
    assert "Revoked" in row and "hx-trigger" not in row and "none live" in row


def test_a_session_of_an_agent_gone_offline_is_not_watched_forever(
    erin: User, grant: Grant
) -> None:
    live_session(grant)
    heard(grant.resource.agent, seconds_ago=40, connected=False)
    row = signed_in(erin).post(f"/grants/{grant.pk}/revoke", **HTMX).content.decode()
    assert "agent offline" in row and "hx-trigger" not in row


def test_revoking_twice_changes_nothing(bob: User, grant: Grant) -> None:
    heard(grant.resource.agent, seconds_ago=1)
    for _ in range(2):
        assert signed_in(bob).post(f"/grants/{grant.pk}/revoke", **HTMX).status_code == 200
    assert AuditEvent.objects.filter(action="grant.revoked").count() == 1
