"""Who sees which sessions and who may end one: administrators and auditors see every
session; approvers also those on resources they approve; requesters only their own (as the
caller or as the person an AI agent acted for). Administrators and the resource's approvers
may terminate; auditors never; a session already over or an agent offline is refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from unittest.mock import patch

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from controlplane.agents.models import Agent
from controlplane.audit.models import AuditEvent
from controlplane.identities.models import User
from controlplane.policies.models import Policy
from controlplane.sessions.models import SessionRecord
from controlplane.sessions.selectors import SessionFilters, sessions_list, sessions_live_for_grant
from controlplane.sessions.services import session_terminate, sessions_terminable_by
from dataplane.contract import AuditEvent as WireEvent
from tests.controlplane.sessions.conftest import T0, actor_of, session_events, wire_event

Ingest = Callable[[list[WireEvent]], int]


@pytest.fixture
def sessions(
    ingest: Ingest, edge_online: Agent, developer_alice: User, agent_smith: User, bob: User
) -> None:
    """alice's live session on appdb (masked), agent-smith's for alice (a denial), and
    bob's ended session on billingdb."""
    ingest(session_events(1, "s-alice", actor_of(developer_alice), end=False, grant="g-a"))
    smith = actor_of(agent_smith, on_behalf_of=developer_alice)
    ingest(
        [
            *session_events(10, "s-smith", smith, statements=0, end=False),
            wire_event(11, "guardrail.denied", session="s-smith", actor=smith),
        ]
    )
    events = [
        wire_event(20 + i, e.action, session="s-bob", actor=actor_of(bob), payload=e.payload,
                   resource="billingdb", at=T0 + timedelta(hours=1, seconds=i))
        for i, e in enumerate(session_events(1, "x", actor_of(bob), statements=1))
    ]  # fmt: skip
    ingest(events)


def _ids(records: object) -> set[str]:
    return {record.session_id for record in records}  # type: ignore[attr-defined]


def test_administrators_and_auditors_see_every_session(
    sessions: None, bob: User, carol: User
) -> None:
    assert _ids(sessions_list(bob)) == _ids(sessions_list(carol)) == {"s-alice", "s-smith", "s-bob"}


def test_a_requester_sees_her_own_sessions_and_those_an_agent_ran_for_her(
    sessions: None, developer_alice: User, agent_smith: User
) -> None:
    assert _ids(sessions_list(developer_alice)) == {"s-alice", "s-smith"}
    assert _ids(sessions_list(agent_smith)) == {"s-smith"}


def test_an_approver_also_sees_the_sessions_on_resources_she_approves(
    sessions: None, erin: User, appdb_policy: Policy
) -> None:
    assert _ids(sessions_list(erin)) == {"s-alice", "s-smith"}


def test_filters_narrow_the_list(sessions: None, carol: User, edge_online: Agent) -> None:
    def ids(**filters: object) -> set[str]:
        return _ids(sessions_list(carol, SessionFilters(**filters)))  # type: ignore[arg-type]

    assert ids(identity="alice") == {"s-alice", "s-smith"}  # as caller or acted-for
    assert ids(identity="agent-smith") == {"s-smith"}
    assert ids(resource="billingdb") == {"s-bob"}
    assert ids(protocol="http") == set()
    assert ids(had_denial=True) == {"s-smith"}
    assert ids(had_masking=True) == {"s-alice", "s-bob"}
    assert ids(started_from=T0 + timedelta(minutes=30)) == {"s-bob"}
    assert ids(started_to=T0 + timedelta(minutes=30)) == {"s-alice", "s-smith"}
    assert ids(live_only=True) == {"s-alice", "s-smith"}
    Agent.objects.filter(pk=edge_online.pk).update(connected=False)
    assert ids(live_only=True) == set()  # open, but their agent is offline


def test_sessions_live_for_grant(sessions: None, edge_online: Agent) -> None:
    assert _ids(sessions_live_for_grant("g-a")) == {"s-alice"}
    assert _ids(sessions_live_for_grant("g-1")) == {"s-smith"}  # s-bob's ended
    Agent.objects.filter(pk=edge_online.pk).update(connected=False)
    assert not sessions_live_for_grant("g-a").exists()


def test_nobody_signed_in_sees_nothing(sessions: None) -> None:
    from django.contrib.auth.models import AnonymousUser

    assert not sessions_list(AnonymousUser()).exists()


# -- terminate ----------------------------------------------------------------------------------
def test_an_administrator_terminates_a_live_session(
    sessions: None, bob: User, django_capture_on_commit_callbacks: object
) -> None:
    record = SessionRecord.objects.get(session_id="s-alice")
    with (
        patch("controlplane.sessions.services._send") as send,
        django_capture_on_commit_callbacks(execute=True),  # type: ignore[operator]
    ):
        session_terminate(actor=bob, record=record, reason="suspicious  export")
    group, body = send.call_args.args
    assert group == f"agent.{record.agent_id}"
    assert body == {"session": "s-alice", "reason": "suspicious export", "by": "bob"}
    event = AuditEvent.objects.get(action="session.terminate_requested")
    assert (event.actor_name, event.resource) == ("bob", "appdb")
    assert event.payload["session"] == "s-alice" and event.payload["identity_name"] == "alice"


def test_the_resources_approver_may_terminate_but_auditors_and_requesters_may_not(
    sessions: None, erin: User, carol: User, developer_alice: User, appdb_policy: Policy
) -> None:
    record = SessionRecord.objects.get(session_id="s-alice")
    with patch("controlplane.sessions.services._send"):
        session_terminate(actor=erin, record=record, reason="")
        for refused in (carol, developer_alice):
            with pytest.raises(PermissionDenied):
                session_terminate(actor=refused, record=record, reason="")
    bob_s = SessionRecord.objects.get(session_id="s-bob")  # billingdb: no policy, admins only
    with pytest.raises(PermissionDenied):
        session_terminate(actor=erin, record=bob_s, reason="")
    assert record in sessions_terminable_by(erin) and bob_s not in sessions_terminable_by(erin)
    assert record not in sessions_terminable_by(carol)


def test_an_auditor_who_also_approves_still_may_not_terminate(
    sessions: None, carol: User, appdb_policy: Policy
) -> None:
    from tests.controlplane.access.conftest import member

    member(carol, "dba")
    with pytest.raises(PermissionDenied):
        session_terminate(actor=carol, record=SessionRecord.objects.get(session_id="s-alice"))


def test_an_ended_session_or_an_offline_agent_is_refused(
    sessions: None, bob: User, edge_online: Agent
) -> None:
    with pytest.raises(ValidationError, match="already ended"):
        session_terminate(actor=bob, record=SessionRecord.objects.get(session_id="s-bob"))
    Agent.objects.filter(pk=edge_online.pk).update(connected=False)
    with pytest.raises(ValidationError, match="offline"):
        session_terminate(actor=bob, record=SessionRecord.objects.get(session_id="s-alice"))
    assert not AuditEvent.objects.filter(action="session.terminate_requested").exists()
