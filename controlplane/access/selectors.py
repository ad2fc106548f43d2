"""Reads for grants and access requests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from controlplane.access.models import AccessRequest, Approval, Grant
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
        grants = grants.filter(
            Q(revoked_at__isnull=False)
            | Q(used_up_at__isnull=False)
            | Q(expires_at__lte=timezone.now())
        )
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


def grants_not_ended_on(
    *, resources: Iterable[Resource], at: datetime | None = None
) -> QuerySet[Grant]:
    """Grants on any of ``resources`` in force at ``at`` or starting later: what an agent's
    snapshot carries (the agent starts and ends them on time itself)."""
    return (
        Grant.objects.not_ended(at=at or timezone.now())
        .filter(resource__in=list(resources))
        .select_related("resource")
        .order_by("expires_at", "id")
    )


def grant_revoker_role(*, identity: User | None, grant: Grant) -> str | None:
    """In which role ``identity`` may revoke ``grant``: "operator" (None: the shell),
    "admin", "approver" (approved the request behind it), or None (may not)."""
    if identity is None:
        return "operator"
    if is_admin(identity):
        return "admin"
    approved = Approval.objects.filter(
        request_id=grant.request_id, approver=identity, decision=Approval.Decision.APPROVE
    )
    if grant.request_id is not None and identity.is_active and approved.exists():
        return "approver"
    return None


def access_requests_all() -> QuerySet[AccessRequest]:
    """Every access request, newest first, with its requester, resource and decisions."""
    return (
        AccessRequest.objects.select_related("requester", "resource", "grant")
        .prefetch_related("approvals__approver")
        .order_by("-created_at", "-id")
    )


def access_request_get(*, request_id: object) -> AccessRequest:
    """The request with ``request_id``; raises AccessRequest.DoesNotExist."""
    return access_requests_all().get(pk=request_id)


def access_requests_visible_to(
    *, user: User, filters: Mapping[str, Any] | None = None
) -> QuerySet[AccessRequest]:
    """Administrators see every request; anyone else their own and those on resources
    whose policy makes them an approver. Filters (optional): status, resource (name)."""
    filters = filters or {}
    requests = access_requests_all()
    if not is_admin(user):
        approvable = Q(resource__policy__approver_groups__user=user)
        requests = requests.filter(Q(requester=user) | approvable).distinct()
    if filters.get("status"):
        requests = requests.filter(status=filters["status"])
    if filters.get("resource"):
        requests = requests.filter(resource__name=filters["resource"])
    return requests


def access_requests_awaiting(*, approver: User) -> QuerySet[AccessRequest]:
    """Pending requests ``approver`` may decide now: on resources whose policy makes them
    an approver (any, for administrators), not their own, not decided by them already.
    (The approval service checks all of this again; this is the approver's inbox.)"""
    requests = AccessRequest.objects.pending().exclude(requester=approver)
    requests = requests.exclude(approvals__approver=approver)
    if not is_admin(approver):
        requests = requests.filter(resource__policy__approver_groups__user=approver)
    return requests.select_related("requester", "resource").distinct().order_by("created_at", "id")
