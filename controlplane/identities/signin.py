"""Writes for browser sign-in: people from an OpenID provider become (and stay) Gatehouse
users, their groups follow the provider, and every sign-in and sign-out is audited.

Decisions:

- A person is matched only by (issuer, ``sub``) through ``ExternalIdentity``, never by
  username or email, so a provider account can't take over an existing local user (the
  bootstrap admin, a service account) by choosing a matching name.
- The username is chosen once, at the first sign-in, from ``preferred_username``, else
  ``email``, else ``sub``; a taken name gets a numeric suffix. It isn't renamed later, so
  audit records keep one name per person.
- The provider owns group membership: on every sign-in the user's groups are replaced by the
  groups claim (names as given, created when new). Gatehouse roles hang off group names
  (``auditors``; approver groups in policies), so roles follow the provider too. Staff
  (administrator) status never comes from a claim.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone

from controlplane.audit.services import audit_event_record
from controlplane.identities.models import ExternalIdentity, User

NAME_MAX = 150  # Django's username and group name limit
# A first sign-in losing a race retries; more than a few losses in a row is not a race.
FIRST_SIGN_IN_ATTEMPTS = 3
_NOT_IN_USERNAME = re.compile(r"[^\w.@+-]")
# User field → the standard claim that refreshes it at every sign-in.
PROFILE_CLAIMS = {"email": "email", "first_name": "given_name", "last_name": "family_name"}


class SignInAction(StrEnum):
    # Kept here rather than in controlplane.audit.actions so this change stays inside the
    # identities app; the audit API filters on the string either way.
    SIGNED_IN = "identity.signed_in"
    SIGNED_OUT = "identity.signed_out"
    SIGN_IN_REFUSED = "identity.sign_in_refused"


class SignInMethod(StrEnum):
    OIDC = "oidc"
    SAML = "saml"
    PASSWORD = "password"


class SignInRefused(Exception):
    """The provider vouched for someone Gatehouse won't sign in; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def oidc_identity_sign_in(*, issuer: str, claims: Mapping[str, Any], groups_claim: str) -> User:
    """Sign in the person the provider's verified ``claims`` describe: create their user at
    the first sign-in, refresh name and email, replace their groups, audit. Raises
    SignInRefused (and audits the refusal) for unusable claims or a disabled user."""
    return external_identity_sign_in(
        issuer=issuer, claims=claims, groups_claim=groups_claim, method=SignInMethod.OIDC
    )


def external_identity_sign_in(
    *, issuer: str, claims: Mapping[str, Any], groups_claim: str, method: SignInMethod
) -> User:
    """The one sign-in path for every identity provider (OIDC, SAML): ``claims`` use OIDC's
    standard names (a SAML assertion is translated to them first) and have been verified by
    the caller; ``method`` is recorded in the audit event."""
    try:
        with transaction.atomic():
            return _external_sign_in(
                issuer=issuer, claims=claims, groups_claim=groups_claim, method=method
            )
    except SignInRefused as refusal:
        _refusal_record(issuer=issuer, claims=claims, reason=refusal.reason, method=method)
        raise


def identity_sign_in_record(
    *, user: User, method: SignInMethod, details: Mapping[str, Any] | None = None
) -> None:
    """Audit a successful sign-in (the user is the actor)."""
    with transaction.atomic():
        audit_event_record(
            actor=user,
            action=SignInAction.SIGNED_IN,
            payload={"method": str(method), **(details or {})},
        )


def identity_sign_out_record(*, user: User) -> None:
    """Audit a sign-out; the caller ends the session."""
    with transaction.atomic():
        audit_event_record(actor=user, action=SignInAction.SIGNED_OUT)


def _external_sign_in(
    *, issuer: str, claims: Mapping[str, Any], groups_claim: str, method: SignInMethod
) -> User:
    subject = _subject(claims)
    groups = _groups(claims, groups_claim)
    link, created = _link_get_or_create(issuer=issuer, subject=subject, claims=claims)
    user = link.user
    if not created:
        _check_may_sign_in(user)
    _profile_update(user, claims)
    user.last_login = timezone.now()
    user.save()
    link.last_sign_in_at = user.last_login
    link.save(update_fields=["last_sign_in_at"])
    added, removed = _groups_replace(user, groups)
    identity_sign_in_record(
        user=user,
        method=method,
        details={
            "issuer": issuer,
            "subject": subject,
            "created": created,
            "groups": sorted(groups),
            "groups_added": added,
            "groups_removed": removed,
        },
    )
    return user


def _link_get_or_create(
    *, issuer: str, subject: str, claims: Mapping[str, Any]
) -> tuple[ExternalIdentity, bool]:
    """The person's link, locked; created with a new user at their first sign-in.

    Two first sign-ins of the same person can race (two tabs, a double-click): both find no
    link and both insert, and the loser hits a unique constraint (the link's, or the
    username's). Each attempt runs in a savepoint, so the loser rolls back only its attempt
    and finds the winner's committed link on the next one. A username taken by someone else
    meanwhile is the same error and simply picks the next free name."""
    for _ in range(FIRST_SIGN_IN_ATTEMPTS - 1):
        try:
            with transaction.atomic():
                return _link_find_or_insert(issuer=issuer, subject=subject, claims=claims)
        except IntegrityError:
            continue
    return _link_find_or_insert(issuer=issuer, subject=subject, claims=claims)


def _link_find_or_insert(
    *, issuer: str, subject: str, claims: Mapping[str, Any]
) -> tuple[ExternalIdentity, bool]:
    link = (
        ExternalIdentity.objects.select_for_update()
        .select_related("user")
        .filter(issuer=issuer, subject=subject)
        .first()
    )
    if link is not None:
        return link, False
    user = User(username=_free_username(claims), kind=User.Kind.USER)
    user.set_unusable_password()
    user.save()
    return ExternalIdentity.objects.create(issuer=issuer, subject=subject, user=user), True


def _subject(claims: Mapping[str, Any]) -> str:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > 255:
        raise SignInRefused("the provider's claims carry no usable sub")
    return subject


def _groups(claims: Mapping[str, Any], groups_claim: str) -> set[str]:
    value = claims.get(groups_claim, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise SignInRefused(f"the {groups_claim!r} claim is not a list of group names")
    names = {name.strip() for name in value if name.strip()}
    too_long = sorted(name for name in names if len(name) > NAME_MAX)
    if too_long:
        raise SignInRefused(f"group names longer than {NAME_MAX} characters: {too_long[0]!r}")
    return names


def _check_may_sign_in(user: User) -> None:
    if not user.is_active:
        raise SignInRefused("the user is disabled in Gatehouse")
    if user.kind != User.Kind.USER:
        raise SignInRefused("the identity is a service account")


def _free_username(claims: Mapping[str, Any]) -> str:
    wanted = next(
        (
            str(claims[key])
            for key in ("preferred_username", "email", "sub")
            if isinstance(claims.get(key), str) and claims[key].strip()
        ),
        "user",
    )
    base = _NOT_IN_USERNAME.sub("-", wanted.strip())[: NAME_MAX - 8] or "user"
    candidate, suffix = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        suffix += 1
        candidate = f"{base}-{suffix}"
    return candidate


def _profile_update(user: User, claims: Mapping[str, Any]) -> None:
    for field, claim in PROFILE_CLAIMS.items():
        value = claims.get(claim)
        if isinstance(value, str):
            setattr(user, field, value[: User._meta.get_field(field).max_length])


def _groups_replace(user: User, names: set[str]) -> tuple[list[str], list[str]]:
    current = set(user.groups.values_list("name", flat=True))
    wanted = [Group.objects.get_or_create(name=name)[0] for name in sorted(names)]
    user.groups.set(wanted)
    return sorted(names - current), sorted(current - names)


def _refusal_record(
    *, issuer: str, claims: Mapping[str, Any], reason: str, method: SignInMethod
) -> None:
    # Only reached after the provider's signature was verified, so anonymous callers can't
    # use it to fill the audit log.
    subject = claims.get("sub")
    with transaction.atomic():
        audit_event_record(
            actor=None,
            action=SignInAction.SIGN_IN_REFUSED,
            payload={
                "method": str(method),
                "issuer": issuer,
                "subject": subject if isinstance(subject, str) else "",
                "reason": reason,
            },
        )
