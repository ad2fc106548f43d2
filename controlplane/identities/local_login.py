"""Password sign-in, kept for one case: the bootstrap administrator before (or without) an
identity provider. Off unless GATEHOUSE_LOCAL_LOGIN=true; even then only staff users with a
password set through ``create_admin --password-stdin`` may use it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest

from controlplane.audit.services import audit_event_record
from controlplane.identities.models import User
from controlplane.identities.signin import SignInMethod, identity_sign_in_record
from controlplane.identities.throttling import (
    RateLimited,
    client_address,
    credential_attempt_check,
    username_identifier,
)

PASSWORD_SET = "identity.password_set"


def local_login_enabled() -> bool:
    return bool(settings.GATEHOUSE_LOCAL_LOGIN)


def may_use_password(user: User) -> bool:
    """Only human administrators with a usable password; never service accounts."""
    return (
        user.is_active
        and user.is_staff
        and user.kind == User.Kind.USER
        and user.has_usable_password()
    )


class LocalPasswordBackend(ModelBackend):
    """Django's password check, narrowed to administrators and switched by configuration.
    Also serves the Django admin's login form."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not local_login_enabled() or username is None or password is None:
            return None
        _attempt_count(request, username)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if not isinstance(user, User) or not may_use_password(user):
            return None
        identity_sign_in_record(user=user, method=SignInMethod.PASSWORD)
        return user


def _attempt_count(request: HttpRequest | None, username: str) -> None:
    try:
        credential_attempt_check(
            endpoint="password_login",
            client=client_address(request.META if request is not None else {}),
            credential=username_identifier(username),
        )
    except RateLimited:
        # Django's authenticate() stops at PermissionDenied and tries no other backend; the
        # form shows its usual failure, so the limit tells a guesser nothing new.
        raise PermissionDenied("too many sign-in attempts") from None


def admin_password_set(*, actor: User | None, user: User, password: str) -> User:
    """Give an administrator a password for local sign-in (validated by Django's password
    validators). Refused for anyone who is not staff."""
    if not (user.is_staff and user.kind == User.Kind.USER):
        raise ValidationError({"username": ["only administrators may have a password"]})
    validate_password(password, user=user)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        audit_event_record(
            actor=actor,
            action=PASSWORD_SET,
            payload={"identity": str(user.pk), "identity_name": user.username},
        )
    return user
