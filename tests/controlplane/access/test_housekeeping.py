"""Housekeeping: undecided requests and holds expire and grant ends are recorded, each
exactly once; snapshots carry grants until they end, with their start and access level."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from controlplane.access.models import AccessRequest, Grant
from controlplane.access.services import (
    access_request_approve,
    access_request_create,
    access_requests_expire,
    grant_create,
    grant_revoke,
    grants_expire,
)
from controlplane.agents.revision import config_revision_current
from controlplane.agents.services import IssuedAgent
from controlplane.agents.snapshot import agent_snapshot_build
from controlplane.audit.models import AuditEvent
from controlplane.guardrails.holds import statement_hold_receive
from controlplane.guardrails.models import StatementHold
from controlplane.identities.models import User
from controlplane.jobs.tasks import housekeeping
from controlplane.mcp_server.holds import tool_call_hold_create
from controlplane.mcp_server.models import ToolCallHold
from controlplane.policies.models import Policy
from controlplane.resources.models import Resource
from dataplane.contract import Snapshot
from tests.controlplane.guardrails.conftest import hold_request
from tests.controlplane.mcp_server.conftest import rule


def _ask(alice: User, appdb: Resource) -> AccessRequest:
    return access_request_create(
        actor=alice, resource=appdb, duration=timedelta(minutes=2), reason="INC-7"
    )


def test_an_undecided_request_expires_once_however_often_the_job_runs(
    appdb_policy: Policy, developer_alice: User, appdb: Resource
) -> None:
    request = _ask(developer_alice, appdb)
    fresh = _ask(developer_alice, appdb)
    AccessRequest.objects.filter(pk=request.pk).update(expires_at=timezone.now())
    assert access_requests_expire() == 1
    assert access_requests_expire() == 0
    request.refresh_from_db()
    fresh.refresh_from_db()
    assert (request.status, fresh.status) == ("expired", "pending")
    event = AuditEvent.objects.get(action="access_request.expired")
    assert (event.actor_name, event.payload["request"]) == ("system", str(request.pk))


def test_a_grant_past_its_end_is_recorded_as_ended_exactly_once(
    bob: User, alice: User, appdb: Resource
) -> None:
    grant = grant_create(actor=bob, identity=alice, resource=appdb, duration=timedelta(hours=1))
    revoked = grant_create(actor=bob, identity=alice, resource=appdb, duration=timedelta(hours=1))
    grant_revoke(actor=bob, grant=revoked)
    later = timezone.now() + timedelta(hours=2)
    before = config_revision_current()
    assert grants_expire(at=later) == 1
    assert grants_expire(at=later) == 0
    assert config_revision_current() == before + 1
    event = AuditEvent.objects.get(action="grant.ended")
    assert (event.payload["grant"], event.payload["reason"]) == (str(grant.pk), "expired")
    assert not AuditEvent.objects.filter(action="grant.ended", payload__grant=str(revoked.pk))


def test_the_housekeeping_task_and_command_run_both_jobs(
    bob: User, alice: User, appdb: Resource
) -> None:
    grant = grant_create(actor=bob, identity=alice, resource=appdb, duration=timedelta(hours=1))
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now())
    assert housekeeping.apply().get() == {"requests_expired": 0, "grants_ended": 1}
    call_command("run_housekeeping", "--once", stdout=StringIO(), stderr=StringIO())
    assert AuditEvent.objects.filter(action="grant.ended").count() == 1


def test_the_command_expires_held_statements_and_tool_calls_as_beat_does(
    edge: IssuedAgent, agent_smith: User, appdb: Resource
) -> None:
    statement_hold_receive(agent=edge.agent, request=hold_request(agent_smith))
    tool_call_hold_create(
        identity=agent_smith,
        on_behalf_of=None,
        tool="query_database",
        arguments={"resource": "appdb", "sql": "DELETE FROM orders"},
        resource=appdb,
        rule=rule("held-sql", tool="query_database", effect="hold"),
        correlation_id="",
    )
    past = timezone.now() - timedelta(seconds=1)
    StatementHold.objects.update(expires_at=past)
    ToolCallHold.objects.update(expires_at=past)
    for _ in range(2):  # each expires once
        call_command("run_housekeeping", "--once", stdout=StringIO(), stderr=StringIO())
    assert StatementHold.objects.get().status == ToolCallHold.objects.get().status == "expired"
    assert AuditEvent.objects.filter(action="guardrail.hold_expired").count() == 1
    assert AuditEvent.objects.filter(action="mcp.hold_expired").count() == 1


def test_the_snapshot_carries_the_grants_level_and_a_future_start_but_no_ended_grant(
    appdb_policy: Policy, bob: User, developer_alice: User, erin: User, agent_smith: User,
    edge: IssuedAgent, appdb: Resource,
) -> None:  # fmt: skip
    approved = access_request_approve(actor=erin, request=_ask(developer_alice, appdb))
    expired = grant_create(
        actor=bob, identity=agent_smith, resource=appdb, duration=timedelta(hours=1)
    )
    Grant.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    future = grant_create(
        actor=bob, identity=agent_smith, resource=appdb, duration=timedelta(hours=1)
    )
    starts = timezone.now() + timedelta(minutes=10)
    Grant.objects.filter(pk=future.pk).update(starts_at=starts)

    snapshot = agent_snapshot_build(agent=edge.agent)
    specs = {spec.id: spec for spec in snapshot.grants}
    assert set(specs) == {str(approved.grant.pk), str(future.pk)}
    assert specs[str(approved.grant.pk)].access_level == "read-only"
    assert specs[str(approved.grant.pk)].starts_at is None  # already started
    assert specs[str(future.pk)].starts_at == starts
    assert Snapshot.from_dict(snapshot.to_dict()) == snapshot
    assert not Grant.objects.get(pk=future.pk).is_active()
