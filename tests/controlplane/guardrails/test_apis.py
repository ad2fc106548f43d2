"""REST /api/v1/guardrail-policies (administrators write, auditors read, others refused)
and /api/v1/statement-holds (approvers of the hold's resource and administrators list and
decide; nobody else sees a held statement)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from controlplane.agents.services import IssuedAgent
from controlplane.audit.models import AuditEvent
from controlplane.guardrails.holds import statement_hold_receive
from controlplane.guardrails.models import GuardrailPolicy, StatementHold
from controlplane.identities.models import User
from controlplane.policies.models import Policy
from controlplane.resources.models import Resource
from tests.controlplane.guardrails.conftest import HOLD_WRITES, NO_DROP, hold_request, policy

pytestmark = pytest.mark.django_db

ClientAs = Callable[[User | None], APIClient]
URL = "/api/v1/guardrail-policies"
HOLDS = "/api/v1/statement-holds"
AI_HOLDS = {
    "name": "ai-holds",
    "resource": "appdb",
    "applies_to": "service_accounts",
    "priority": 10,
    "policy": HOLD_WRITES,
    "hold_timeout_s": 120,
}


def test_an_administrator_creates_lists_retrieves_changes_and_deletes(
    client_as: ClientAs, bob: User, appdb: Resource
) -> None:
    api = client_as(bob)
    created = api.post(URL, AI_HOLDS, format="json")
    assert created.status_code == 201, created.json()
    assert {k: created.json()[k] for k in AI_HOLDS} == AI_HOLDS
    assert created.json()["created_by"] == "bob"
    assert [p["name"] for p in api.get(URL).json()["results"]] == ["ai-holds"]
    patched = api.patch(f"{URL}/ai-holds", {"policy": NO_DROP}, format="json")
    assert patched.status_code == 200 and patched.json()["policy"] == NO_DROP
    assert patched.json()["hold_timeout_s"] == 120  # untouched by PATCH
    assert api.delete(f"{URL}/ai-holds").status_code == 204
    assert not GuardrailPolicy.objects.exists()
    assert AuditEvent.objects.filter(action__startswith="guardrail_policy.").count() == 3


def test_an_unreadable_document_is_a_400_naming_it(client_as: ClientAs, bob: User) -> None:
    bad = {**AI_HOLDS, "resource": None, "policy": {"format_version": 1, "rules": [{"kind": "x"}]}}
    response = client_as(bob).post(URL, bad, format="json")
    assert response.status_code == 400
    assert "unknown" in response.json()["policy"][0]
    assert not GuardrailPolicy.objects.exists()


def test_a_rename_is_refused(client_as: ClientAs, bob: User) -> None:
    policy("p")
    response = client_as(bob).put(f"{URL}/p", {"name": "q", "policy": NO_DROP}, format="json")
    assert response.status_code == 400


def test_auditors_read_but_do_not_write_and_others_are_refused(
    client_as: ClientAs, carol: User, alice: User
) -> None:
    policy("p")
    auditor = client_as(carol)
    assert auditor.get(f"{URL}/p").json()["policy"] == NO_DROP
    assert auditor.post(URL, {**AI_HOLDS, "resource": None}, format="json").status_code == 403
    assert auditor.delete(f"{URL}/p").status_code == 403
    assert client_as(alice).get(URL).status_code == 403
    assert client_as(None).get(URL).status_code in (401, 403)


@pytest.fixture
def held(edge: IssuedAgent, agent_smith: User, appdb_policy: Policy) -> StatementHold:
    statement_hold_receive(agent=edge.agent, request=hold_request(agent_smith))
    return StatementHold.objects.get()


def test_an_approver_lists_pending_holds_with_the_exact_statement_and_approves(
    client_as: ClientAs, erin: User, held: StatementHold
) -> None:
    api = client_as(erin)
    [listed] = api.get(HOLDS).json()["results"]
    assert (listed["id"], listed["statement"], listed["identity"], listed["resource"]) == (
        str(held.pk),
        held.statement,
        "agent-smith",
        "appdb",
    )
    approved = api.post(f"{HOLDS}/{held.pk}/approve")
    assert approved.status_code == 200, approved.json()
    assert (approved.json()["status"], approved.json()["decided_by"]) == ("approved", "erin")
    assert api.get(HOLDS).json()["results"] == []
    assert [h["status"] for h in api.get(f"{HOLDS}?status=all").json()["results"]] == ["approved"]
    assert api.post(f"{HOLDS}/{held.pk}/deny").status_code in (400, 409)


def test_a_deny_through_the_api(client_as: ClientAs, bob: User, held: StatementHold) -> None:
    response = client_as(bob).post(f"{HOLDS}/{held.pk}/deny")
    assert response.status_code == 200 and response.json()["status"] == "denied"


def test_a_decision_through_the_api_carries_a_comment(
    client_as: ClientAs, bob: User, held: StatementHold
) -> None:
    api = client_as(bob)
    too_long = api.post(f"{HOLDS}/{held.pk}/deny", {"comment": "x" * 1001}, format="json")
    assert too_long.status_code == 400 and "comment" in too_long.json()
    response = api.post(f"{HOLDS}/{held.pk}/deny", {"comment": "not on a Friday"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["decision_comment"] == "not on a Friday"


def test_people_who_are_not_approvers_never_see_a_held_statement(
    client_as: ClientAs, developer_alice: User, carol: User, agent_smith: User, held: StatementHold
) -> None:
    for outsider in (developer_alice, carol, agent_smith):
        api = client_as(outsider)
        assert api.get(HOLDS).json()["results"] == []
        assert api.post(f"{HOLDS}/{held.pk}/approve").status_code == 404
    assert StatementHold.objects.get().status == "pending"
