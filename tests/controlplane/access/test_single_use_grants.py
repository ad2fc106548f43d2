"""Single-use grants: an auto-approval rule of scope session or call makes a grant that
admits one session (one statement for call), and the grant ends when the serving agent
reports that session's end."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from controlplane.access import single_use
from controlplane.access.models import Grant
from controlplane.access.services import access_request_create, grant_create
from controlplane.agents.revision import config_revision_current
from controlplane.agents.services import IssuedAgent
from controlplane.agents.snapshot import agent_snapshot_build
from controlplane.audit.models import AuditEvent
from controlplane.audit.services import audit_events_ingest
from controlplane.identities.models import User
from controlplane.policies.services import AutoApprovalRuleSpec, policy_set
from controlplane.resources.models import Resource
from dataplane.contract import Actor, GrantScope
from dataplane.contract import AuditEvent as WireEvent
from tests.controlplane.access.conftest import appdb_spec, with_levels

ClientAs = Callable[[User | None], APIClient]
SEQ = itertools.count(1)


def scoped_policy(bob: User, agent_smith: User, appdb: Resource, scope: str) -> None:
    rule = AutoApprovalRuleSpec(
        service_account=agent_smith, max_duration=timedelta(minutes=15), scope=scope
    )
    policy_set(
        actor=bob,
        resource=with_levels(appdb),
        spec=appdb_spec(agent_smith, auto_approvals=[rule]),
    )


def smith_asks(agent_smith: User, appdb: Resource) -> Grant:
    request = access_request_create(
        actor=agent_smith, resource=appdb, duration=timedelta(minutes=5), reason="nightly report"
    )
    return Grant.objects.get(request=request)


def session_end(grant: Grant, *, scope: str | None = None, session: str = "s-1") -> WireEvent:
    return WireEvent(
        seq=next(SEQ),
        time=datetime.now(UTC).isoformat(),
        action="session.end",
        actor=Actor(sub=str(grant.identity_id), kind="service_account", name="agent-smith"),
        resource=grant.resource.name,
        protocol="postgres",
        session=session,
        payload={"reason": "client disconnected", "grant": str(grant.pk),
                 "grant_scope": scope or grant.scope},
    )  # fmt: skip


@pytest.mark.parametrize("scope", ["session", "call"])
def test_a_scoped_rule_grants_the_service_account_at_once_for_one_use(
    bob: User, agent_smith: User, appdb: Resource, edge: IssuedAgent, scope: str
) -> None:
    scoped_policy(bob, agent_smith, appdb, scope)
    grant = smith_asks(agent_smith, appdb)
    assert grant.scope == scope and grant.is_active() and grant.request.auto_approved
    created = AuditEvent.objects.get(action="grant.created")
    assert created.payload["scope"] == scope
    approved = AuditEvent.objects.get(action="access_request.approved")
    assert approved.payload["auto_approval_rule"]["scope"] == scope
    (spec,) = agent_snapshot_build(agent=edge.agent).grants
    assert spec.scope == GrantScope(scope) and spec.single_use


def test_the_grant_ends_when_the_agent_reports_its_session_ended(
    bob: User, agent_smith: User, appdb: Resource, edge: IssuedAgent
) -> None:
    scoped_policy(bob, agent_smith, appdb, "session")
    grant = smith_asks(agent_smith, appdb)
    before = config_revision_current()
    audit_events_ingest(agent=edge.agent, events=[session_end(grant, session="s-42")])
    grant.refresh_from_db()
    assert grant.used_up_at is not None and not grant.is_active()
    assert grant.ended_recorded_at == grant.used_up_at
    assert config_revision_current() == before + 1  # the agent gets a snapshot without it
    assert agent_snapshot_build(agent=edge.agent).grants == ()
    ended = AuditEvent.objects.get(action="grant.ended")
    assert ended.payload["reason"] == "used" and ended.payload["session"] == "s-42"
    assert ended.actor_name == "edge-1"


def test_a_resent_session_end_ends_the_grant_once(
    bob: User, agent_smith: User, appdb: Resource, edge: IssuedAgent
) -> None:
    scoped_policy(bob, agent_smith, appdb, "call")
    grant = smith_asks(agent_smith, appdb)
    event = session_end(grant)
    audit_events_ingest(agent=edge.agent, events=[event])
    audit_events_ingest(agent=edge.agent, events=[event])
    assert single_use.grants_end_after_use(agent=edge.agent, events=[event]) == 0
    assert AuditEvent.objects.filter(action="grant.ended").count() == 1


def test_a_duration_grant_outlives_its_sessions_whatever_the_agent_claims(
    bob: User, edge: IssuedAgent, smith_on_appdb: Grant
) -> None:
    audit_events_ingest(agent=edge.agent, events=[session_end(smith_on_appdb, scope="session")])
    smith_on_appdb.refresh_from_db()
    assert smith_on_appdb.is_active() and smith_on_appdb.used_up_at is None


def test_only_the_agent_serving_the_resource_can_end_its_grant(
    bob: User, agent_smith: User, appdb: Resource, edge2: IssuedAgent
) -> None:
    scoped_policy(bob, agent_smith, appdb, "session")
    grant = smith_asks(agent_smith, appdb)
    audit_events_ingest(agent=edge2.agent, events=[session_end(grant)])
    grant.refresh_from_db()
    assert grant.is_active()


def test_an_event_naming_no_grant_or_a_malformed_one_is_ignored(
    bob: User, agent_smith: User, appdb: Resource, edge: IssuedAgent
) -> None:
    scoped_policy(bob, agent_smith, appdb, "session")
    grant = smith_asks(agent_smith, appdb)
    odd = [session_end(grant), session_end(grant)]
    odd[0].payload["grant"] = "not-a-uuid"
    del odd[1].payload["grant"]
    assert single_use.grants_end_after_use(agent=edge.agent, events=odd) == 0
    grant.refresh_from_db()
    assert grant.is_active()


def test_if_recording_the_end_fails_the_grant_stays_in_force(
    bob: User,
    agent_smith: User,
    appdb: Resource,
    edge: IssuedAgent,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scoped_policy(bob, agent_smith, appdb, "session")
    grant = smith_asks(agent_smith, appdb)

    def fail(**kwargs: object) -> None:
        raise RuntimeError("audit log unavailable")

    # The real audit path cannot be made to fail on demand here; only the recorder is swapped.
    monkeypatch.setattr(single_use, "audit_event_record", fail)
    with pytest.raises(RuntimeError):
        single_use.grant_end_after_use(agent=edge.agent, grant_id=grant.pk, session="s-1")
    grant.refresh_from_db()
    assert grant.used_up_at is None and grant.is_active()


def test_an_administrator_grants_one_session_and_the_api_shows_its_use(
    client_as: ClientAs, bob: User, agent_smith: User, appdb: Resource, edge: IssuedAgent
) -> None:
    created = client_as(bob).post(
        "/api/v1/grants",
        {"identity": "agent-smith", "resource": "appdb", "duration_seconds": 600,
         "scope": "session", "reason": "one migration run"},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    assert (created.data["scope"], created.data["used_up_at"]) == ("session", None)
    grant = Grant.objects.get(pk=created.data["id"])
    audit_events_ingest(agent=edge.agent, events=[session_end(grant)])
    (shown,) = client_as(bob).get("/api/v1/grants", {"active": "false"}).data["results"]
    assert shown["id"] == str(grant.pk) and shown["scope"] == "session"
    assert shown["used_up_at"] is not None and shown["active"] is False
    assert client_as(bob).get("/api/v1/grants", {"active": "true"}).data["results"] == []


def test_an_unknown_scope_is_refused(bob: User, agent_smith: User, appdb: Resource) -> None:
    with pytest.raises(ValidationError):
        grant_create(
            actor=bob,
            identity=agent_smith,
            resource=appdb,
            duration=timedelta(minutes=1),
            scope="per-row",
        )
    assert not Grant.objects.exists()
