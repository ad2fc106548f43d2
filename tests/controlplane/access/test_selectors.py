"""Which grants are in force: not revoked, not expired."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from controlplane.access.models import Grant
from controlplane.access.selectors import grants_active_for, grants_active_on, grants_visible_to
from controlplane.access.services import grant_create, grant_revoke
from controlplane.identities.models import User
from controlplane.resources.models import Resource


def test_a_fresh_grant_is_active(smith_on_appdb: Grant, agent_smith: User, appdb: Resource) -> None:
    assert list(Grant.objects.active()) == [smith_on_appdb]
    assert list(grants_active_for(identity=agent_smith, resource=appdb)) == [smith_on_appdb]
    assert smith_on_appdb.is_active()


def test_a_grant_is_no_longer_active_once_it_expires(smith_on_appdb: Grant) -> None:
    after_expiry = smith_on_appdb.expires_at + timedelta(seconds=1)
    assert not Grant.objects.active(at=after_expiry).exists()
    assert not Grant.objects.active(at=smith_on_appdb.expires_at).exists()
    assert not smith_on_appdb.is_active(at=after_expiry)


def test_a_revoked_grant_is_not_active(bob: User, smith_on_appdb: Grant) -> None:
    grant_revoke(actor=bob, grant=smith_on_appdb)
    assert not Grant.objects.active().exists()


def test_active_grants_on_resources_leave_out_other_resources(
    bob: User, agent_smith: User, smith_on_appdb: Grant, billingdb: Resource, appdb: Resource
) -> None:
    grant_create(actor=bob, identity=agent_smith, resource=billingdb, duration=timedelta(minutes=5))
    assert list(grants_active_on(resources=[appdb])) == [smith_on_appdb]


def test_users_see_their_own_grants_and_administrators_see_all(
    bob: User, alice: User, agent_smith: User, smith_on_appdb: Grant, appdb: Resource
) -> None:
    alices = grant_create(actor=bob, identity=alice, resource=appdb, duration=timedelta(minutes=5))
    assert list(grants_visible_to(user=alice)) == [alices]
    assert set(grants_visible_to(user=bob)) == {alices, smith_on_appdb}
    assert list(grants_visible_to(user=bob, filters={"identity": "alice"})) == [alices]


def test_the_active_filter_splits_in_force_from_ended_grants(
    bob: User, alice: User, smith_on_appdb: Grant, appdb: Resource
) -> None:
    ended = grant_create(actor=bob, identity=alice, resource=appdb, duration=timedelta(minutes=5))
    grant_revoke(actor=bob, grant=ended)
    assert list(grants_visible_to(user=bob, filters={"active": True})) == [smith_on_appdb]
    assert list(grants_visible_to(user=bob, filters={"active": False})) == [ended]
    assert timezone.now() < smith_on_appdb.expires_at
