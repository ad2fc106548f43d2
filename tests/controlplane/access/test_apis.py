"""REST: administrators grant and revoke; everyone lists their own grants."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from controlplane.access.models import Grant
from controlplane.identities.models import User
from controlplane.resources.models import Resource

ClientAs = Callable[[User | None], APIClient]


def test_an_administrator_grants_for_a_duration(
    client_as: ClientAs, bob: User, agent_smith: User, appdb: Resource
) -> None:
    response = client_as(bob).post(
        "/api/v1/grants",
        {
            "identity": "agent-smith",
            "resource": "appdb",
            "duration_seconds": 3600,
            "reason": "report",
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["identity"], body["resource"], body["created_by"], body["active"]) == (
        "agent-smith",
        "appdb",
        "bob",
        True,
    )
    assert body["identity_id"] == str(agent_smith.pk)
    assert Grant.objects.get(pk=body["id"]).expires_at > timezone.now() + timedelta(minutes=59)


def test_an_administrator_grants_until_a_time(
    client_as: ClientAs, bob: User, alice: User, appdb: Resource
) -> None:
    until = (timezone.now() + timedelta(hours=3)).isoformat()
    response = client_as(bob).post(
        "/api/v1/grants",
        {"identity": "alice", "resource": "appdb", "expires_at": until},
        format="json",
    )
    assert response.status_code == 201


def test_a_grant_needs_exactly_one_end(
    client_as: ClientAs, bob: User, alice: User, appdb: Resource
) -> None:
    api = client_as(bob)
    neither = api.post("/api/v1/grants", {"identity": "alice", "resource": "appdb"}, format="json")
    assert neither.status_code == 400
    past = api.post(
        "/api/v1/grants",
        {"identity": "alice", "resource": "appdb", "expires_at": "2000-01-01T00:00:00Z"},
        format="json",
    )
    assert past.status_code == 400
    assert "expires_at" in past.json()


def test_unknown_identities_and_resources_are_bad_requests(
    client_as: ClientAs, bob: User, appdb: Resource
) -> None:
    response = client_as(bob).post(
        "/api/v1/grants",
        {"identity": "ghost", "resource": "nope", "duration_seconds": 60},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"identity", "resource"}


def test_users_may_not_grant_themselves_access(
    client_as: ClientAs, alice: User, appdb: Resource
) -> None:
    response = client_as(alice).post(
        "/api/v1/grants",
        {"identity": "alice", "resource": "appdb", "duration_seconds": 60},
        format="json",
    )
    assert response.status_code == 403


def test_a_user_lists_only_their_own_grants(
    client_as: ClientAs, bob: User, alice: User, smith_on_appdb: Grant
) -> None:
    assert client_as(alice).get("/api/v1/grants").json()["results"] == []
    smiths = client_as(bob).get("/api/v1/grants?identity=agent-smith&active=true").json()
    assert [g["id"] for g in smiths["results"]] == [str(smith_on_appdb.pk)]


def test_an_administrator_revokes_a_grant(
    client_as: ClientAs, bob: User, smith_on_appdb: Grant
) -> None:
    response = client_as(bob).post(f"/api/v1/grants/{smith_on_appdb.pk}/revoke", {}, format="json")
    assert response.status_code == 200
    assert response.json()["active"] is False
    assert response.json()["revoked_by"] == "bob"


def test_revoking_is_for_administrators_and_unknown_grants_are_not_found(
    client_as: ClientAs, bob: User, agent_smith: User, smith_on_appdb: Grant
) -> None:
    assert (
        client_as(agent_smith).post(f"/api/v1/grants/{smith_on_appdb.pk}/revoke").status_code == 403
    )
    missing = "00000000-0000-0000-0000-000000000000"
    assert client_as(bob).post(f"/api/v1/grants/{missing}/revoke").status_code == 404
