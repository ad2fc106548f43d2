"""Reads for the exec API: which grant a call runs on, and a request already waiting."""

from __future__ import annotations

from datetime import timedelta

from controlplane.access.models import AccessRequest, Grant
from controlplane.access.selectors import grants_active_for
from controlplane.identities.models import User
from controlplane.policies.selectors import auto_approval_rule_matching, policy_for
from controlplane.resources.models import Resource

DEFAULT_DURATION = timedelta(hours=1)


def exec_grant_for(*, identity: User, resource: Resource) -> Grant | None:
    """An active grant an exec call of ``identity`` can run on: the longest-lasting
    duration grant. Single-use grants are never picked here: one may already be spent by a
    session the control plane has not heard the end of yet, and each exec call that needs
    one gets a fresh one from its auto-approval rule."""
    return (
        grants_active_for(identity=identity, resource=resource)
        .filter(scope=Grant.Scope.DURATION)
        .order_by("-expires_at")
        .first()
    )


def exec_request_pending_for(*, identity: User, resource: Resource) -> AccessRequest | None:
    """The newest pending access request of ``identity`` on ``resource`` (a repeated exec
    call waits on it instead of asking again)."""
    return (
        AccessRequest.objects.pending()
        .filter(requester=identity, resource=resource)
        .order_by("-created_at")
        .first()
    )


def exec_request_duration(*, identity: User, resource: Resource) -> timedelta:
    """How long an exec call asks for when its caller did not say: an hour, cut to what the
    policy allows and to what an auto-approval rule for ``identity`` grants without a human
    (so the default never misses a rule only by asking for too long)."""
    policy = policy_for(resource=resource)
    if policy is None:
        return DEFAULT_DURATION
    limits = [DEFAULT_DURATION, timedelta(seconds=policy.max_duration_seconds)]
    rule = auto_approval_rule_matching(
        identity=identity,
        policy=policy,
        duration=timedelta(seconds=1),
        access_level=policy.default_access_level,
    )
    if rule is not None:
        limits.append(timedelta(seconds=rule.max_duration_seconds))
    return min(limits)
