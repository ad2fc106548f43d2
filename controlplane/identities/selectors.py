"""Reads for identities."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from controlplane.identities.models import ApiKey, User


def identity_get(*, username: str) -> User:
    """The identity called ``username``; raises User.DoesNotExist."""
    return User.objects.get(username=username)


def identity_find(*, username: str) -> User | None:
    """The identity called ``username``, or None."""
    return User.objects.filter(username=username).first()


def identities_active() -> QuerySet[User]:
    """Identities that may authenticate, be granted access and get tokens."""
    return User.objects.filter(is_active=True)


def service_accounts_list() -> QuerySet[User]:
    """Service accounts by name, with how many usable API keys each holds."""
    usable_keys = Q(api_keys__revoked_at__isnull=True)
    return (
        User.objects.filter(kind=User.Kind.SERVICE_ACCOUNT)
        .annotate(api_key_count=Count("api_keys", filter=usable_keys))
        .order_by("username")
    )


def api_key_get(*, prefix: str) -> ApiKey:
    """The API key with ``prefix`` (revoked or not); raises ApiKey.DoesNotExist."""
    return ApiKey.objects.select_related("user").get(prefix=prefix)


def api_keys_of(*, user: User) -> QuerySet[ApiKey]:
    """``user``'s API keys, newest first, revoked ones included."""
    return ApiKey.objects.filter(user=user).select_related("user").order_by("-created_at")


def service_account_get(*, name: str) -> User:
    """The service account called ``name``; raises User.DoesNotExist."""
    return User.objects.get(username=name, kind=User.Kind.SERVICE_ACCOUNT)
