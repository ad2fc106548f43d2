"""REST /api/v1/masking-policies: administrators create, read, change and delete;
auditors only read; everyone else is refused. No response ever carries the masking key."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from controlplane.access.models import Grant
from controlplane.agents.services import IssuedAgent
from controlplane.agents.snapshot import agent_snapshot_build
from controlplane.audit.models import AuditEvent
from controlplane.identities.models import User
from controlplane.masking.models import MaskingPolicy
from controlplane.resources.models import Resource
from tests.controlplane.masking.conftest import policy

ClientAs = Callable[[User | None], APIClient]
URL = "/api/v1/masking-policies"

PEOPLE_PARTIAL = {
    "name": "people-partial",
    "description": "people see partial cards",
    "resource": "appdb",
    "applies_to": "people",
    "groups": ["staff"],
    "priority": 50,
    "default_strategy": "redact",
    "strategies": {"CREDIT_CARD": "partial"},
    "custom_patterns": [{"name": "emp", "entity": "EMPLOYEE_ID", "regex": "EMP-\\d{6}"}],
}


def test_an_administrator_creates_lists_and_retrieves(
    client_as: ClientAs, bob: User, appdb: Resource
) -> None:
    api = client_as(bob)
    created = api.post(URL, PEOPLE_PARTIAL, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["resource"], body["groups"], body["created_by"]) == ("appdb", ["staff"], "bob")
    assert body["custom_patterns"][0]["score"] == 0.8
    listed = api.get(URL).json()
    assert [p["name"] for p in listed["results"]] == ["people-partial"]
    assert api.get(f"{URL}/people-partial").json() == body


def test_put_replaces_and_patch_changes_only_what_is_given(
    client_as: ClientAs, bob: User, appdb: Resource
) -> None:
    api = client_as(bob)
    api.post(URL, PEOPLE_PARTIAL, format="json")
    patched = api.patch(f"{URL}/people-partial", {"priority": 7}, format="json")
    assert patched.status_code == 200, patched.json()
    assert (patched.json()["priority"], patched.json()["groups"]) == (7, ["staff"])
    replaced = api.put(f"{URL}/people-partial", {"name": "people-partial"}, format="json")
    assert replaced.status_code == 200, replaced.json()
    body = replaced.json()
    assert (body["resource"], body["groups"], body["strategies"]) == (None, [], {})


def test_an_administrator_deletes(client_as: ClientAs, bob: User) -> None:
    policy("gone")
    assert client_as(bob).delete(f"{URL}/gone").status_code == 204
    assert not MaskingPolicy.objects.exists()
    assert AuditEvent.objects.filter(action="masking_policy.deleted").count() == 1


def test_invalid_names_are_a_400_naming_the_field(
    client_as: ClientAs, bob: User, appdb: Resource
) -> None:
    api = client_as(bob)
    bad = api.post(URL, {**PEOPLE_PARTIAL, "strategies": {"CREDIT_CARD": "shred"}}, format="json")
    assert bad.status_code == 400 and "strategies" in bad.json()
    regex = {"name": "x", "entity": "X", "regex": "("}
    bad = api.post(URL, {**PEOPLE_PARTIAL, "custom_patterns": [regex]}, format="json")
    assert bad.status_code == 400 and "custom_patterns" in bad.json()
    assert not MaskingPolicy.objects.exists()


def test_a_taken_name_and_a_rename_are_refused(client_as: ClientAs, bob: User) -> None:
    api = client_as(bob)
    policy("p")
    assert api.post(URL, {"name": "p"}, format="json").status_code == 400
    assert api.patch(f"{URL}/p", {"name": "q"}, format="json").status_code == 400
    assert api.get(f"{URL}/missing").status_code == 404


def test_an_auditor_reads_but_never_writes(client_as: ClientAs, carol: User) -> None:
    policy("p")
    api = client_as(carol)
    assert api.get(URL).status_code == 200
    assert api.get(f"{URL}/p").status_code == 200
    assert api.post(URL, {"name": "q"}, format="json").status_code == 403
    assert api.patch(f"{URL}/p", {"priority": 1}, format="json").status_code == 403
    assert api.put(f"{URL}/p", {"name": "p"}, format="json").status_code == 403
    assert api.delete(f"{URL}/p").status_code == 403


@pytest.mark.parametrize("persona", ["alice", "agent_smith", None])
def test_requesters_service_accounts_and_anonymous_callers_are_refused(
    client_as: ClientAs, request: pytest.FixtureRequest, persona: str | None
) -> None:
    user = request.getfixturevalue(persona) if persona else None
    policy("p")
    api = client_as(user)
    assert api.get(URL).status_code in (401, 403)
    assert api.get(f"{URL}/p").status_code in (401, 403)
    assert api.post(URL, {"name": "q"}, format="json").status_code in (401, 403)


def test_no_response_carries_the_masking_key(
    client_as: ClientAs, bob: User, edge: IssuedAgent, appdb: Resource, smith_on_appdb: Grant
) -> None:
    policy("ai", strategies={"EMAIL_ADDRESS": "hash"})
    key = agent_snapshot_build(agent=edge.agent).masking_key
    api = client_as(bob)
    for url in (URL, f"{URL}/ai", "/api/v1/schema/", "/api/v1/audit/events"):
        response = api.get(url)
        assert response.status_code == 200
        assert key not in response.content.decode()


def test_the_schema_documents_the_endpoints(client_as: ClientAs, bob: User) -> None:
    schema = client_as(bob).get("/api/v1/schema/", {"format": "json"}).json()
    assert {"/api/v1/masking-policies", "/api/v1/masking-policies/{name}"} <= set(schema["paths"])
    operations = schema["paths"]["/api/v1/masking-policies/{name}"]
    assert {"get", "put", "patch", "delete"} <= set(operations)
