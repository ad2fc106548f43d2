"""Resolution per grant (masking's rule), the snapshot an agent gets (only the profiles its
grants use, each grant naming its own), and every change: audited before and after, the
revision moved, the agents concerned told after commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from controlplane.access.models import Grant
from controlplane.access.services import grant_create
from controlplane.agents import revision
from controlplane.agents.services import IssuedAgent
from controlplane.agents.snapshot import agent_snapshot_build
from controlplane.audit.models import AuditEvent
from controlplane.guardrails.selectors import guardrail_policy_for_grant
from controlplane.guardrails.services import (
    GuardrailPolicySpec,
    guardrail_policy_delete,
    guardrail_policy_set,
    guardrail_policy_update,
)
from controlplane.identities.models import User
from controlplane.resources.models import Resource
from dataplane.contract import Snapshot
from tests.controlplane.access.conftest import member
from tests.controlplane.guardrails.conftest import HOLD_WRITES, NO_DROP, policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def notified(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr(revision, "_notify", calls.append)
    return calls


@pytest.fixture
def alice_on_appdb(bob: User, alice: User, appdb: Resource) -> Grant:
    return grant_create(
        actor=bob, identity=alice, resource=appdb, duration=timedelta(hours=1), reason="fix"
    )


def winner(grant: Grant) -> str | None:
    found = guardrail_policy_for_grant(grant=grant)
    return found.name if found else None


def test_a_grant_no_policy_matches_runs_without_guardrails(smith_on_appdb: Grant) -> None:
    policy("people-only", applies_to="people")
    policy("disabled", enabled=False)
    assert winner(smith_on_appdb) is None


def test_higher_priority_wins_then_the_more_specific(
    smith_on_appdb: Grant, appdb: Resource, billingdb: Resource
) -> None:
    policy("global")
    assert winner(smith_on_appdb) == "global"
    policy("appdb-own", resource=appdb)
    assert winner(smith_on_appdb) == "appdb-own"  # a resource's own over a global one
    policy("ai", applies_to="service_accounts", priority=5)
    assert winner(smith_on_appdb) == "ai"  # priority first
    policy("elsewhere", resource=billingdb, priority=99)
    assert winner(smith_on_appdb) == "ai"


def test_groups_narrow_a_policy_to_their_members(
    smith_on_appdb: Grant, alice_on_appdb: Grant, alice: User
) -> None:
    policy("oncall", groups=["oncall"], priority=1)
    assert (winner(smith_on_appdb), winner(alice_on_appdb)) == (None, None)
    member(alice, "oncall")
    assert winner(alice_on_appdb) == "oncall"


def test_the_snapshot_carries_only_the_profiles_its_grants_use(
    edge: IssuedAgent, smith_on_appdb: Grant, alice_on_appdb: Grant, appdb: Resource
) -> None:
    policy("ai", applies_to="service_accounts", policy=HOLD_WRITES, hold_timeout_s=120)
    policy("unused", applies_to="people", groups=["nobody"])
    snapshot = agent_snapshot_build(agent=edge.agent)
    assert [(p.name, p.policy, p.hold_timeout_s) for p in snapshot.guardrail_profiles] == [
        ("ai", HOLD_WRITES, 120)
    ]
    by_grant = {g.id: g.guardrails for g in snapshot.grants}
    assert by_grant == {str(smith_on_appdb.pk): "ai", str(alice_on_appdb.pk): ""}
    # The agent reads it back as the contract says (format 5).
    assert Snapshot.from_dict(snapshot.to_dict()).guardrail_profile("ai") is not None


def test_changes_are_audited_before_and_after(bob: User, appdb: Resource) -> None:
    created = policy("p", actor=bob, resource=appdb, groups=["dba"])
    event = AuditEvent.objects.get(action="guardrail_policy.created")
    assert (event.actor_name, event.resource, event.payload["before"]) == ("bob", "appdb", None)
    assert event.payload["after"]["policy"] == NO_DROP
    assert event.payload["after"]["groups"] == ["dba"]
    guardrail_policy_update(
        actor=bob, policy=created, spec=GuardrailPolicySpec(policy=HOLD_WRITES, resource=appdb)
    )
    updated = AuditEvent.objects.get(action="guardrail_policy.updated")
    assert updated.payload["before"]["policy"] == NO_DROP
    assert updated.payload["after"]["policy"] == HOLD_WRITES
    guardrail_policy_delete(actor=bob, policy=created)
    deleted = AuditEvent.objects.get(action="guardrail_policy.deleted")
    assert (deleted.payload["name"], deleted.payload["after"]) == ("p", None)


def test_set_creates_then_replaces_whole(bob: User) -> None:
    _, created = guardrail_policy_set(
        actor=bob, name="p", spec=GuardrailPolicySpec(policy=NO_DROP, priority=3)
    )
    stored, again = guardrail_policy_set(
        actor=bob, name="p", spec=GuardrailPolicySpec(policy=NO_DROP)
    )
    assert (created, again, stored.priority) == (True, False, 0)


def test_a_change_moves_the_revision_and_tells_the_agents_concerned_after_commit(
    bob: User,
    edge: IssuedAgent,
    edge2: IssuedAgent,
    appdb: Resource,
    billingdb: Resource,
    notified: list[list[str]],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    before = revision.config_revision_current()
    with django_capture_on_commit_callbacks(execute=True):
        created = policy("p", actor=bob, resource=appdb)
    assert notified == [[revision.agent_group(edge.agent.pk)]]
    with django_capture_on_commit_callbacks(execute=True):
        guardrail_policy_update(
            actor=bob, policy=created, spec=GuardrailPolicySpec(policy=NO_DROP, resource=billingdb)
        )
    assert sorted(notified[-1]) == sorted(
        [revision.agent_group(edge.agent.pk), revision.agent_group(edge2.agent.pk)]
    )
    with django_capture_on_commit_callbacks(execute=True):
        policy("everywhere", actor=bob)
    assert notified[-1] == [revision.ALL_AGENTS_GROUP]
    assert revision.config_revision_current() == before + 3


def test_the_next_snapshot_carries_the_change(
    bob: User, edge: IssuedAgent, smith_on_appdb: Grant
) -> None:
    created = policy("p", actor=bob)
    first = agent_snapshot_build(agent=edge.agent)
    guardrail_policy_update(actor=bob, policy=created, spec=GuardrailPolicySpec(policy=HOLD_WRITES))
    second = agent_snapshot_build(agent=edge.agent)
    assert second.revision > first.revision
    assert second.guardrail_profiles[0].policy == HOLD_WRITES
    guardrail_policy_delete(actor=bob, policy=created)
    third = agent_snapshot_build(agent=edge.agent)
    assert (third.guardrail_profiles, third.grants[0].guardrails) == ((), "")
