"""Granting and revoking access."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from controlplane.access.models import Grant
from controlplane.access.services import grant_create, grant_revoke
from controlplane.agents.revision import config_revision_current
from controlplane.audit.models import AuditEvent
from controlplane.identities.models import User
from controlplane.resources.models import Resource


def test_a_grant_records_who_granted_it_and_why(bob: User, smith_on_appdb: Grant) -> None:
    assert smith_on_appdb.created_by == bob
    assert smith_on_appdb.reason == "nightly report"
    event = AuditEvent.objects.get(action="grant.created")
    assert (event.actor_name, event.resource) == ("bob", "appdb")
    assert event.payload["grant"] == str(smith_on_appdb.pk)


def test_a_grant_may_end_at_a_given_time(bob: User, alice: User, appdb: Resource) -> None:
    until = timezone.now() + timedelta(hours=2)
    assert (
        grant_create(actor=bob, identity=alice, resource=appdb, expires_at=until).expires_at
        == until
    )


@pytest.mark.parametrize(
    "when",
    [
        {},
        {"duration": timedelta(hours=1), "expires_at": timezone.now() + timedelta(hours=1)},
        {"duration": timedelta(0)},
        {"expires_at": timezone.now() - timedelta(seconds=1)},
    ],
)
def test_exactly_one_future_end_is_required(
    bob: User, alice: User, appdb: Resource, when: dict
) -> None:
    with pytest.raises(ValidationError):
        grant_create(actor=bob, identity=alice, resource=appdb, **when)


def test_disabled_identities_cannot_be_granted_access(
    bob: User, alice: User, appdb: Resource
) -> None:
    User.objects.filter(pk=alice.pk).update(is_active=False)
    alice.refresh_from_db()
    with pytest.raises(ValidationError, match="disabled"):
        grant_create(actor=bob, identity=alice, resource=appdb, duration=timedelta(hours=1))


def test_granting_and_revoking_bump_the_config_revision(
    bob: User, alice: User, appdb: Resource
) -> None:
    before = config_revision_current()
    grant = grant_create(actor=bob, identity=alice, resource=appdb, duration=timedelta(hours=1))
    grant_revoke(actor=bob, grant=grant)
    assert config_revision_current() == before + 2


def test_revoking_records_who_and_when_once(bob: User, smith_on_appdb: Grant) -> None:
    revoked = grant_revoke(actor=bob, grant=smith_on_appdb)
    assert revoked.revoked_by == bob and revoked.revoked_at is not None
    again = grant_revoke(actor=bob, grant=smith_on_appdb)
    assert again.revoked_at == revoked.revoked_at
    assert AuditEvent.objects.filter(action="grant.revoked").count() == 1
