"""Held statements in the console's inbox: an approver sees each pending statement exactly as
held, with who, where, the rule and the times, and approves or denies it with a CSRF-
protected POST; people who are not approvers never see the inbox."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from controlplane.agents.services import IssuedAgent
from controlplane.guardrails.holds import statement_hold_receive
from controlplane.guardrails.models import StatementHold
from controlplane.identities.models import User
from controlplane.policies.models import Policy
from tests.controlplane.guardrails.conftest import hold_request

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
STATEMENT = "UPDATE orders SET note = '<b>urgent</b>' WHERE id = 42"


def signed_in(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


@pytest.fixture
def held(edge: IssuedAgent, agent_smith: User, appdb_policy: Policy) -> StatementHold:
    statement_hold_receive(agent=edge.agent, request=hold_request(agent_smith, statement=STATEMENT))
    return StatementHold.objects.get()


def test_the_approver_sees_the_exact_statement_who_where_and_why(
    erin: User, held: StatementHold
) -> None:
    page = signed_in(erin).get("/inbox/")
    assert page.status_code == 200
    html = page.content.decode()
    # Escaped, never interpreted: the approver reads the text that will run.
    assert "UPDATE orders SET note = &#x27;&lt;b&gt;urgent&lt;/b&gt;&#x27; WHERE id = 42" in html
    for shown in ("agent-smith", "appdb", "hold-writes", f"{held.expires_at:%Y-%m-%d %H:%M:%S}"):
        assert shown in html
    assert 'href="/inbox/"' in html  # in the navigation


def test_approving_with_csrf_runs_the_service_and_the_list_empties(
    erin: User, held: StatementHold
) -> None:
    client = signed_in(erin, csrf=True)
    page = client.get("/inbox/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    refused = client.post(f"/holds/{held.pk}/decide", {"decision": "approve"})
    assert refused.status_code == 403  # no CSRF token
    assert StatementHold.objects.get().status == "pending"
    response = client.post(
        f"/holds/{held.pk}/decide", {"decision": "approve", "csrfmiddlewaretoken": token}, **HTMX
    )
    assert response.status_code == 200
    assert f'id="hold-{held.pk}"' in response.content.decode()
    assert "No statements are waiting for you." in client.get("/inbox/items").content.decode()
    stored = StatementHold.objects.get()
    assert (stored.status, stored.decided_by) == ("approved", erin)


def test_deny_from_a_plain_form_redirects_with_a_message(bob: User, held: StatementHold) -> None:
    response = signed_in(bob).post(f"/holds/{held.pk}/decide", {"decision": "deny"}, follow=True)
    assert response.redirect_chain == [("/inbox/", 302)]
    assert "Denied" in response.content.decode()
    assert StatementHold.objects.get().status == "denied"


def test_a_second_decision_is_refused_with_the_reason(
    erin: User, frank: User, held: StatementHold
) -> None:
    signed_in(erin).post(f"/holds/{held.pk}/decide", {"decision": "approve"})
    late = signed_in(frank).post(f"/holds/{held.pk}/decide", {"decision": "deny"}, **HTMX)
    assert late.status_code == 409
    assert "no longer pending" in late.content.decode()
    assert StatementHold.objects.get().status == "approved"


def test_people_who_are_not_approvers_get_no_page_and_no_decision(
    developer_alice: User, carol: User, held: StatementHold
) -> None:
    for outsider in (developer_alice, carol):
        client = signed_in(outsider)
        assert client.get("/inbox/").status_code == 403
        assert client.post(f"/holds/{held.pk}/decide", {"decision": "approve"}).status_code == 403
    assert StatementHold.objects.get().status == "pending"
