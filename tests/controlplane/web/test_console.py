"""The access console: alice asks for appdb, erin (an approver) decides in her inbox, alice
gets a gateway token for her grant, erin revokes it. Plain form posts redirect; htmx posts
get the changed row back. Every write is a POST with CSRF and goes through a service."""

from __future__ import annotations

import json
from datetime import timedelta

import jwt
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from controlplane.access.models import AccessRequest, Grant
from controlplane.access.services import access_request_approve, access_request_create
from controlplane.audit.models import AuditEvent
from controlplane.identities.models import User
from controlplane.policies.models import Policy
from controlplane.web.config import AgentAddress, agent_public_address_from_env

HTMX = {"HTTP_HX_REQUEST": "true"}


def signed_in(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def ask(alice: User, policy: Policy, minutes: int = 2) -> AccessRequest:
    return access_request_create(
        actor=alice,
        resource=policy.resource,
        duration=timedelta(minutes=minutes),
        access_level="read-only",
        reason="investigate ticket 42",
    )


@pytest.fixture
def pending(developer_alice: User, appdb_policy: Policy) -> AccessRequest:
    return ask(developer_alice, appdb_policy)


@pytest.fixture
def grant(pending: AccessRequest, erin: User) -> Grant:
    access_request_approve(actor=erin, request=pending, comment="ok")
    return Grant.objects.get(request=pending)


# -- resources and requests ----------------------------------------------------------------------
def test_alice_sees_the_resources_her_policy_lets_her_request(
    developer_alice: User, appdb_policy: Policy
) -> None:
    listed = signed_in(developer_alice).get("/resources/").content.decode()
    assert 'id="resource-appdb"' in listed and 'href="/resources/appdb/"' in listed
    page = signed_in(developer_alice).get("/resources/appdb/").content.decode()
    assert '<option value="read-only" selected>' in page and "read-write" in page
    assert 'max="60"' in page  # the policy's hour, in minutes
    assert 'for="id_appdb_reason">Reason</label>' in page


def test_someone_the_policy_does_not_name_sees_no_resources(appdb_policy: Policy) -> None:
    mallory = User.objects.create_user(username="mallory")
    page = signed_in(mallory).get("/resources/").content.decode()
    assert 'id="no-resources"' in page and "resource-appdb" not in page
    assert signed_in(mallory).get("/resources/appdb/").status_code == 404
    response = signed_in(mallory).post(
        "/resources/appdb/request",
        {"access_level": "read-only", "duration_minutes": 2, "reason": "curious"},
    )
    assert response.status_code == 404
    assert not AccessRequest.objects.exists()


def test_alice_requests_two_minutes_of_read_only_and_sees_it_pending(
    developer_alice: User, appdb_policy: Policy
) -> None:
    client = signed_in(developer_alice)
    response = client.post(
        "/resources/appdb/request",
        {"access_level": "read-only", "duration_minutes": 2, "reason": "investigate ticket 42"},
    )
    assert response.status_code == 302 and response["Location"] == "/resources/appdb/"
    request = AccessRequest.objects.get()
    assert (request.requester, request.access_level, request.duration_seconds) == (
        developer_alice,
        "read-only",
        120,
    )
    page = client.get("/resources/appdb/").content.decode()
    assert "Pending" in page and "investigate ticket 42" in page and "2 min" in page
    assert AuditEvent.objects.filter(action="access_request.created").count() == 1


def test_a_duration_over_the_policy_maximum_is_refused_on_the_form(
    developer_alice: User, appdb_policy: Policy
) -> None:
    response = signed_in(developer_alice).post(
        "/resources/appdb/request",
        {"access_level": "read-only", "duration_minutes": 61, "reason": "long job"},
    )
    assert response.status_code == 400
    assert "at most 60 minutes" in response.content.decode()
    assert not AccessRequest.objects.exists()


def test_a_level_the_policy_does_not_allow_is_refused(
    developer_alice: User, appdb_policy: Policy
) -> None:
    response = signed_in(developer_alice).post(
        "/resources/appdb/request",
        {"access_level": "superuser", "duration_minutes": 2, "reason": "x"},
    )
    assert response.status_code == 400 and not AccessRequest.objects.exists()


def test_alice_withdraws_a_pending_request_in_place(
    developer_alice: User, pending: AccessRequest
) -> None:
    response = signed_in(developer_alice).post(f"/requests/{pending.pk}/withdraw", **HTMX)
    assert response.status_code == 200
    row = response.content.decode()
    assert row.startswith('<tr id="request-') and "Withdrawn" in row and "<form" not in row
    assert json.loads(response["HX-Trigger"])["gatehouse-status"]["ok"] is True
    pending.refresh_from_db()
    assert pending.status == AccessRequest.Status.WITHDRAWN


def test_no_one_else_withdraws_alices_request(carol: User, pending: AccessRequest) -> None:
    assert signed_in(carol).post(f"/requests/{pending.pk}/withdraw").status_code == 404


# -- revoking --------------------------------------------------------------------------------
def test_erin_revokes_the_grant_she_approved(erin: User, grant: Grant) -> None:
    response = signed_in(erin).post(f"/grants/{grant.pk}/revoke", **HTMX)
    assert response.status_code == 200 and "Revoked" in response.content.decode()
    grant.refresh_from_db()
    assert grant.revoked_by == erin
    assert AuditEvent.objects.get(action="grant.revoked").payload["revoked_as"] == "approver"


def test_people_who_did_not_approve_it_cannot_revoke(
    developer_alice: User, frank: User, grant: Grant
) -> None:
    for user in (developer_alice, frank):
        response = signed_in(user).post(f"/grants/{grant.pk}/revoke", **HTMX)
        assert response.status_code == 403
    grant.refresh_from_db()
    assert grant.revoked_at is None


def test_administrators_see_and_revoke_every_grant(bob: User, grant: Grant) -> None:
    assert f'id="grant-{grant.pk}"' in signed_in(bob).get("/grants/").content.decode()
    response = signed_in(bob).post(f"/grants/{grant.pk}/revoke")
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_by == bob


# -- my access and gateway tokens ------------------------------------------------------------------
def test_my_access_lists_active_grants_with_time_left(developer_alice: User, grant: Grant) -> None:
    page = signed_in(developer_alice).get("/access/").content.decode()
    assert f'id="grant-{grant.pk}"' in page
    assert "1 min 5" in page or "2 min" in page  # two minutes, counting down
    assert "Get a gateway token" in page


@override_settings(GATEHOUSE_AGENT_PUBLIC_ADDRESS=AgentAddress("gw.example.test", 6543))
def test_alice_gets_a_gateway_token_and_a_psql_line_once(
    developer_alice: User, grant: Grant
) -> None:
    client = signed_in(developer_alice)
    response = client.post("/access/token", {"resource": "appdb"}, **HTMX)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    start = page.index('psql "') + len('psql "')
    conninfo = dict(part.split("=", 1) for part in page[start : page.index('"', start)].split())
    assert conninfo.keys() == {"host", "port", "dbname", "user", "sslmode", "password"}
    assert (conninfo["host"], conninfo["port"], conninfo["dbname"]) == (
        "gw.example.test",
        "6543",
        "appdb",
    )
    assert (conninfo["user"], conninfo["sslmode"]) == ("alice", "require")
    claims = jwt.decode(conninfo["password"], options={"verify_signature": False})
    assert claims["sub"] == str(developer_alice.pk) and claims["name"] == "alice"
    minted = AuditEvent.objects.get(action="token.minted")
    assert minted.actor_name == "alice"
    assert conninfo["password"] not in json.dumps(minted.payload)
    assert conninfo["password"] not in client.get("/access/").content.decode()


def test_no_token_for_a_resource_without_a_grant(
    developer_alice: User, appdb_policy: Policy
) -> None:
    response = signed_in(developer_alice).post("/access/token", {"resource": "appdb"})
    assert response.status_code == 400
    assert "choose a resource you have access to" in response.content.decode()
    assert not AuditEvent.objects.filter(action="token.minted").exists()


def test_the_console_loads_htmx_from_static_files(db: None) -> None:
    response = Client().get("/static/htmx/htmx.min.js")
    assert response.status_code == 200
    assert b"htmx" in b"".join(response.streaming_content)


# -- configuration -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("127.0.0.1:6432", AgentAddress("127.0.0.1", 6432)),
        ("[::1]:7000", AgentAddress("::1", 7000)),
    ],
)
def test_the_agent_address_is_host_and_port(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: AgentAddress
) -> None:
    monkeypatch.setenv("GATEHOUSE_AGENT_PUBLIC_ADDRESS", raw)
    assert agent_public_address_from_env() == expected


@pytest.mark.parametrize("raw", ["localhost", "host:", ":6432", "h:99999", "a b:1", "x=y:5"])
def test_a_bad_agent_address_stops_the_start(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("GATEHOUSE_AGENT_PUBLIC_ADDRESS", raw)
    with pytest.raises(ImproperlyConfigured, match="GATEHOUSE_AGENT_PUBLIC_ADDRESS"):
        agent_public_address_from_env()


def test_a_policy_without_levels_requests_the_static_login(
    developer_alice: User, appdb_policy: Policy
) -> None:
    Policy.objects.filter(pk=appdb_policy.pk).update(access_levels=[], default_access_level="")
    response = signed_in(developer_alice).post(
        "/resources/appdb/request",
        {"access_level": "", "duration_minutes": 5, "reason": "static login"},
    )
    assert response.status_code == 302
    assert AccessRequest.objects.get().access_level == ""
