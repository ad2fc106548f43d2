"""REST: administrators read and replace a resource's policy; nobody else may."""

from __future__ import annotations

from collections.abc import Callable

from rest_framework.test import APIClient

from controlplane.identities.models import User
from controlplane.policies.models import Policy
from controlplane.resources.models import Resource
from tests.controlplane.access.conftest import with_levels

ClientAs = Callable[[User | None], APIClient]

POLICY = {
    "requester_groups": ["developers"],
    "requester_service_accounts": ["agent-smith"],
    "approver_groups": ["dba"],
    "min_approvals": 2,
    "max_duration_seconds": 3600,
    "access_levels": ["read-only", "read-write"],
    "default_access_level": "read-only",
    "auto_approvals": [
        {
            "service_account": "agent-smith",
            "max_duration_seconds": 900,
            "access_level": "read-only",
        },
        {"group": "on-call", "max_duration_seconds": 3600, "only_during_incident": True},
    ],
}


def test_an_administrator_puts_then_gets_a_policy(
    client_as: ClientAs, bob: User, agent_smith: User, appdb: Resource
) -> None:
    with_levels(appdb)
    api = client_as(bob)
    assert api.get("/api/v1/resources/appdb/policy").status_code == 404
    created = api.put("/api/v1/resources/appdb/policy", POLICY, format="json")
    assert created.status_code == 201, created.json()
    again = api.put("/api/v1/resources/appdb/policy", POLICY, format="json")
    assert again.status_code == 200
    body = api.get("/api/v1/resources/appdb/policy").json()
    assert body["resource"] == "appdb" and body["min_approvals"] == 2
    assert body["auto_approvals"] == [
        {
            "group": "",
            "service_account": "agent-smith",
            "max_duration_seconds": 900,
            "access_level": "read-only",
            "only_during_incident": False,
            "scope": "duration",
        },
        {
            "group": "on-call",
            "service_account": None,
            "max_duration_seconds": 3600,
            "access_level": "",
            "only_during_incident": True,
            "scope": "duration",
        },
    ]


def test_a_bad_policy_is_a_400_naming_the_field(
    client_as: ClientAs, bob: User, agent_smith: User, appdb: Resource
) -> None:
    with_levels(appdb)
    response = client_as(bob).put(
        "/api/v1/resources/appdb/policy", {**POLICY, "max_duration_seconds": 600}, format="json"
    )
    assert response.status_code == 400 and "auto_approvals[1]" in response.json()


def test_only_administrators_see_or_change_policies(
    client_as: ClientAs, appdb_policy: Policy, erin: User, carol: User
) -> None:
    for user in (erin, carol):
        assert client_as(user).get("/api/v1/resources/appdb/policy").status_code == 403
        assert (
            client_as(user).put("/api/v1/resources/appdb/policy", POLICY, format="json").status_code
            == 403
        )
