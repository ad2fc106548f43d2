"""REST: administrators manage resources; the password is write-only."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from controlplane.agents.services import IssuedAgent
from controlplane.identities.models import User
from controlplane.resources.models import Resource
from controlplane.resources.selectors import resource_get, resource_upstream_password

ClientAs = Callable[[User | None], APIClient]

BODY = {
    "name": "appdb",
    "protocol": "postgres",
    "host": "db.internal",
    "port": 5432,
    "database": "app",
    "upstream_user": "app_owner",
    "upstream_password": "api-set-pw",
    "agent": "edge-1",
}


def test_an_administrator_creates_a_resource_and_never_sees_the_password_again(
    client_as: ClientAs, bob: User, edge: IssuedAgent
) -> None:
    api = client_as(bob)
    created = api.post("/api/v1/resources", BODY, format="json")
    assert created.status_code == 201
    assert created.json()["upstream_tls"] == "prefer"
    assert created.json()["agent"] == "edge-1"
    for response in (created, api.get("/api/v1/resources"), api.get("/api/v1/resources/appdb")):
        assert "upstream_password" not in response.content.decode()
        assert "api-set-pw" not in response.content.decode()
    assert resource_upstream_password(resource=resource_get(name="appdb")) == "api-set-pw"


def test_unknown_agents_and_protocols_are_bad_requests(
    client_as: ClientAs, bob: User, edge: IssuedAgent
) -> None:
    api = client_as(bob)
    assert (
        api.post("/api/v1/resources", {**BODY, "agent": "nope"}, format="json").status_code == 400
    )
    assert (
        api.post("/api/v1/resources", {**BODY, "protocol": "gopher"}, format="json").status_code
        == 400
    )


def test_a_duplicate_name_is_a_bad_request(client_as: ClientAs, bob: User, appdb: Resource) -> None:
    response = client_as(bob).post("/api/v1/resources", BODY, format="json")
    assert response.status_code == 400


def test_an_unknown_resource_is_not_found(client_as: ClientAs, bob: User) -> None:
    assert client_as(bob).get("/api/v1/resources/nope").status_code == 404


def test_patch_changes_only_the_given_fields(
    client_as: ClientAs, bob: User, appdb: Resource
) -> None:
    response = client_as(bob).patch(
        "/api/v1/resources/appdb",
        {"host": "db2.internal", "upstream_password": "new-pw"},
        format="json",
    )
    assert response.status_code == 200
    appdb.refresh_from_db()
    assert (appdb.host, appdb.port) == ("db2.internal", 5432)
    assert resource_upstream_password(resource=appdb) == "new-pw"


def test_patch_with_the_full_body_and_same_name_is_accepted(
    client_as: ClientAs, bob: User, appdb: Resource
) -> None:
    response = client_as(bob).patch(
        "/api/v1/resources/appdb", {**BODY, "database": "app2"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["database"] == "app2"


@pytest.mark.parametrize(
    ("method", "path"), [("get", "/api/v1/resources"), ("get", "/api/v1/resources/appdb")]
)
def test_non_administrators_may_not_see_resources(
    client_as: ClientAs, alice: User, appdb: Resource, method: str, path: str
) -> None:
    assert getattr(client_as(alice), method)(path).status_code == 403


def test_non_administrators_may_not_create_resources(
    client_as: ClientAs, alice: User, edge: IssuedAgent
) -> None:
    assert client_as(alice).post("/api/v1/resources", BODY, format="json").status_code == 403
