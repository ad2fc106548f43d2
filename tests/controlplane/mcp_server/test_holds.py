"""Tool-call holds: a held call keeps its exact arguments for approvers and is announced
without them; an approver of the resource (never the caller, nor the person it acts for)
decides it once; the deadline expires it; a caller that leaves withdraws it. Each step is
audited with digests, never the SQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from controlplane.audit.models import AuditEvent
from controlplane.identities.models import User
from controlplane.jobs import tasks
from controlplane.mcp_server import holds
from controlplane.mcp_server.holds import (
    tool_call_hold_approve,
    tool_call_hold_create,
    tool_call_hold_deny,
    tool_call_hold_expire,
    tool_call_hold_withdraw,
    tool_call_holds_expire,
)
from controlplane.mcp_server.models import ToolCallHold, ToolRule
from controlplane.mcp_server.selectors import tool_call_holds_awaiting, tool_call_holds_visible_to
from controlplane.policies.models import Policy
from controlplane.resources.models import Resource
from tests.controlplane.mcp_server.conftest import rule

pytestmark = pytest.mark.django_db

SQL = "SELECT email FROM customers WHERE email = 'alice@example.com'"


@pytest.fixture
def webhooks(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(holds, "webhook_enqueue", calls.append)
    return calls


@pytest.fixture
def held_sql(appdb: Resource) -> ToolRule:
    return rule("held-sql", tool="query_database", resource=appdb, effect="hold")


def _hold(
    identity: User, resource: Resource | None, rule: ToolRule, on_behalf_of: User | None = None
) -> ToolCallHold:
    return tool_call_hold_create(
        identity=identity,
        on_behalf_of=on_behalf_of,
        tool="query_database",
        arguments={"resource": "appdb", "sql": SQL, "max_rows": 10},
        resource=resource,
        rule=rule,
        correlation_id="run-7",
    )


@pytest.fixture
def held(agent_smith: User, alice: User, appdb: Resource, held_sql: ToolRule,
         appdb_policy: Policy) -> ToolCallHold:  # fmt: skip
    return _hold(agent_smith, appdb, held_sql, on_behalf_of=alice)


def test_a_hold_keeps_the_exact_arguments_and_approvers_hear_of_it_without_them(
    agent_smith: User,
    alice: User,
    appdb: Resource,
    held_sql: ToolRule,
    webhooks: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        hold = _hold(agent_smith, appdb, held_sql, on_behalf_of=alice)
    stored = ToolCallHold.objects.get()
    assert stored.arguments["sql"] == SQL
    assert (stored.status, stored.rule, stored.correlation_id) == ("pending", "held-sql", "run-7")
    assert stored.expires_at == hold.requested_at + timedelta(seconds=held_sql.hold_timeout_s)
    [message] = webhooks
    assert message["gatehouse"]["event"] == "tool_call_hold.held"
    assert "alice@example.com" not in str(message)
    event = AuditEvent.objects.get(action="mcp.tool_call_held")
    assert (event.actor_name, event.on_behalf_of_name, event.resource) == (
        "agent-smith",
        "alice",
        "appdb",
    )
    assert "alice@example.com" not in str(event.payload)
    assert event.payload["arguments"]["sql_length"] == len(SQL)


def test_an_approver_of_the_resource_approves_once(
    held: ToolCallHold, erin: User, frank: User
) -> None:
    decided = tool_call_hold_approve(actor=erin, hold=held)
    assert (decided.status, decided.decided_by) == ("approved", erin)
    with pytest.raises(ValidationError, match="approved, no longer pending"):
        tool_call_hold_deny(actor=frank, hold=held)
    event = AuditEvent.objects.get(action="mcp.hold_approved")
    assert (event.actor_name, event.payload["hold"]) == ("erin", str(held.pk))
    assert SQL not in str(event.payload)


def test_the_approver_s_comment_is_stored_and_audited(held: ToolCallHold, erin: User) -> None:
    decided = tool_call_hold_approve(actor=erin, hold=held, comment="read-only, fine")
    assert ToolCallHold.objects.get(pk=decided.pk).decision_comment == "read-only, fine"
    event = AuditEvent.objects.get(action="mcp.hold_approved")
    assert event.payload["comment"] == "read-only, fine"


def test_a_comment_past_1000_characters_is_refused(held: ToolCallHold, erin: User) -> None:
    with pytest.raises(ValidationError, match="at most 1000 characters"):
        tool_call_hold_deny(actor=erin, hold=held, comment="x" * 1001)
    assert ToolCallHold.objects.get().status == "pending"


def test_a_denial_is_audited(held: ToolCallHold, bob: User) -> None:
    assert tool_call_hold_deny(actor=bob, hold=held).status == "denied"
    assert AuditEvent.objects.get(action="mcp.hold_denied").actor_name == "bob"


def test_the_person_an_agent_acts_for_does_not_decide_its_call(
    held: ToolCallHold, alice: User, bob: User, agent_smith: User, appdb_policy: Policy
) -> None:
    alice.is_staff = True  # even an administrator
    alice.save()
    with pytest.raises(PermissionDenied, match="own"):
        tool_call_hold_approve(actor=alice, hold=held)
    assert not tool_call_holds_awaiting(approver=alice).exists()
    assert list(tool_call_holds_awaiting(approver=bob)) == [held]


def test_nobody_decides_their_own_call(bob: User, appdb: Resource, held_sql: ToolRule) -> None:
    hold = _hold(bob, appdb, held_sql)
    with pytest.raises(PermissionDenied, match="own"):
        tool_call_hold_approve(actor=bob, hold=hold)


@pytest.mark.usefixtures("held")
def test_only_approvers_of_the_resource_see_or_decide(
    developer_alice: User, carol: User, erin: User, agent_smith: User
) -> None:
    hold = ToolCallHold.objects.get()
    outsiders = (carol, agent_smith)
    for outsider in outsiders:
        with pytest.raises(PermissionDenied, match="approver role"):
            tool_call_hold_approve(actor=outsider, hold=hold)
        assert not tool_call_holds_visible_to(user=outsider).exists()
    assert list(tool_call_holds_awaiting(approver=erin)) == [hold]
    assert ToolCallHold.objects.get().status == "pending"


def test_a_call_naming_no_resource_is_decided_by_administrators_only(
    agent_smith: User, erin: User, bob: User, appdb_policy: Policy
) -> None:
    listing = rule("held-listing", tool="list_resources", effect="hold")
    hold = _hold(agent_smith, None, listing)
    with pytest.raises(PermissionDenied):
        tool_call_hold_approve(actor=erin, hold=hold)
    assert not tool_call_holds_awaiting(approver=erin).exists()
    assert tool_call_hold_approve(actor=bob, hold=hold).status == "approved"


def test_an_expired_hold_cannot_be_decided_and_is_expired_once(
    held: ToolCallHold, erin: User
) -> None:
    ToolCallHold.objects.filter(pk=held.pk).update(expires_at=timezone.now() - timedelta(1))
    with pytest.raises(ValidationError, match="expired"):
        tool_call_hold_approve(actor=erin, hold=held)
    assert tasks.tool_call_holds_expire_task.apply().get() == 1
    assert tool_call_holds_expire() == 0
    assert tool_call_hold_expire(hold_id=held.pk) is False
    assert ToolCallHold.objects.get().status == "expired"
    assert AuditEvent.objects.filter(action="mcp.hold_expired").count() == 1


def test_a_withdrawn_hold_can_no_longer_be_decided(held: ToolCallHold, erin: User) -> None:
    assert tool_call_hold_withdraw(hold_id=held.pk) is True
    assert tool_call_hold_withdraw(hold_id=held.pk) is False
    with pytest.raises(ValidationError, match="withdrawn"):
        tool_call_hold_approve(actor=erin, hold=held)
