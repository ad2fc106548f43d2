"""Every masking-policy change writes its audit event (before and after) in its own
transaction, moves the config revision and, after commit, tells the agents whose
snapshots it may change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from controlplane.access.models import Grant
from controlplane.agents import revision
from controlplane.agents.services import IssuedAgent
from controlplane.agents.snapshot import agent_snapshot_build
from controlplane.audit.models import AuditEvent
from controlplane.identities.models import User
from controlplane.masking import services
from controlplane.masking.models import MaskingPolicy
from controlplane.masking.services import (
    MaskingPolicySpec,
    masking_policy_delete,
    masking_policy_set,
    masking_policy_update,
)
from controlplane.resources.models import Resource
from tests.controlplane.masking.conftest import policy


@pytest.fixture
def notified(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr(revision, "_notify", calls.append)
    return calls


def last_event(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).latest("seq")


def test_creating_records_who_and_the_whole_policy(bob: User, appdb: Resource) -> None:
    policy("humans", actor=bob, resource=appdb, applies_to="people", groups=["staff"])
    event = last_event("masking_policy.created")
    assert (event.actor_name, event.resource) == ("bob", "appdb")
    assert event.payload["before"] is None
    after = event.payload["after"]
    assert (after["name"], after["resource"], after["groups"]) == ("humans", "appdb", ["staff"])
    assert after["default_strategy"] == "redact"
    stored = MaskingPolicy.objects.get(name="humans")
    assert stored.created_by == bob == stored.updated_by


def test_updating_records_before_and_after(bob: User, alice: User) -> None:
    created = policy("p", actor=alice)
    masking_policy_update(actor=bob, policy=created, spec=MaskingPolicySpec(priority=5))
    event = last_event("masking_policy.updated")
    assert (event.payload["before"]["priority"], event.payload["after"]["priority"]) == (0, 5)
    created.refresh_from_db()
    assert (created.created_by, created.updated_by) == (alice, bob)


def test_deleting_records_what_was_deleted(bob: User) -> None:
    masking_policy_delete(actor=bob, policy=policy("gone"))
    event = last_event("masking_policy.deleted")
    assert (event.payload["name"], event.payload["after"]) == ("gone", None)
    assert event.payload["before"]["name"] == "gone"
    assert not MaskingPolicy.objects.exists()


def test_set_creates_then_replaces_whole(bob: User) -> None:
    _, created = masking_policy_set(
        actor=bob, name="p", spec=MaskingPolicySpec(groups=["a"], deny_list=["x"])
    )
    replaced, again = masking_policy_set(actor=bob, name="p", spec=MaskingPolicySpec())
    assert (created, again) == (True, False)
    assert (list(replaced.groups.all()), replaced.deny_list) == ([], [])


def test_a_policy_name_is_taken_once(bob: User) -> None:
    from django.core.exceptions import ValidationError

    policy("p")
    with pytest.raises(ValidationError):
        policy("p")


def test_a_global_policy_tells_every_agent_after_commit(
    bob: User,
    notified: list[list[str]],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    before = revision.config_revision_current()
    with django_capture_on_commit_callbacks(execute=True):
        policy("everywhere", actor=bob)
        assert notified == []
    assert notified == [[revision.ALL_AGENTS_GROUP]]
    assert revision.config_revision_current() == before + 1


def test_a_resource_policy_tells_the_agents_serving_it_before_and_after(
    bob: User,
    edge: IssuedAgent,
    edge2: IssuedAgent,
    appdb: Resource,
    billingdb: Resource,
    notified: list[list[str]],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        created = policy("p", actor=bob, resource=appdb)
    assert notified == [[f"agent.{edge.agent.pk}"]]
    with django_capture_on_commit_callbacks(execute=True):
        masking_policy_update(actor=bob, policy=created, spec=MaskingPolicySpec(resource=billingdb))
    assert notified[-1] == sorted([f"agent.{edge.agent.pk}", f"agent.{edge2.agent.pk}"])
    with django_capture_on_commit_callbacks(execute=True):
        masking_policy_delete(actor=bob, policy=created)
    assert notified[-1] == [f"agent.{edge2.agent.pk}"]


def test_the_next_snapshot_carries_the_change(
    bob: User, edge: IssuedAgent, appdb: Resource, smith_on_appdb: Grant
) -> None:
    first = agent_snapshot_build(agent=edge.agent)
    created = policy("ai", actor=bob)
    masked = agent_snapshot_build(agent=edge.agent)
    masking_policy_update(actor=bob, policy=created, spec=MaskingPolicySpec(enabled=False))
    unmasked = agent_snapshot_build(agent=edge.agent)
    assert first.revision < masked.revision < unmasked.revision
    assert [g.masking for g in (first.grants + masked.grants + unmasked.grants)] == ["", "ai", ""]


def test_when_recording_fails_nothing_changes_and_no_one_is_told(
    bob: User,
    notified: list[list[str]],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    def audit_fails(**kwargs: Any) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(services, "audit_event_record", audit_fails)
    before = revision.config_revision_current()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        policy("p", actor=bob)
    assert not MaskingPolicy.objects.exists()
    assert (notified, revision.config_revision_current()) == ([], before)


def test_the_generated_key_is_recorded_without_its_value(
    edge: IssuedAgent, appdb: Resource, smith_on_appdb: Grant
) -> None:
    policy("ai")
    key = agent_snapshot_build(agent=edge.agent).masking_key
    agent_snapshot_build(agent=edge.agent)
    events = AuditEvent.objects.filter(action="masking_key.created")
    assert events.count() == 1
    assert key not in str(events.get().payload)
