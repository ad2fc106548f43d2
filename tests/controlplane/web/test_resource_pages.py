"""The resources pages: alice (requester) sees what she may request, erin (approver) what she
approves, bob (administrator) and carol (auditor) every resource. Each resource shows its
agent's health and the viewer's own access; its page shows the policy, the request form, the
viewer's grants and, for those who oversee it, its active grants with their live sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from controlplane.access.models import AccessRequest, Grant
from controlplane.access.services import (
    access_request_approve,
    access_request_create,
    grant_create,
)
from controlplane.identities.models import User
from controlplane.policies.models import Policy
from controlplane.resources.models import Resource
from tests.controlplane.web.agent_sessions import heard, live_session


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def pending(developer_alice: User, appdb_policy: Policy) -> AccessRequest:
    return access_request_create(
        actor=developer_alice,
        resource=appdb_policy.resource,
        duration=timedelta(minutes=5),
        access_level="read-only",
        reason="ticket 42",
    )


@pytest.fixture
def grant(pending: AccessRequest, erin: User) -> Grant:
    access_request_approve(actor=erin, request=pending, comment="ok")
    return Grant.objects.get(request=pending)


# -- the list -------------------------------------------------------------------------------------
def test_alice_sees_the_resource_she_may_request_and_its_agent_health(
    developer_alice: User, appdb_policy: Policy, billingdb: Resource
) -> None:
    heard(appdb_policy.resource.agent, seconds_ago=2)
    page = signed_in(developer_alice).get("/resources/").content.decode()
    assert 'id="resource-appdb"' in page and "resource-billingdb" not in page
    assert "PostgreSQL" in page and "edge-1" in page
    assert '<span class="badge badge-ok">Connected</span>' in page
    assert 'href="/resources/appdb/#request-heading"' in page


def test_an_agent_silent_for_more_than_30_seconds_is_stale(
    developer_alice: User, appdb_policy: Policy
) -> None:
    heard(appdb_policy.resource.agent, seconds_ago=45)
    page = signed_in(developer_alice).get("/resources/").content.decode()
    assert '<span class="badge badge-warn">Stale</span>' in page


def test_alice_sees_her_pending_request_then_her_grant_with_time_left(
    developer_alice: User, pending: AccessRequest, erin: User
) -> None:
    page = signed_in(developer_alice).get("/resources/").content.decode()
    assert "Requested" in page and "Granted" not in page
    access_request_approve(actor=erin, request=pending, comment="ok")
    page = signed_in(developer_alice).get("/resources/").content.decode()
    assert "Granted" in page and 'class="countdown" data-expires-at="' in page


def test_an_approver_sees_what_she_approves_and_nothing_else(
    erin: User, appdb_policy: Policy, billingdb: Resource
) -> None:
    page = signed_in(erin).get("/resources/").content.decode()
    assert 'id="resource-appdb"' in page and "resource-billingdb" not in page
    assert signed_in(erin).get("/resources/billingdb/").status_code == 404


def test_administrators_and_auditors_see_every_resource(
    bob: User, carol: User, appdb_policy: Policy, billingdb: Resource
) -> None:
    for user in (bob, carol):
        page = signed_in(user).get("/resources/").content.decode()
        assert 'id="resource-appdb"' in page and 'id="resource-billingdb"' in page


def test_someone_holding_a_grant_sees_the_resource_without_any_policy(
    bob: User, alice: User, billingdb: Resource
) -> None:
    grant_create(actor=bob, identity=alice, resource=billingdb, duration=timedelta(minutes=5))
    page = signed_in(alice).get("/resources/").content.decode()
    assert 'id="resource-billingdb"' in page and "Granted" in page
    detail = signed_in(alice).get("/resources/billingdb/").content.decode()
    assert "No policy" in detail and "Request access" not in detail


# -- one resource ---------------------------------------------------------------------------------
def test_the_resource_page_summarises_its_policy_and_offers_the_request_form(
    developer_alice: User, appdb_policy: Policy
) -> None:
    page = signed_in(developer_alice).get("/resources/appdb/").content.decode()
    assert "<dt>Approvers</dt><dd>administrators, dba</dd>" in page
    assert "<dt>Approvals needed</dt><dd>1</dd>" in page
    assert "<dt>Longest grant</dt><dd>1 h</dd>" in page
    assert "read-only (default), read-write" in page
    assert 'id="request-heading">Request access to appdb</h2>' in page
    assert 'action="/resources/appdb/request"' in page
    assert "Offline" in page  # the agent never connected
    assert 'id="active-grants-heading"' not in page  # requesters see their own grants only


def test_a_refused_request_shows_on_the_resource_page(
    developer_alice: User, appdb_policy: Policy
) -> None:
    response = signed_in(developer_alice).post(
        "/resources/appdb/request",
        {"access_level": "read-only", "duration_minutes": 61, "reason": "long job"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "at most 60 minutes" in page and "<h1>appdb" in page


def test_my_requests_narrow_to_one_resource(
    developer_alice: User, pending: AccessRequest, billingdb: Resource
) -> None:
    client = signed_in(developer_alice)
    assert "ticket 42" in client.get("/resources/requests?resource=appdb").content.decode()
    rows = client.get("/resources/requests?resource=billingdb").content.decode()
    assert "ticket 42" not in rows and "You have not asked" in rows


def test_alice_sees_her_own_grant_on_the_resource_page(developer_alice: User, grant: Grant) -> None:
    page = signed_in(developer_alice).get("/resources/appdb/").content.decode()
    assert f'id="my-grant-{grant.pk}"' in page and 'class="countdown"' in page
    assert f'id="grant-{grant.pk}"' not in page  # not the approvers' table


def test_an_approver_sees_active_grants_with_their_live_sessions_and_revokes(
    erin: User, grant: Grant
) -> None:
    live_session(grant)
    page = signed_in(erin).get("/resources/appdb/").content.decode()
    assert f'id="grant-{grant.pk}"' in page and "session-5e55101" in page
    assert '<span class="badge badge-ok">live</span>' in page and "192.0.2.7" in page
    assert f'action="/grants/{grant.pk}/revoke"' in page
    assert "Request access" not in page  # erin is not a requester of appdb


def test_an_auditor_sees_the_grants_but_no_revoke_button(carol: User, grant: Grant) -> None:
    page = signed_in(carol).get("/resources/appdb/").content.decode()
    assert f'id="grant-{grant.pk}"' in page
    assert "/revoke" not in page and "Request access" not in page
