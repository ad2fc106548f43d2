"""Reads for policies: which policy governs a resource, who may request and approve under
it, and which auto-approval rule (if any) lets a request through without a human."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.db.models import QuerySet

from controlplane.identities.models import User
from controlplane.identities.permissions import is_admin
from controlplane.policies.models import AutoApprovalRule, Incident, Policy
from controlplane.resources.models import Resource


def policy_for(*, resource: Resource) -> Policy | None:
    """The policy governing ``resource``, or None (then only administrators grant)."""
    return (
        Policy.objects.select_related("resource")
        .prefetch_related(
            "requester_groups",
            "requester_service_accounts",
            "approver_groups",
            "auto_approvals__group",
            "auto_approvals__service_account",
        )
        .filter(resource=resource)
        .first()
    )


def may_request(*, identity: User, policy: Policy) -> bool:
    """Whether ``identity`` may ask for access under ``policy``: an active identity named
    as a requester service account, or a member of a requester group."""
    if not identity.is_active:
        return False
    if policy.requester_service_accounts.filter(pk=identity.pk).exists():
        return True
    return policy.requester_groups.filter(user=identity).exists()


def may_approve(*, identity: User | None, policy: Policy) -> bool:
    """Whether ``identity`` holds the approver role for ``policy``: an administrator or a
    member of an approver group. (Requesters never approve their own request; the
    approval service checks that separately.)"""
    if identity is None or not identity.is_active or identity.is_service_account:
        return False
    return is_admin(identity) or policy.approver_groups.filter(user=identity).exists()


def holds_visible_to(*, holds: QuerySet[Any], user: User) -> QuerySet[Any]:
    """Of ``holds`` (held statements or tool calls, any status), those ``user`` may read:
    administrators all, approvers those on the resources they approve for. Held work is
    exact text (statements, arguments): nobody else reads it."""
    if not user.is_active or user.is_service_account:
        return holds.none()
    if is_admin(user):
        return holds
    return holds.filter(resource__policy__approver_groups__user=user).distinct()


def incident_open() -> Incident | None:
    """The open incident, if one is declared and not resolved."""
    return Incident.objects.filter(resolved_at__isnull=True).first()


def auto_approval_rule_matching(
    *, identity: User, policy: Policy, duration: timedelta, access_level: str
) -> AutoApprovalRule | None:
    """The first rule of ``policy`` that approves this request without a human, or None."""
    group_ids = set(identity.groups.values_list("pk", flat=True))
    incident = incident_open() is not None
    for rule in policy.auto_approvals.all():
        names_identity = rule.service_account_id == identity.pk or rule.group_id in group_ids
        if not names_identity:
            continue
        if rule.only_during_incident and not incident:
            continue
        level = rule.access_level or policy.default_access_level
        if duration.total_seconds() <= rule.max_duration_seconds and access_level == level:
            return rule
    return None


def resource_access_level_names(*, resource: Resource) -> frozenset[str] | None:
    """The access-level names ``resource`` defines, or None when resources carry no access
    levels (then level names are not checked against the resource)."""
    levels: Any = getattr(resource, "access_levels", None)
    if levels is None:
        return None
    if hasattr(levels, "all"):  # a related manager
        levels = levels.all()
    return frozenset(
        str(level["name"]) if isinstance(level, Mapping) else str(level.name) for level in levels
    )


def policies_list() -> QuerySet[Policy]:
    """Every policy, by resource name."""
    return Policy.objects.select_related("resource").order_by("resource__name")
