"""Reads the console's pages need, built on the access and policies selectors."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from controlplane.access.models import AccessRequest, Approval, Grant
from controlplane.access.selectors import access_requests_all, grants_all
from controlplane.identities.models import User
from controlplane.identities.permissions import is_admin, is_auditor
from controlplane.policies.models import Policy
from controlplane.policies.selectors import policies_list
from controlplane.resources.models import Resource
from controlplane.resources.selectors import resources_list
from controlplane.sessions.models import SessionRecord

# The console lists recent history only; the API pages through all of it.
HISTORY_LIMIT = 50
# A grant's row lists this many of its latest sessions.
SESSIONS_PER_GRANT = 10


def policies_requestable_by(*, user: User) -> QuerySet[Policy]:
    """Policies under which ``user`` may ask for access (the rule of ``may_request``)."""
    if not user.is_active:
        return policies_list().none()
    named = Q(requester_groups__user=user) | Q(requester_service_accounts=user)
    return policies_list().filter(named).distinct()


def policies_approvable_by(*, user: User) -> QuerySet[Policy]:
    """Policies whose approver role ``user`` holds (the rule of ``may_approve``)."""
    if not user.is_active or user.is_service_account:
        return policies_list().none()
    if is_admin(user):
        return policies_list()
    return policies_list().filter(approver_groups__user=user).distinct()


def access_requests_of(*, user: User, resource: str = "") -> QuerySet[AccessRequest]:
    """``user``'s own requests (on the resource named ``resource``, if given), newest first."""
    requests = access_requests_all().filter(requester=user)
    if resource:
        requests = requests.filter(resource__name=resource)
    return requests[:HISTORY_LIMIT]


def access_requests_pending_of(*, user: User) -> QuerySet[AccessRequest]:
    """``user``'s requests still waiting for a decision, oldest first."""
    return access_requests_all().filter(requester=user).pending().order_by("created_at", "id")


def grants_active_of(*, user: User) -> QuerySet[Grant]:
    """``user``'s grants in force now, soonest to end first."""
    return grants_all().active().filter(identity=user).order_by("expires_at")


def grants_revocable_by(*, user: User) -> QuerySet[Grant]:
    """Grants in force that ``user`` may revoke: every one for administrators, else those
    made from requests they approved (the rule of ``grant_revoker_role``)."""
    active = grants_all().active().order_by("expires_at")
    if is_admin(user):
        return active
    if not user.is_active:
        return active.none()
    approved = Q(
        request__approvals__approver=user,
        request__approvals__decision=Approval.Decision.APPROVE,
    )
    return active.filter(approved).distinct()


# -- resources and grants pages -----------------------------------------------------------------
def resources_visible_to(*, user: User) -> QuerySet[Resource]:
    """The resources ``user`` sees in the console: every one for administrators and
    auditors; for anyone else those they may request or approve, or hold a grant on now."""
    if is_admin(user) or is_auditor(user):
        return resources_list()
    if not user.is_active:
        return resources_list().none()
    relevant = (
        Q(pk__in=policies_requestable_by(user=user).values("resource"))
        | Q(pk__in=policies_approvable_by(user=user).values("resource"))
        | Q(pk__in=grants_active_of(user=user).values("resource"))
    )
    return resources_list().filter(relevant)


def grants_visible_in_console(*, user: User) -> QuerySet[Grant]:
    """The grants ``user`` sees on the grants page: all for administrators and auditors;
    approvers also those on the resources they approve; everyone their own."""
    if is_admin(user) or is_auditor(user):
        return grants_all()
    if not user.is_active:
        return grants_all().none()
    approved = policies_approvable_by(user=user).values("resource")
    return grants_all().filter(Q(identity=user) | Q(resource__in=approved))


def grants_past(grants: QuerySet[Grant], *, at: datetime | None = None) -> QuerySet[Grant]:
    """Those of ``grants`` that ended by ``at`` (default now): revoked, used up or expired."""
    at = at or timezone.now()
    ended = Q(revoked_at__isnull=False) | Q(used_up_at__isnull=False) | Q(expires_at__lte=at)
    return grants.filter(ended)


def grant_ids_revocable_by(*, user: User, grants: Iterable[Grant]) -> frozenset[UUID]:
    """Which of ``grants`` ``user`` may revoke now (one query; the service checks again)."""
    ids = [grant.pk for grant in grants]
    revocable = grants_revocable_by(user=user).filter(pk__in=ids).values_list("pk", flat=True)
    return frozenset(revocable)


def sessions_of_grant(*, grant_id: UUID) -> QuerySet[SessionRecord]:
    """The latest sessions admitted under ``grant_id``, open ones and ended ones alike (a
    revoked grant's row shows its sessions ending)."""
    records = SessionRecord.objects.filter(grant_id=str(grant_id)).select_related("agent")
    return records.order_by("-started_at", "-id")[:SESSIONS_PER_GRANT]


def live_session_counts(*, grant_ids: Iterable[UUID]) -> dict[str, int]:
    """How many live sessions each of ``grant_ids`` has, by grant id as text (one query)."""
    live = SessionRecord.objects.live().filter(grant_id__in=[str(pk) for pk in grant_ids])
    counted = live.values("grant_id").annotate(count=Count("id")).values_list("grant_id", "count")
    return dict(counted)
