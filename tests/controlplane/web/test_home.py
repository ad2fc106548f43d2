"""Home and the console's frame: alice sees her access (a grant counting down, her pending
request with Withdraw); erin, an approver, also how many items wait in her inbox; the
navigation and the role next to the name follow the viewer's roles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from controlplane.access.models import AccessRequest, Grant
from controlplane.access.services import access_request_create, grant_create
from controlplane.identities.models import User
from controlplane.policies.models import Policy

HTMX = {"HTTP_HX_REQUEST": "true"}


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
        reason="ticket 7",
    )


@pytest.fixture
def grant(bob: User, developer_alice: User, appdb_policy: Policy) -> Grant:
    return grant_create(
        actor=bob,
        identity=developer_alice,
        resource=appdb_policy.resource,
        duration=timedelta(minutes=10),
        access_level="read-only",
    )


def test_alice_sees_her_grant_counting_down_and_her_pending_request(
    developer_alice: User, pending: AccessRequest, grant: Grant
) -> None:
    page = signed_in(developer_alice).get("/").content.decode()
    assert '<strong id="signed-in-as">alice</strong>' in page
    card = page[page.index(f'id="home-grant-{grant.pk}"') :]
    assert "appdb" in card and "read-only" in card
    assert f'class="countdown" datetime="{grant.expires_at:%Y-%m-%dT%H:%M:%S}' in card
    assert 'data-expires-at="' in card and ("9 min" in card or "10 min" in card)
    row = page[page.index(f'id="request-{pending.pk}"') :]
    assert "ticket 7" in row and "Pending" in row and "Withdraw" in row
    assert 'id="inbox-waiting"' not in page  # alice approves nothing
    assert '<span class="badge badge-muted">requester</span>' in page


def test_alice_withdraws_from_home_and_the_polled_fragment_follows(
    developer_alice: User, pending: AccessRequest
) -> None:
    client = signed_in(developer_alice)
    response = client.post(f"/requests/{pending.pk}/withdraw", **HTMX)
    assert response.status_code == 200 and "Withdrawn" in response.content.decode()
    fragment = client.get("/home/access", **HTMX).content.decode()
    assert "<html" not in fragment and "No request of yours is waiting." in fragment


def test_erin_sees_how_many_items_wait_for_her(erin: User, pending: AccessRequest) -> None:
    page = signed_in(erin).get("/").content.decode()
    waiting = page[page.index('id="inbox-waiting"') :]
    assert "1 item" in waiting and 'href="/inbox/"' in waiting
    assert '<span class="badge badge-muted">approver</span>' in page


def test_the_navigation_follows_the_roles(
    developer_alice: User, erin: User, carol: User, bob: User, appdb_policy: Policy
) -> None:
    def links(user: User) -> str:
        page = signed_in(user).get("/").content.decode()
        return page[page.index('aria-label="Console"') : page.index("</nav>")]

    assert 'href="/inbox/"' not in links(developer_alice)
    assert 'href="/inbox/"' in links(erin) and 'href="/inbox/"' in links(bob)
    assert 'href="/inbox/"' not in links(carol)
    for user in (developer_alice, erin, carol, bob):
        nav = links(user)
        assert 'href="/"' in nav and 'href="/access/"' in nav and 'href="/resources/"' in nav
    assert 'aria-current="page">Home<' in links(carol)


def test_the_role_indicator_names_auditors_and_administrators(carol: User, bob: User) -> None:
    assert (
        '<span class="badge badge-muted">auditor</span>'
        in signed_in(carol).get("/").content.decode()
    )
    assert (
        '<span class="badge badge-muted">admin</span>' in signed_in(bob).get("/").content.decode()
    )


def test_every_page_has_a_skip_link_landmarks_and_the_stylesheet(carol: User) -> None:
    page = signed_in(carol).get("/").content.decode()
    assert '<a class="skip-link" href="#content">Skip to content</a>' in page
    assert '<main id="content"' in page and "<header" in page and "<nav" in page
    assert page.count("<h1") == 1
    css = Client().get("/static/web/console.css")
    assert css.status_code == 200
    assert b"prefers-color-scheme: dark" in b"".join(css.streaming_content)


def test_auditors_get_their_way_to_sessions_and_the_log(carol: User, developer_alice: User) -> None:
    page = signed_in(carol).get("/").content.decode()
    oversight = page[page.index('id="oversight"') :]
    assert "change nothing" in oversight and 'href="/sessions/"' in oversight
    assert 'href="/audit/"' in oversight
    assert 'id="oversight"' not in signed_in(developer_alice).get("/").content.decode()
