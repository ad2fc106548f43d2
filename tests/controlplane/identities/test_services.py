"""API keys: issued once, stored hashed, authenticate until revoked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from controlplane.identities.models import ApiKey, User
from controlplane.identities.services import (
    admin_create,
    api_key_authenticate,
    api_key_create,
    api_key_revoke,
    service_account_create,
)


def test_an_api_key_is_stored_only_as_prefix_and_hash(db: None, agent_smith: User) -> None:
    issued = api_key_create(actor=None, user=agent_smith)
    row = ApiKey.objects.filter(pk=issued.api_key.pk).values().get()
    assert issued.plaintext.startswith(f"gh_{row['prefix']}_")
    assert all(issued.plaintext not in str(value) for value in row.values())


def test_a_good_key_authenticates_its_owner(db: None, agent_smith: User) -> None:
    issued = api_key_create(actor=None, user=agent_smith)
    assert api_key_authenticate(presented=issued.plaintext).user == agent_smith


def test_a_wrong_secret_with_a_real_prefix_does_not_authenticate(
    db: None, agent_smith: User
) -> None:
    issued = api_key_create(actor=None, user=agent_smith)
    forged = f"gh_{issued.api_key.prefix}_{'A' * 43}"
    assert api_key_authenticate(presented=forged) is None


def test_a_revoked_key_no_longer_authenticates(db: None, bob: User, agent_smith: User) -> None:
    issued = api_key_create(actor=None, user=agent_smith)
    api_key_revoke(actor=bob, api_key=issued.api_key)
    assert api_key_authenticate(presented=issued.plaintext) is None


def test_revoking_twice_keeps_the_first_revocation_time(
    db: None, bob: User, agent_smith: User
) -> None:
    issued = api_key_create(actor=None, user=agent_smith)
    first = api_key_revoke(actor=bob, api_key=issued.api_key).revoked_at
    assert api_key_revoke(actor=bob, api_key=issued.api_key).revoked_at == first


def test_a_disabled_identitys_keys_do_not_authenticate(db: None, agent_smith: User) -> None:
    issued = api_key_create(actor=None, user=agent_smith)
    User.objects.filter(pk=agent_smith.pk).update(is_active=False)
    assert api_key_authenticate(presented=issued.plaintext) is None


def test_last_use_is_recorded_at_most_once_a_minute(db: None, agent_smith: User) -> None:
    issued = api_key_create(actor=None, user=agent_smith)
    first = api_key_authenticate(presented=issued.plaintext).last_used_at
    assert first is not None
    assert api_key_authenticate(presented=issued.plaintext).last_used_at == first
    ApiKey.objects.filter(pk=issued.api_key.pk).update(last_used_at=first - timedelta(minutes=2))
    assert api_key_authenticate(presented=issued.plaintext).last_used_at > first - timedelta(
        seconds=1
    )
    assert abs(
        api_key_authenticate(presented=issued.plaintext).last_used_at - timezone.now()
    ) < timedelta(minutes=1)


def test_a_service_account_has_no_usable_password_and_its_kind_set(db: None) -> None:
    account, issued = service_account_create(actor=None, name="agent-smith")
    assert account.kind == User.Kind.SERVICE_ACCOUNT
    assert account.is_service_account
    assert not account.has_usable_password()
    assert issued.api_key.user == account


def test_an_administrator_is_staff_and_superuser_without_a_password(db: None) -> None:
    admin, issued = admin_create(actor=None, username="bob")
    assert admin.is_staff and admin.is_superuser
    assert not admin.has_usable_password()
    assert api_key_authenticate(presented=issued.plaintext).user == admin


def test_identity_names_must_be_unique_and_well_formed(db: None, agent_smith: User) -> None:
    with pytest.raises(ValidationError, match="already exists"):
        service_account_create(actor=None, name="agent-smith")
    with pytest.raises(ValidationError):
        service_account_create(actor=None, name="no spaces/allowed")
