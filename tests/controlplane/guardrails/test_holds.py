"""Statement holds: an agent's hold is stored once and announced; an approver of the
resource (never the identity itself) decides it once; housekeeping expires it; the agent
withdraws it. Every decision is audited and handed to the agent after commit."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from controlplane.agents.inbound import HoldWithdrawn
from controlplane.agents.services import IssuedAgent
from controlplane.audit.models import AuditEvent
from controlplane.guardrails import holds
from controlplane.guardrails.holds import (
    statement_hold_approve,
    statement_hold_deny,
    statement_hold_receive,
    statement_hold_withdraw,
    statement_holds_expire,
)
from controlplane.guardrails.models import StatementHold
from controlplane.guardrails.selectors import statement_holds_awaiting
from controlplane.identities.models import User
from controlplane.jobs import tasks
from controlplane.policies.models import Policy
from controlplane.resources.models import Resource
from tests.controlplane.guardrails.conftest import hold_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def pushed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """The hold_decision bodies sent to agents' channel groups."""
    calls: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(holds, "_send", lambda group, body: calls.append((group, body)))
    return calls


@pytest.fixture
def webhooks(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(holds, "webhook_enqueue", calls.append)
    return calls


@pytest.fixture
def held(edge: IssuedAgent, agent_smith: User, appdb_policy: Policy) -> StatementHold:
    assert statement_hold_receive(agent=edge.agent, request=hold_request(agent_smith)) is None
    return StatementHold.objects.get()


def test_a_hold_is_stored_with_the_exact_statement_and_approvers_are_notified(
    edge: IssuedAgent,
    agent_smith: User,
    appdb: Resource,
    webhooks: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    request = hold_request(agent_smith, statement="UPDATE t SET x = 'bob@example.com' WHERE id=1")
    with django_capture_on_commit_callbacks(execute=True):
        assert statement_hold_receive(agent=edge.agent, request=request) is None
    hold = StatementHold.objects.get(pk=request.id)
    assert (hold.statement, hold.identity, hold.resource, hold.rule, hold.status) == (
        "UPDATE t SET x = 'bob@example.com' WHERE id=1",
        agent_smith,
        appdb,
        "hold-writes",
        "pending",
    )
    [message] = webhooks
    assert message["gatehouse"]["event"] == "statement_hold.held"
    assert "bob@example.com" not in str(message)  # the text stays in the console


def test_a_hold_sent_again_is_the_same_hold(held: StatementHold, edge: IssuedAgent) -> None:
    again = hold_request(held.identity, id=str(held.pk), statement="something else")
    assert statement_hold_receive(agent=edge.agent, request=again) is None
    assert StatementHold.objects.get().statement == held.statement


def test_a_decided_hold_sent_again_gets_its_decision_at_once(
    held: StatementHold, edge: IssuedAgent, erin: User
) -> None:
    statement_hold_approve(actor=erin, hold=held)
    again = hold_request(held.identity, id=str(held.pk))
    answer = statement_hold_receive(agent=edge.agent, request=again)
    assert answer is not None
    assert (answer["id"], answer["decision"], answer["by"]) == (str(held.pk), "approved", "erin")


def test_a_hold_on_a_resource_the_agent_does_not_serve_is_denied_and_not_stored(
    edge: IssuedAgent, edge2: IssuedAgent, agent_smith: User, appdb: Resource, billingdb: Resource
) -> None:
    answer = statement_hold_receive(
        agent=edge.agent, request=hold_request(agent_smith, resource="billingdb")
    )
    assert answer is not None and answer["decision"] == "denied"
    unknown = hold_request(agent_smith, identity=str(uuid.uuid4()))
    assert statement_hold_receive(agent=edge.agent, request=unknown)["decision"] == "denied"  # type: ignore[index]
    assert not StatementHold.objects.exists()


def test_an_approver_of_the_resource_approves_and_the_agent_is_told(
    held: StatementHold,
    erin: User,
    edge: IssuedAgent,
    pushed: list[tuple[str, dict[str, Any]]],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        decided = statement_hold_approve(actor=erin, hold=held)
    assert (decided.status, decided.decided_by) == ("approved", erin)
    [(group, body)] = pushed
    assert group == f"agent.{edge.agent.pk}"
    assert body == {
        "id": str(held.pk),
        "decision": "approved",
        "by": "erin",
        "at": decided.decided_at.isoformat(),  # type: ignore[union-attr]
    }
    event = AuditEvent.objects.get(action="guardrail.hold_approved")
    assert (event.actor_name, event.resource) == ("erin", "appdb")
    assert event.payload["hold"] == str(held.pk) and event.payload["rule"] == "hold-writes"
    assert held.statement not in str(event.payload)  # a digest, not the text


def test_a_denial_is_audited_and_pushed(
    held: StatementHold,
    bob: User,
    pushed: list[tuple[str, dict[str, Any]]],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        statement_hold_deny(actor=bob, hold=held)
    assert pushed[0][1]["decision"] == "denied"
    assert AuditEvent.objects.get(action="guardrail.hold_denied").actor_name == "bob"


def test_the_approver_s_comment_is_stored_and_audited(held: StatementHold, erin: User) -> None:
    decided = statement_hold_deny(actor=erin, hold=held, comment="  use a transaction next time ")
    assert decided.decision_comment == "use a transaction next time"
    event = AuditEvent.objects.get(action="guardrail.hold_denied")
    assert event.payload["comment"] == "use a transaction next time"


def test_a_comment_past_1000_characters_is_refused_and_the_hold_stays_pending(
    held: StatementHold, erin: User
) -> None:
    with pytest.raises(ValidationError, match="at most 1000 characters"):
        statement_hold_approve(actor=erin, hold=held, comment="x" * 1001)
    assert StatementHold.objects.get().status == "pending"
    assert not AuditEvent.objects.filter(action="guardrail.hold_approved").exists()


def test_a_hold_is_decided_once(held: StatementHold, erin: User, frank: User) -> None:
    statement_hold_approve(actor=erin, hold=held)
    with pytest.raises(ValidationError, match="approved, no longer pending"):
        statement_hold_deny(actor=frank, hold=held)
    assert StatementHold.objects.get().status == "approved"


def test_nobody_decides_their_own_statement(
    edge: IssuedAgent, bob: User, appdb_policy: Policy
) -> None:
    statement_hold_receive(agent=edge.agent, request=hold_request(bob))
    hold = StatementHold.objects.get()
    with pytest.raises(PermissionDenied, match="own"):
        statement_hold_approve(actor=bob, hold=hold)
    assert statement_holds_awaiting(approver=bob).count() == 0


@pytest.mark.usefixtures("held")
def test_only_approvers_of_the_resource_see_or_decide(
    developer_alice: User, carol: User, erin: User, bob: User
) -> None:
    hold = StatementHold.objects.get()
    for outsider in (developer_alice, carol):
        with pytest.raises(PermissionDenied, match="approver role"):
            statement_hold_approve(actor=outsider, hold=hold)
        assert not statement_holds_awaiting(approver=outsider).exists()
    assert list(statement_holds_awaiting(approver=erin)) == [hold]
    assert list(statement_holds_awaiting(approver=bob)) == [hold]
    assert StatementHold.objects.get().status == "pending"


def test_without_an_access_policy_only_administrators_decide(
    edge: IssuedAgent, agent_smith: User, appdb: Resource, erin: User, bob: User
) -> None:
    statement_hold_receive(agent=edge.agent, request=hold_request(agent_smith))
    hold = StatementHold.objects.get()
    with pytest.raises(PermissionDenied):
        statement_hold_approve(actor=erin, hold=hold)
    assert statement_hold_approve(actor=bob, hold=hold).status == "approved"


def test_an_expired_hold_cannot_be_decided_and_housekeeping_expires_it(
    held: StatementHold,
    erin: User,
    pushed: list[tuple[str, dict[str, Any]]],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    StatementHold.objects.filter(pk=held.pk).update(expires_at=timezone.now() - timedelta(1))
    with pytest.raises(ValidationError, match="expired"):
        statement_hold_approve(actor=erin, hold=held)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.statement_holds_expire_task.apply().get() == 1
    assert statement_holds_expire() == 0  # each once
    assert StatementHold.objects.get().status == "expired"
    assert pushed[0][1]["decision"] == "expired" and pushed[0][1]["by"] == ""
    assert AuditEvent.objects.filter(action="guardrail.hold_expired").count() == 1


def test_the_agent_withdraws_a_pending_hold_and_it_can_no_longer_be_decided(
    held: StatementHold, edge: IssuedAgent, edge2: IssuedAgent, erin: User
) -> None:
    withdrawn = HoldWithdrawn(id=held.pk, reason="client cancelled")
    assert statement_hold_withdraw(agent=edge2.agent, withdrawn=withdrawn) is False  # not its own
    assert statement_hold_withdraw(agent=edge.agent, withdrawn=withdrawn) is True
    assert statement_hold_withdraw(agent=edge.agent, withdrawn=withdrawn) is False
    stored = StatementHold.objects.get()
    assert (stored.status, stored.withdrawn_reason) == ("withdrawn", "client cancelled")
    with pytest.raises(ValidationError, match="withdrawn"):
        statement_hold_approve(actor=erin, hold=held)
