"""Resources in ephemeral credential mode: access levels name upstream roles, and agents get
them in their snapshot."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from controlplane.agents.services import IssuedAgent
from controlplane.agents.snapshot import agent_snapshot_build
from controlplane.identities.models import User
from controlplane.resources.selectors import resource_get
from dataplane.contract.snapshot import AccessLevel

ClientAs = Callable[[User | None], APIClient]

LEVELS = [
    {"name": "read-only", "upstream_role": "gh_readonly"},
    {"name": "read-write", "upstream_role": "gh_readwrite"},
]
BODY = {
    "name": "appdb",
    "protocol": "postgres",
    "host": "db.internal",
    "port": 5432,
    "database": "app",
    "upstream_user": "gatehouse_manager",
    "upstream_password": "pw",
    "agent": "edge-1",
    "credential_mode": "ephemeral",
    "access_levels": LEVELS,
    "default_access_level": "read-only",
}


def test_an_ephemeral_resource_reaches_its_agent_with_levels_and_default(
    client_as: ClientAs, bob: User, edge: IssuedAgent
) -> None:
    created = client_as(bob).post("/api/v1/resources", BODY, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["access_levels"] == LEVELS
    (spec,) = agent_snapshot_build(agent=edge.agent).resources
    assert spec.credential_mode == "ephemeral"
    assert spec.access_levels == (
        AccessLevel("read-only", "gh_readonly"),
        AccessLevel("read-write", "gh_readwrite"),
    )
    assert spec.default_access_level == "read-only"


def test_resources_stay_static_unless_told(
    client_as: ClientAs, bob: User, edge: IssuedAgent
) -> None:
    static = {k: v for k, v in BODY.items() if k not in ("credential_mode", "access_levels")}
    static["default_access_level"] = ""
    assert client_as(bob).post("/api/v1/resources", static, format="json").status_code == 201
    (spec,) = agent_snapshot_build(agent=edge.agent).resources
    assert (spec.credential_mode, spec.access_levels) == ("static", ())


@pytest.mark.parametrize(
    "change",
    [
        {"access_levels": [{"name": "read-only", "upstream_role": 'x"; DROP ROLE admin; --'}]},
        {"access_levels": [{"name": "Read Only!", "upstream_role": "gh_readonly"}]},
        {"access_levels": [LEVELS[0], LEVELS[0]]},
        {"default_access_level": "superuser"},
        {"access_levels": [], "default_access_level": ""},  # ephemeral needs a level
    ],
)
def test_bad_levels_are_refused(
    client_as: ClientAs, bob: User, edge: IssuedAgent, change: dict[str, object]
) -> None:
    response = client_as(bob).post("/api/v1/resources", {**BODY, **change}, format="json")
    assert response.status_code == 400, response.content


def test_levels_can_be_changed_later(client_as: ClientAs, bob: User, edge: IssuedAgent) -> None:
    api = client_as(bob)
    api.post("/api/v1/resources", BODY, format="json")
    response = api.patch(
        "/api/v1/resources/appdb", {"default_access_level": "read-write"}, format="json"
    )
    assert response.status_code == 200, response.content
    resource = resource_get(name="appdb")
    assert resource.default_access_level == "read-write"
    assert (resource.credential_mode, resource.access_levels) == ("ephemeral", LEVELS)


def test_the_command_takes_levels_as_name_equals_role(
    edge: IssuedAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PW", "pw")
    call_command(
        "create_resource",
        "appdb",
        "--agent=edge-1",
        "--host=db.internal",
        "--port=5432",
        "--database=app",
        "--upstream-user=gatehouse_manager",
        "--upstream-password-env=PW",
        "--credential-mode=ephemeral",
        "--access-level=read-only=gh_readonly",
        "--default-access-level=read-only",
    )
    resource = resource_get(name="appdb")
    assert resource.access_levels == [LEVELS[0]]
    assert resource.credential_mode == "ephemeral"
