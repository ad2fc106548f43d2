"""Reads for grants."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from controlplane.access.models import Grant
from controlplane.identities.models import User
from controlplane.identities.permissions import is_admin
from controlplane.resources.models import Resource


def grants_all() -> QuerySet[Grant]:
    """Every grant, newest first, with the identities and resource it names."""
    return Grant.objects.select_related(
        "identity", "resource", "created_by", "revoked_by"
    ).order_by("-created_at")


def grant_get(*, grant_id: object) -> Grant:
    """The grant with ``grant_id``; raises Grant.DoesNotExist."""
    return grants_all().get(pk=grant_id)


def grants_visible_to(*, user: User, filters: Mapping[str, Any] | None = None) -> QuerySet[Grant]:
    """Administrators see every grant, anyone else only their own. Filters (optional):
    identity (username), resource (name), active (bool)."""
    filters = filters or {}
    grants = grants_all() if is_admin(user) else grants_all().filter(identity=user)
    if filters.get("identity"):
        grants = grants.filter(identity__username=filters["identity"])
    if filters.get("resource"):
        grants = grants.filter(resource__name=filters["resource"])
    if filters.get("active") is True:
        grants = grants.active()
    elif filters.get("active") is False:
        grants = grants.filter(Q(revoked_at__isnull=False) | Q(expires_at__lte=timezone.now()))
    return grants


def grants_active_on(
    *, resources: Iterable[Resource], at: datetime | None = None
) -> QuerySet[Grant]:
    """Grants in force at ``at`` on any of ``resources``."""
    return (
        Grant.objects.active(at=at or timezone.now())
        .filter(resource__in=list(resources))
        .select_related("resource")
        .order_by("expires_at", "id")
    )


def grants_active_for(
    *, identity: User, resource: Resource, at: datetime | None = None
) -> QuerySet[Grant]:
    """Grants in force at ``at`` for ``identity`` on ``resource``."""
    return Grant.objects.active(at=at).filter(identity=identity, resource=resource)
