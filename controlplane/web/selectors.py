"""Reads the console's pages need, built on the access and policies selectors."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from controlplane.access.models import AccessRequest, Approval, Grant
from controlplane.access.selectors import access_requests_all, grants_all
from controlplane.identities.models import User
from controlplane.identities.permissions import is_admin
from controlplane.policies.models import Policy
from controlplane.policies.selectors import policies_list

# The console lists recent history only; the API pages through all of it.
HISTORY_LIMIT = 50


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


def access_requests_of(*, user: User) -> QuerySet[AccessRequest]:
    """``user``'s own requests, newest first."""
    return access_requests_all().filter(requester=user)[:HISTORY_LIMIT]


def access_requests_decided_by(*, approver: User) -> QuerySet[AccessRequest]:
    """Requests ``approver`` approved or denied, newest first."""
    decided = access_requests_all().filter(approvals__approver=approver).distinct()
    return decided[:HISTORY_LIMIT]


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
