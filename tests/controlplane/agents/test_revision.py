"""Every snapshot change bumps the revision and, only after commit, tells the agents."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from controlplane.access import services as access_services
from controlplane.access.services import grant_create
from controlplane.agents import revision
from controlplane.agents.services import IssuedAgent
from controlplane.identities.models import User
from controlplane.identities.tokens import signing_key_rotate
from controlplane.resources.models import Resource


@pytest.fixture
def notified(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr(revision, "_notify", calls.append)
    return calls


def test_a_grant_tells_only_the_agent_serving_the_resource_after_commit(
    bob: User,
    alice: User,
    appdb: Resource,
    edge: IssuedAgent,
    notified: list[list[str]],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        grant_create(actor=bob, identity=alice, resource=appdb, duration=timedelta(hours=1))
        assert notified == []  # nothing leaves before the transaction commits
    assert len(callbacks) == 1
    assert notified == [[f"agent.{edge.agent.pk}"]]


def test_a_key_rotation_tells_every_agent(
    bob: User, notified: list[list[str]], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        signing_key_rotate(actor=bob)
    assert notified == [[revision.ALL_AGENTS_GROUP]]


def test_a_rolled_back_change_tells_no_one_and_leaves_the_revision(
    bob: User,
    alice: User,
    appdb: Resource,
    notified: list[list[str]],
    django_capture_on_commit_callbacks: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def audit_fails(**kwargs: Any) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(access_services, "audit_event_record", audit_fails)
    before = revision.config_revision_current()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        grant_create(actor=bob, identity=alice, resource=appdb, duration=timedelta(hours=1))
    assert callbacks == [] and notified == []
    assert revision.config_revision_current() == before
