"""Held tool calls in the console's inbox (/inbox/): an approver reads the exact arguments, who
called and for whom, and approves or denies with a CSRF-protected POST; the person an agent
acts for, and anyone who is not an approver, cannot."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from controlplane.identities.models import User
from controlplane.mcp_server.holds import tool_call_hold_create
from controlplane.mcp_server.models import ToolCallHold
from controlplane.policies.models import Policy
from controlplane.resources.models import Resource
from tests.controlplane.mcp_server.conftest import rule

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
SQL = "DELETE FROM orders WHERE note = '<b>old</b>'"


def signed_in(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


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


def test_the_approver_sees_the_exact_arguments_who_for_whom_and_where(
    erin: User, held: ToolCallHold
) -> None:
    html = signed_in(erin).get("/inbox/").content.decode()
    # Escaped, never interpreted: the approver reads the statement that will run.
    assert "DELETE FROM orders WHERE note = &#x27;&lt;b&gt;old&lt;/b&gt;&#x27;" in html
    for shown in ("query_database", "agent-smith", "for alice", "appdb", "held-sql"):
        assert shown in html
    assert "No statements are waiting for you." in html  # statement holds stay as they were


def test_approving_with_csrf_runs_the_service(erin: User, held: ToolCallHold) -> None:
    client = signed_in(erin, csrf=True)
    page = client.get("/inbox/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    url = f"/holds/tool-calls/{held.pk}/decide"
    assert client.post(url, {"decision": "approve"}).status_code == 403  # no CSRF token
    response = client.post(url, {"decision": "approve", "csrfmiddlewaretoken": token}, **HTMX)
    assert response.status_code == 200
    assert "agent-smith's query_database call:" in response.content.decode()
    assert "No tool calls are waiting for you." in client.get("/inbox/items").content.decode()
    assert ToolCallHold.objects.get().decided_by == erin


def test_a_denial_and_a_second_click(erin: User, frank: User, held: ToolCallHold) -> None:
    url = f"/holds/tool-calls/{held.pk}/decide"
    assert signed_in(erin).post(url, {"decision": "deny"}, **HTMX).status_code == 200
    again = signed_in(frank).post(url, {"decision": "approve"}, **HTMX)
    assert again.status_code == 409 and "denied, no longer pending" in again.content.decode()


def test_the_person_acted_for_sees_nothing_and_cannot_decide(
    alice: User, bob: User, held: ToolCallHold
) -> None:
    alice.is_staff = True
    alice.save()
    html = signed_in(alice).get("/inbox/").content.decode()
    assert "No tool calls are waiting for you." in html
    url = f"/holds/tool-calls/{held.pk}/decide"
    assert signed_in(alice).post(url, {"decision": "approve"}, **HTMX).status_code == 403
    assert ToolCallHold.objects.get().status == "pending"


def test_people_who_are_not_approvers_get_no_page(
    developer_alice: User, held: ToolCallHold
) -> None:
    client = signed_in(developer_alice)
    assert client.get("/inbox/").status_code == 403
    assert (
        client.post(f"/holds/tool-calls/{held.pk}/decide", {"decision": "approve"}).status_code
        == 403
    )
