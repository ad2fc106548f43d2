"""The approver's inbox (/inbox/): alice's access request, agent-smith's held statement and
its held tool call (made for alice) wait for erin, an approver of appdb, each with the rule
that applies; erin decides with a comment and the list and history follow. Requesters and
auditors who approve nothing get 403 for the page and for every decision; nobody decides
their own request."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client

from controlplane.access.models import AccessRequest, Approval
from controlplane.access.services import access_request_create
from controlplane.agents.services import IssuedAgent
from controlplane.guardrails.holds import statement_hold_receive
from controlplane.guardrails.models import StatementHold
from controlplane.identities.models import User
from controlplane.mcp_server.holds import tool_call_hold_create
from controlplane.mcp_server.models import ToolCallHold
from controlplane.policies.models import Incident, Policy
from controlplane.resources.models import Resource
from tests.controlplane.access.conftest import member
from tests.controlplane.guardrails.conftest import hold_request
from tests.controlplane.mcp_server.conftest import rule

HTMX = {"HTTP_HX_REQUEST": "true"}
SQL = "DELETE FROM orders WHERE note = '<b>old</b>'"


def signed_in(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def ask(who: User, policy: Policy, *, minutes: int = 20, level: str = "read-only") -> AccessRequest:
    return access_request_create(
        actor=who,
        resource=policy.resource,
        duration=timedelta(minutes=minutes),
        access_level=level,
        reason="investigate ticket 42",
    )


@pytest.fixture
def pending(developer_alice: User, appdb_policy: Policy) -> AccessRequest:
    return ask(developer_alice, appdb_policy)


@pytest.fixture
def held(edge: IssuedAgent, agent_smith: User, appdb_policy: Policy) -> StatementHold:
    statement_hold_receive(agent=edge.agent, request=hold_request(agent_smith))
    return StatementHold.objects.get()


@pytest.fixture
def tool_held(
    agent_smith: User, alice: User, appdb: Resource, appdb_policy: Policy
) -> ToolCallHold:
    return tool_call_hold_create(
        identity=agent_smith,
        on_behalf_of=alice,
        tool="query_database",
        arguments={"resource": "appdb", "sql": SQL},
        resource=appdb,
        rule=rule("held-sql", tool="query_database", effect="hold", description="deletes wait"),
        correlation_id="run-1",
    )


def card(page: str, element_id: str) -> str:
    start = page.index(f'<article class="card inbox-item" id="{element_id}"')
    return page[start : page.index("</article>", start)]


# -- who sees the inbox --------------------------------------------------------------------------
def test_requesters_get_no_inbox_and_no_link(developer_alice: User, pending: AccessRequest) -> None:
    client = signed_in(developer_alice)
    assert client.get("/inbox/").status_code == 403
    assert client.get("/inbox/items").status_code == 403
    assert 'href="/inbox/"' not in client.get("/").content.decode()


def test_an_auditor_reads_no_inbox_and_decides_nothing(
    carol: User,
    pending: AccessRequest,
    held: StatementHold,
    tool_held: ToolCallHold,
) -> None:
    client = signed_in(carol)
    assert client.get("/inbox/").status_code == 403
    for url in (
        f"/requests/{pending.pk}/decide",
        f"/holds/{held.pk}/decide",
        f"/holds/tool-calls/{tool_held.pk}/decide",
    ):
        assert client.post(url, {"decision": "approve"}, **HTMX).status_code == 403, url
    assert pending.approvals.count() == 0
    assert StatementHold.objects.get().status == ToolCallHold.objects.get().status == "pending"


def test_the_old_pages_lead_to_the_inbox(erin: User) -> None:
    for old in ("/approvals/", "/holds/"):
        response = signed_in(erin).get(old)
        assert response.status_code == 302 and response["Location"] == "/inbox/"


# -- what the approver reads ---------------------------------------------------------------------
def test_erin_reads_each_item_with_the_rule_that_applies(
    erin: User, pending: AccessRequest, held: StatementHold, tool_held: ToolCallHold
) -> None:
    page = signed_in(erin).get("/inbox/").content.decode()
    assert 'hx-trigger="every 2s [gatehouseIdle()], inbox-changed from:body"' in page
    assert 'aria-current="page"' in page[page.index('href="/inbox/"') - 5 :][:60]

    request = card(page, f"request-{pending.pk}")
    for shown in ("alice", "appdb", "read-only", "20 min", "investigate ticket 42"):
        assert shown in request
    assert "1 approval needed (0 so far)" in request and "from dba" in request
    assert "at most 1 h" in request
    assert "No auto-approval rule names alice." in request
    assert 'class="countdown"' in request and "data-expires-at=" in request
    assert '<label for="comment-' in request and ">Comment<" in request

    statement = card(page, f"hold-{held.pk}")
    assert "UPDATE orders SET status = &#x27;void&#x27; WHERE id = 42" in statement
    assert "hold-writes" in statement and "holds for approval UPDATE orders" in statement
    assert "agent-smith" in statement

    tool = card(page, f"tool-hold-{tool_held.pk}")
    assert "DELETE FROM orders WHERE note = &#x27;&lt;b&gt;old&lt;/b&gt;&#x27;" in tool
    assert "for alice" in tool and "held-sql" in tool and "deletes wait" in tool


def test_the_auto_approval_rule_that_names_the_requester_says_why_it_did_not_apply(
    erin: User, agent_smith: User, appdb_policy: Policy
) -> None:
    """agent-smith is auto-approved for 15 minutes of read-only; 20 minutes wait for a human."""
    slow = ask(agent_smith, appdb_policy, minutes=20)
    page = signed_in(erin).get("/inbox/items").content.decode()
    explained = card(page, f"request-{slow.pk}")
    assert "Auto-approval for service-account:agent-smith (read-only, up to 15 min)" in explained
    assert "does not apply: 20 min asked." in explained


def test_an_incident_rule_is_named_with_the_missing_incident(
    erin: User, developer_alice: User, appdb_policy: Policy
) -> None:
    appdb_policy.auto_approvals.create(
        group=developer_alice.groups.get(), max_duration_seconds=3600, only_during_incident=True
    )
    item = ask(developer_alice, appdb_policy)
    explained = card(signed_in(erin).get("/inbox/").content.decode(), f"request-{item.pk}")
    assert "group:developers (read-only, up to 1 h during an incident)" in explained
    assert "no incident is open" in explained
    Incident.objects.create(reason="outage", declared_by=erin)
    explained = card(signed_in(erin).get("/inbox/").content.decode(), f"request-{item.pk}")
    assert "would apply now" in explained


def test_new_items_appear_in_the_polled_fragment_and_the_count(
    erin: User, developer_alice: User, appdb_policy: Policy
) -> None:
    client = signed_in(erin)
    assert "Nothing is waiting for you." in client.get("/inbox/items").content.decode()
    assert 'data-count="0"' in client.get("/inbox/count").content.decode()
    item = ask(developer_alice, appdb_policy)
    fragment = client.get("/inbox/items", **HTMX).content.decode()
    assert f'id="request-{item.pk}"' in fragment and "<html" not in fragment
    assert 'data-count="1"' in client.get("/inbox/count").content.decode()
    assert 'data-count="1"' in client.get("/").content.decode()  # the navigation's badge


# -- deciding ------------------------------------------------------------------------------------
def test_erin_approves_a_request_with_a_comment_in_place(
    erin: User, pending: AccessRequest
) -> None:
    client = signed_in(erin)
    response = client.post(
        f"/requests/{pending.pk}/decide", {"decision": "approve", "comment": "go ahead"}, **HTMX
    )
    assert response.status_code == 200
    assert f'id="request-{pending.pk}"' in response.content.decode()
    events = json.loads(response["HX-Trigger"])
    assert events["inbox-changed"] is True
    assert events["gatehouse-status"]["message"] == "alice's request for appdb: approved."
    assert Approval.objects.get(request=pending).comment == "go ahead"

    assert "Nothing is waiting for you." in client.get("/inbox/items").content.decode()
    history = client.get("/inbox/history").content.decode()
    row = history[history.index(f'id="decided-{pending.pk}"') :]
    assert "approved" in row and "go ahead" in row and "investigate ticket 42" in row


def test_hold_decisions_store_the_comment(
    erin: User, held: StatementHold, tool_held: ToolCallHold
) -> None:
    client = signed_in(erin)
    statement = client.post(
        f"/holds/{held.pk}/decide", {"decision": "deny", "comment": "not on a Friday"}, **HTMX
    )
    assert statement.status_code == 200
    assert f'id="hold-{held.pk}"' in statement.content.decode()
    message = json.loads(statement["HX-Trigger"])["gatehouse-status"]["message"]
    assert message == "agent-smith's statement: Denied."
    tool = client.post(
        f"/holds/tool-calls/{tool_held.pk}/decide",
        {"decision": "approve", "comment": "checked the rows"},
        **HTMX,
    )
    assert tool.status_code == 200
    held.refresh_from_db()
    tool_held.refresh_from_db()
    assert (held.status, held.decision_comment) == ("denied", "not on a Friday")
    assert (tool_held.status, tool_held.decision_comment) == ("approved", "checked the rows")
    history = client.get("/inbox/history").content.decode()
    assert "not on a Friday" in history and "checked the rows" in history


def test_without_javascript_a_decision_redirects_to_the_inbox(
    erin: User, pending: AccessRequest
) -> None:
    response = signed_in(erin).post(
        f"/requests/{pending.pk}/decide", {"decision": "deny"}, follow=True
    )
    assert response.redirect_chain == [("/inbox/", 302)]
    assert "alice&#x27;s request for appdb: denied." in response.content.decode()


def test_a_decision_without_a_choice_is_refused(erin: User, pending: AccessRequest) -> None:
    response = signed_in(erin).post(f"/requests/{pending.pk}/decide", {"decision": "maybe"}, **HTMX)
    assert response.status_code == 400 and 'role="alert"' in response.content.decode()
    assert AccessRequest.objects.get().status == "pending"


def test_an_approver_never_decides_her_own_request(
    developer_alice: User, erin: User, appdb_policy: Policy
) -> None:
    own = ask(member(developer_alice, "dba"), appdb_policy)
    client = signed_in(developer_alice)
    assert f'id="request-{own.pk}"' not in client.get("/inbox/").content.decode()
    response = client.post(f"/requests/{own.pk}/decide", {"decision": "approve"}, **HTMX)
    assert response.status_code == 403
    assert AccessRequest.objects.get().status == "pending"


def test_decisions_need_the_csrf_token(erin: User, pending: AccessRequest) -> None:
    client = signed_in(erin, csrf=True)
    assert client.post(f"/requests/{pending.pk}/decide", {"decision": "approve"}).status_code == 403
    token = str(client.get("/inbox/").context["csrf_token"])
    response = client.post(
        f"/requests/{pending.pk}/decide", {"decision": "approve"}, HTTP_X_CSRFTOKEN=token, **HTMX
    )
    assert response.status_code == 200


# -- history -------------------------------------------------------------------------------------
def test_approvers_see_their_own_decisions_administrators_everyones(
    bob: User, erin: User, frank: User, developer_alice: User, appdb_policy: Policy
) -> None:
    first, second = ask(developer_alice, appdb_policy), ask(developer_alice, appdb_policy)
    signed_in(erin).post(f"/requests/{first.pk}/decide", {"decision": "approve", "comment": "e"})
    signed_in(frank).post(f"/requests/{second.pk}/decide", {"decision": "deny", "comment": "f"})

    erins = signed_in(erin).get("/inbox/history").content.decode()
    assert f'id="decided-{first.pk}"' in erins and f'id="decided-{second.pk}"' not in erins
    everyones = signed_in(bob).get("/inbox/history").content.decode()
    assert f'id="decided-{first.pk}"' in everyones and f'id="decided-{second.pk}"' in everyones
    assert ">By</th>" in everyones and ">By</th>" not in erins


def test_deciding_twice_shows_the_refusal_in_place(
    erin: User, frank: User, pending: AccessRequest
) -> None:
    signed_in(frank).post(f"/requests/{pending.pk}/decide", {"decision": "deny"})
    response = signed_in(erin).post(
        f"/requests/{pending.pk}/decide", {"decision": "approve"}, **HTMX
    )
    assert response.status_code == 409
    assert 'role="alert"' in response.content.decode()
    assert "no longer pending" in json.loads(response["HX-Trigger"])["gatehouse-status"]["message"]
    assert AccessRequest.objects.get().status == "denied"


def test_decisions_are_never_gets(erin: User, pending: AccessRequest, held: StatementHold) -> None:
    client = signed_in(erin)
    assert client.get(f"/requests/{pending.pk}/decide").status_code == 405
    assert client.get(f"/holds/{held.pk}/decide").status_code == 405
