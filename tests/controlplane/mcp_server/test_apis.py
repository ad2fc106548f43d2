"""REST /api/v1/mcp-tool-rules (administrators write, auditors read, others refused) and
/api/v1/tool-call-holds (approvers of the hold's resource and administrators list and
decide; nobody else sees a held call's arguments), and ``manage.py set_mcp_tool_rule``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from controlplane.identities.models import User
from controlplane.mcp_server.holds import tool_call_hold_create
from controlplane.mcp_server.models import ToolCallHold, ToolRule
from controlplane.policies.models import Policy
from controlplane.resources.models import Resource
from tests.controlplane.mcp_server.conftest import rule

pytestmark = pytest.mark.django_db

ClientAs = Callable[[User | None], APIClient]
URL = "/api/v1/mcp-tool-rules"
HOLDS = "/api/v1/tool-call-holds"
SQL = "SELECT * FROM customers"
HELD_SQL = {
    "name": "agents-sql-held",
    "tool": "query_database",
    "resource": "appdb",
    "applies_to": "service_accounts",
    "effect": "hold",
    "priority": 10,
    "hold_timeout_s": 120,
}


@pytest.fixture
def held(agent_smith: User, alice: User, appdb: Resource, appdb_policy: Policy) -> ToolCallHold:
    return tool_call_hold_create(
        identity=agent_smith,
        on_behalf_of=alice,
        tool="query_database",
        arguments={"resource": "appdb", "sql": SQL, "max_rows": 10},
        resource=appdb,
        rule=rule("held-sql", tool="query_database", effect="hold"),
        correlation_id="run-1",
    )


def test_an_administrator_creates_lists_retrieves_changes_and_deletes(
    client_as: ClientAs, bob: User, appdb: Resource
) -> None:
    api = client_as(bob)
    created = api.post(URL, HELD_SQL, format="json")
    assert created.status_code == 201, created.json()
    assert created.json() == {
        **HELD_SQL,
        "description": "",
        "groups": [],
        "enabled": True,
        "created_at": created.json()["created_at"],
        "updated_at": created.json()["updated_at"],
        "created_by": "bob",
        "updated_by": "bob",
    }
    assert [r["name"] for r in api.get(URL).json()["results"]] == ["agents-sql-held"]
    changed = api.patch(f"{URL}/agents-sql-held", {"effect": "deny"}, format="json")
    assert changed.status_code == 200 and changed.json()["effect"] == "deny"
    assert changed.json()["hold_timeout_s"] == 120  # the rest stays
    assert api.delete(f"{URL}/agents-sql-held").status_code == 204
    assert not ToolRule.objects.exists()


def test_a_rule_for_a_tool_that_does_not_exist_is_a_400(client_as: ClientAs, bob: User) -> None:
    response = client_as(bob).post(URL, {**HELD_SQL, "tool": "rm_rf"}, format="json")
    assert response.status_code == 400 and "tool" in str(response.json())


def test_a_rename_is_refused(client_as: ClientAs, bob: User, appdb: Resource) -> None:
    api = client_as(bob)
    api.post(URL, HELD_SQL, format="json")
    response = api.patch(f"{URL}/agents-sql-held", {"name": "other"}, format="json")
    assert response.status_code == 400


def test_auditors_read_but_do_not_write_and_others_are_refused(
    client_as: ClientAs, carol: User, alice: User, agent_smith: User, appdb: Resource
) -> None:
    rule("r")
    auditor = client_as(carol)
    assert auditor.get(URL).status_code == 200
    assert auditor.post(URL, HELD_SQL, format="json").status_code == 403
    for outsider in (alice, agent_smith):
        assert client_as(outsider).get(URL).status_code == 403
    assert client_as(None).get(URL).status_code == 401


def test_an_approver_lists_pending_holds_with_the_exact_arguments_and_approves(
    client_as: ClientAs, erin: User, held: ToolCallHold
) -> None:
    api = client_as(erin)
    [listed] = api.get(HOLDS).json()["results"]
    assert listed["arguments"]["sql"] == SQL
    assert (listed["identity"], listed["on_behalf_of"], listed["resource"]) == (
        "agent-smith",
        "alice",
        "appdb",
    )
    approved = api.post(f"{HOLDS}/{held.pk}/approve")
    assert approved.status_code == 200 and approved.json()["decided_by"] == "erin"
    assert api.post(f"{HOLDS}/{held.pk}/deny").status_code == 400  # decided once


def test_a_decision_through_the_api_carries_a_comment(
    client_as: ClientAs, erin: User, held: ToolCallHold
) -> None:
    response = client_as(erin).post(f"{HOLDS}/{held.pk}/approve", {"comment": "ok"}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["decision_comment"]) == ("approved", "ok")


def test_the_person_an_agent_acts_for_cannot_approve_its_call(
    client_as: ClientAs, alice: User, held: ToolCallHold
) -> None:
    alice.is_staff = True
    alice.save()
    response = client_as(alice).post(f"{HOLDS}/{held.pk}/approve")
    assert response.status_code == 403
    assert ToolCallHold.objects.get().status == "pending"


def test_people_who_are_not_approvers_never_see_a_held_call(
    client_as: ClientAs, carol: User, developer_alice: User, agent_smith: User, held: ToolCallHold
) -> None:
    for outsider in (carol, developer_alice, agent_smith):
        api = client_as(outsider)
        assert api.get(HOLDS).json()["results"] == []
        assert api.post(f"{HOLDS}/{held.pk}/approve").status_code == 404


def test_the_command_sets_and_deletes_a_rule(appdb: Resource) -> None:
    call_command(
        "set_mcp_tool_rule",
        "agents-no-http",
        "--effect",
        "deny",
        "--tool",
        "call_http",
        "--applies-to",
        "service_accounts",
        "--resource",
        "appdb",
    )
    stored = ToolRule.objects.get()
    assert (stored.effect, stored.tool, stored.resource, stored.applies_to) == (
        "deny",
        "call_http",
        appdb,
        "service_accounts",
    )
    call_command("set_mcp_tool_rule", "agents-no-http", "--delete")
    assert not ToolRule.objects.exists()
    with pytest.raises(CommandError, match="effect"):
        call_command("set_mcp_tool_rule", "x")
    with pytest.raises(CommandError, match="no resource"):
        call_command("set_mcp_tool_rule", "x", "--effect", "hold", "--resource", "nope")
