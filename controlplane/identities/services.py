"""Writes for identities: administrators, service accounts and API keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from controlplane import bearer
from controlplane.access.models import Grant
from controlplane.access.services import grant_revoke
from controlplane.audit.actions import ControlPlaneAction
from controlplane.audit.services import audit_event_record
from controlplane.identities.actions import IdentityAction
from controlplane.identities.models import ApiKey, User

# Recording every request's use would turn each API call into a write; a minute is
# precise enough to tell a dormant key from a live one.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedApiKey:
    """A new API key; ``plaintext`` exists only here and is shown to the caller once."""

    api_key: ApiKey
    plaintext: str = field(repr=False)


def admin_create(
    *, actor: User | None, username: str, email: str = ""
) -> tuple[User, IssuedApiKey]:
    """Create an administrator (staff and superuser) with no usable password and a first
    API key. Password and OIDC login come later."""
    with transaction.atomic():
        user = _identity_create(username=username, kind=User.Kind.USER, email=email, admin=True)
        audit_event_record(
            actor=actor, action=ControlPlaneAction.ADMIN_CREATED, payload=_identity_payload(user)
        )
        return user, api_key_create(actor=actor, user=user)


def service_account_create(*, actor: User | None, name: str) -> tuple[User, IssuedApiKey]:
    """Create a service account (an identity for an AI agent or a job) and its first API key."""
    with transaction.atomic():
        user = _identity_create(username=name, kind=User.Kind.SERVICE_ACCOUNT)
        audit_event_record(
            actor=actor,
            action=ControlPlaneAction.SERVICE_ACCOUNT_CREATED,
            payload=_identity_payload(user),
        )
        return user, api_key_create(actor=actor, user=user)


def service_account_deactivate(*, actor: User | None, account: User, reason: str = "") -> User:
    """Disable a service account: its API keys stop authenticating, no gateway token can be
    minted or exchanged for it, and every grant it holds is ended, so agents cut the
    sessions of tokens it already has (those are verified offline until they expire, but
    without a grant they reach nothing). Deactivating twice changes nothing."""
    with transaction.atomic():
        account = _service_account_locked(account)
        if not account.is_active:
            return account
        account.is_active = False
        account.save(update_fields=["is_active"])
        ended = _grants_end(actor=actor, identity=account, reason=reason or "identity disabled")
        audit_event_record(
            actor=actor,
            action=IdentityAction.SERVICE_ACCOUNT_DEACTIVATED,
            payload={**_identity_payload(account), "reason": reason, "grants_ended": ended},
        )
    return account


def service_account_reactivate(*, actor: User | None, account: User) -> User:
    """Enable a disabled service account again. Its ended grants stay ended; its API keys
    that were not revoked work again."""
    with transaction.atomic():
        account = _service_account_locked(account)
        if account.is_active:
            return account
        account.is_active = True
        account.save(update_fields=["is_active"])
        audit_event_record(
            actor=actor,
            action=IdentityAction.SERVICE_ACCOUNT_REACTIVATED,
            payload=_identity_payload(account),
        )
    return account


def _service_account_locked(account: User) -> User:
    if not account.is_service_account:
        raise ValidationError({"service_account": [f"{account.username!r} is not one"]})
    return User.objects.select_for_update().get(pk=account.pk)


def _grants_end(*, actor: User | None, identity: User, reason: str) -> list[str]:
    # Through grant_revoke, the one write path for ending a grant (audit, snapshot push).
    grants = Grant.objects.not_ended().filter(identity=identity).order_by("starts_at")
    return [str(grant_revoke(actor=actor, grant=grant, reason=reason).pk) for grant in grants]


def api_key_create(*, actor: User | None, user: User) -> IssuedApiKey:
    """Issue another API key for ``user``; only its prefix and hash are stored."""
    issued = bearer.issue(ApiKey.SCHEME)
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            user=user, prefix=issued.prefix, hashed_secret=issued.hashed
        )
        audit_event_record(
            actor=actor,
            action=ControlPlaneAction.API_KEY_CREATED,
            payload={**_identity_payload(user), "prefix": api_key.prefix},
        )
    return IssuedApiKey(api_key=api_key, plaintext=issued.plaintext)


def api_key_revoke(*, actor: User | None, api_key: ApiKey) -> ApiKey:
    """Revoke an API key; it stops authenticating at once. Revoking twice changes nothing."""
    with transaction.atomic():
        api_key = ApiKey.objects.select_for_update().select_related("user").get(pk=api_key.pk)
        if api_key.revoked_at is not None:
            return api_key
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit_event_record(
            actor=actor,
            action=ControlPlaneAction.API_KEY_REVOKED,
            payload={**_identity_payload(api_key.user), "prefix": api_key.prefix},
        )
    return api_key


def api_key_authenticate(*, presented: str) -> ApiKey | None:
    """The usable key matching ``presented``, or None. Records when it was last used."""
    prefix = bearer.prefix_of(presented, ApiKey.SCHEME)
    if prefix is None:
        return None
    api_key = ApiKey.objects.usable().select_related("user").filter(prefix=prefix).first()
    if api_key is None or not bearer.matches(presented, api_key.hashed_secret):
        return None
    _api_key_touch(api_key)
    return api_key


def _api_key_touch(api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


def _identity_create(*, username: str, kind: str, email: str = "", admin: bool = False) -> User:
    _username_check(username)
    user = User(username=username, email=email, kind=kind, is_staff=admin, is_superuser=admin)
    user.set_unusable_password()
    user.save()
    return user


def _username_check(username: str) -> None:
    try:
        User.username_validator(username)
    except ValidationError as exc:
        raise ValidationError({"username": exc.messages}) from None
    if not username or len(username) > 150:
        raise ValidationError({"username": ["must be 1 to 150 characters"]})
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": [f"an identity named {username!r} already exists"]})


def _identity_payload(user: User) -> dict[str, str]:
    return {"identity": str(user.pk), "identity_name": user.username, "kind": user.kind}
