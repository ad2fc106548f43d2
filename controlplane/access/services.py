"""Writes for grants, access requests and approvals, and the housekeeping that ends them.

Every state change of a request is a conditional UPDATE from ``pending`` that must change
exactly one row, so two approvers racing (or an approver racing the expiry job) can never
both win: the loser's transaction raises and rolls back, and no second grant is made.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from controlplane.access.actions import AccessAction
from controlplane.access.models import AccessRequest, Approval, Grant
from controlplane.access.notifications import access_request_message
from controlplane.access.selectors import grant_revoker_role
from controlplane.agents.revision import config_revision_bump
from controlplane.audit.actions import ControlPlaneAction
from controlplane.audit.services import audit_event_record
from controlplane.identities.models import User
from controlplane.jobs.notifications import webhook_enqueue
from controlplane.policies.models import AutoApprovalRule, Policy
from controlplane.policies.selectors import (
    auto_approval_rule_matching,
    may_approve,
    may_request,
    policy_for,
    resource_access_level_names,
)
from controlplane.policies.services import policy_rule_document
from controlplane.resources.models import Resource

# How many expired rows one housekeeping run handles; the next run takes the rest.
HOUSEKEEPING_BATCH = 500


def grant_create(
    *,
    actor: User | None,
    identity: User,
    resource: Resource,
    duration: timedelta | None = None,
    expires_at: datetime | None = None,
    reason: str = "",
    access_level: str = "",
    request: AccessRequest | None = None,
    scope: str = Grant.Scope.DURATION,
) -> Grant:
    """Let ``identity`` reach ``resource`` from now for ``duration`` or until
    ``expires_at`` (give exactly one), at ``access_level`` ("" = the static login). A
    ``scope`` of "session" or "call" admits one session (one statement for "call") within
    that window; the grant ends when that session does. The serving agent receives the
    grant in its next snapshot."""
    starts_at = timezone.now()
    expires_at = _expiry(duration=duration, expires_at=expires_at, now=starts_at)
    if not identity.is_active:
        raise ValidationError({"identity": [f"{identity.username!r} is disabled"]})
    if scope not in Grant.Scope.values:
        raise ValidationError({"scope": [f"must be one of {Grant.Scope.values}"]})
    _level_check(resource=resource, access_level=access_level)
    with transaction.atomic():
        grant = Grant.objects.create(
            identity=identity,
            resource=resource,
            starts_at=starts_at,
            expires_at=expires_at,
            access_level=access_level,
            request=request,
            reason=reason,
            created_by=actor,
            scope=scope,
        )
        config_revision_bump(agents=[resource.agent])
        audit_event_record(
            actor=actor,
            action=ControlPlaneAction.GRANT_CREATED,
            resource=resource.name,
            payload={**grant_audit_payload(grant), "reason": reason},
        )
    return grant


def grant_revoke(*, actor: User | None, grant: Grant, reason: str = "") -> Grant:
    """End a grant now; the agent drops it (and its sessions) on the pushed snapshot.
    Administrators revoke any grant, and an approver of the request behind a grant may
    withdraw it (``actor`` None is the operator's shell). Revoking an already revoked
    grant changes nothing and records nothing."""
    with transaction.atomic():
        grant = (
            Grant.objects.select_for_update()
            .select_related("identity", "resource__agent")
            .get(pk=grant.pk)
        )
        role = grant_revoker_role(identity=actor, grant=grant)
        if role is None:
            raise PermissionDenied("only administrators and the grant's approvers may revoke it")
        if grant.revoked_at is not None:
            return grant
        grant.revoked_at = grant.ended_recorded_at = timezone.now()
        grant.revoked_by = actor
        grant.save(update_fields=["revoked_at", "revoked_by", "ended_recorded_at"])
        config_revision_bump(agents=[grant.resource.agent])
        audit_event_record(
            actor=actor,
            action=ControlPlaneAction.GRANT_REVOKED,
            resource=grant.resource.name,
            payload={**grant_audit_payload(grant), "reason": reason, "revoked_as": role},
        )
    return grant


def access_request_create(
    *,
    actor: User,
    resource: Resource,
    duration: timedelta,
    reason: str,
    access_level: str = "",
) -> AccessRequest:
    """``actor`` asks for ``resource`` for ``duration`` at ``access_level`` (default: the
    policy's). The resource's policy must let them request, the duration must be within
    its maximum (longer is refused, never cut short) and the level allowed. A matching
    auto-approval rule grants at once; otherwise approvers are notified."""
    policy = _policy_of(resource)
    if not may_request(identity=actor, policy=policy):
        raise PermissionDenied(f"you may not request access to {resource.name}")
    level = access_level or policy.default_access_level
    _request_check(policy=policy, duration=duration, access_level=level, reason=reason)
    rule = auto_approval_rule_matching(
        identity=actor, policy=policy, duration=duration, access_level=level
    )
    now = timezone.now()
    with transaction.atomic():
        request = AccessRequest.objects.create(
            requester=actor,
            resource=resource,
            access_level=level,
            reason=reason,
            duration_seconds=int(duration.total_seconds()),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.GATEHOUSE_ACCESS_REQUEST_TTL_SECONDS),
        )
        _record(request=request, actor=actor, action=AccessAction.REQUEST_CREATED)
        if rule is None:
            _notify(request=request, event="created", actor=actor)
        else:
            _auto_approve(request=request, rule=rule)
    return request


def access_request_approve(
    *, actor: User, request: AccessRequest, comment: str = ""
) -> AccessRequest:
    """Record ``actor``'s approval. Fails closed: the actor must hold the approver role of
    the resource's policy (or be an administrator), must not be the requester, must not
    have decided this request before, and the request must be pending and not expired.
    With the policy's minimum of approvals reached the request is approved and the grant
    starts now for the requested duration."""
    with transaction.atomic():
        request, policy = _decidable(actor=actor, request_id=request.pk)
        _decision_add(
            actor=actor, request=request, decision=Approval.Decision.APPROVE, comment=comment
        )
        votes = request.approvals.filter(decision=Approval.Decision.APPROVE).count()
        if votes < policy.min_approvals:
            _record(
                request=request,
                actor=actor,
                action=AccessAction.REQUEST_APPROVAL_ADDED,
                extra={"comment": comment, "approvals": votes, "needed": policy.min_approvals},
            )
            _notify(request=request, event="approval_added", actor=actor, comment=comment)
            return request
        _claim(request=request, status=AccessRequest.Status.APPROVED)
        grant = _grant_from_request(actor=actor, request=request)
        _record(
            request=request,
            actor=actor,
            action=AccessAction.REQUEST_APPROVED,
            extra={"comment": comment, "approvals": votes, "grant": str(grant.pk)},
        )
        _notify(request=request, event="approved", actor=actor, comment=comment, grant=grant)
    return request


def access_request_deny(*, actor: User, request: AccessRequest, comment: str = "") -> AccessRequest:
    """Deny the request: one approver's denial ends it. The same checks as approving."""
    with transaction.atomic():
        request, _ = _decidable(actor=actor, request_id=request.pk)
        _decision_add(
            actor=actor, request=request, decision=Approval.Decision.DENY, comment=comment
        )
        _claim(request=request, status=AccessRequest.Status.DENIED)
        _record(
            request=request,
            actor=actor,
            action=AccessAction.REQUEST_DENIED,
            extra={"comment": comment},
        )
        _notify(request=request, event="denied", actor=actor, comment=comment)
    return request


def access_request_withdraw(
    *, actor: User, request: AccessRequest, comment: str = ""
) -> AccessRequest:
    """The requester takes back a pending request."""
    with transaction.atomic():
        request = _request_locked(request.pk)
        if actor.pk != request.requester_id:
            raise PermissionDenied("only the requester may withdraw a request")
        _require_pending(request)
        _claim(request=request, status=AccessRequest.Status.WITHDRAWN)
        _record(
            request=request,
            actor=actor,
            action=AccessAction.REQUEST_WITHDRAWN,
            extra={"comment": comment},
        )
        _notify(request=request, event="withdrawn", actor=actor, comment=comment)
    return request


def access_requests_expire(*, at: datetime | None = None) -> int:
    """Mark requests left undecided past their deadline as expired, each once, with its
    audit event. Safe to run concurrently and repeatedly; returns how many it expired."""
    at = at or timezone.now()
    stale = AccessRequest.objects.stale(at=at).values_list("pk", flat=True)
    return sum(_request_expire(request_id=pk, at=at) for pk in list(stale[:HOUSEKEEPING_BATCH]))


def grants_expire(*, at: datetime | None = None) -> int:
    """Record the end of every grant past its expiry, each exactly once (a conditional
    update claims it). Agents enforce expiry themselves; this keeps the audit trail and
    their snapshots tidy. Returns how many ends it recorded."""
    at = at or timezone.now()
    ended = Grant.objects.ended_unrecorded(at=at).values_list("pk", flat=True)
    return sum(_grant_end_record(grant_id=pk, at=at) for pk in list(ended[:HOUSEKEEPING_BATCH]))


def _request_expire(*, request_id: object, at: datetime) -> int:
    with transaction.atomic():
        changed = (
            AccessRequest.objects.stale(at=at)
            .filter(pk=request_id)
            .update(status=AccessRequest.Status.EXPIRED, decided_at=at)
        )
        if changed != 1:
            return 0
        request = _request_locked(request_id)
        _record(request=request, actor=None, action=AccessAction.REQUEST_EXPIRED)
        _notify(request=request, event="expired", actor=None)
    return 1


def _grant_end_record(*, grant_id: object, at: datetime) -> int:
    with transaction.atomic():
        claimed = (
            Grant.objects.ended_unrecorded(at=at).filter(pk=grant_id).update(ended_recorded_at=at)
        )
        if claimed != 1:
            return 0
        grant = Grant.objects.select_related("identity", "resource__agent").get(pk=grant_id)
        config_revision_bump(agents=[grant.resource.agent])
        audit_event_record(
            actor=None,
            action=AccessAction.GRANT_ENDED,
            resource=grant.resource.name,
            payload={**grant_audit_payload(grant), "reason": "expired"},
        )
    return 1


def _policy_of(resource: Resource) -> Policy:
    policy = policy_for(resource=resource)
    if policy is None:
        raise ValidationError(
            {"resource": [f"{resource.name} has no access policy: ask an administrator"]}
        )
    return policy


def _request_check(*, policy: Policy, duration: timedelta, access_level: str, reason: str) -> None:
    errors: dict[str, list[str]] = {}
    if duration < timedelta(seconds=1):
        errors["duration"] = ["must be at least one second"]
    elif duration.total_seconds() > policy.max_duration_seconds:
        errors["duration"] = [
            f"{int(duration.total_seconds())} s is over the policy maximum of "
            f"{policy.max_duration_seconds} s for {policy.resource.name}"
        ]
    allowed = policy.access_levels or [""]
    if access_level not in allowed:
        errors["access_level"] = [f"{access_level!r} is not allowed; allowed: {allowed}"]
    if not reason.strip():
        errors["reason"] = ["say why you need access"]
    if errors:
        raise ValidationError(errors)


def _auto_approve(*, request: AccessRequest, rule: AutoApprovalRule) -> None:
    _claim(request=request, status=AccessRequest.Status.APPROVED, auto_approved=True)
    grant = _grant_from_request(actor=None, request=request, scope=rule.scope)
    _record(
        request=request,
        actor=None,
        action=AccessAction.REQUEST_APPROVED,
        extra={"auto_approval_rule": policy_rule_document(rule), "grant": str(grant.pk)},
    )
    _notify(request=request, event="approved", actor=None, grant=grant)


def _decidable(*, actor: User, request_id: object) -> tuple[AccessRequest, Policy]:
    request = _request_locked(request_id)
    policy = policy_for(resource=request.resource)
    if policy is None or not may_approve(identity=actor, policy=policy):
        raise PermissionDenied(
            f"approving requests for {request.resource.name} needs its approver role"
        )
    if actor.pk == request.requester_id:
        raise PermissionDenied("a requester never decides their own request")
    _require_pending(request)
    if request.approvals.filter(approver=actor).exists():
        raise ValidationError("you have already decided this request")
    return request, policy


def _request_locked(request_id: object) -> AccessRequest:
    return (
        AccessRequest.objects.select_for_update()
        .select_related("requester", "resource__agent")
        .get(pk=request_id)
    )


def _require_pending(request: AccessRequest) -> None:
    if request.status != AccessRequest.Status.PENDING:
        raise ValidationError(f"the request is {request.status}, no longer pending")
    if request.expires_at <= timezone.now():
        raise ValidationError("the request expired undecided; ask again")


def _decision_add(*, actor: User, request: AccessRequest, decision: str, comment: str) -> None:
    try:
        with transaction.atomic():
            Approval.objects.create(
                request=request, approver=actor, decision=decision, comment=comment
            )
    except IntegrityError:  # a concurrent decision by the same approver
        raise ValidationError("you have already decided this request") from None


def _claim(*, request: AccessRequest, status: str, auto_approved: bool = False) -> None:
    """Move ``request`` out of pending; exactly one caller can ever do so."""
    now = timezone.now()
    changed = (
        AccessRequest.objects.pending(at=now)
        .filter(pk=request.pk)
        .update(status=status, decided_at=now, auto_approved=auto_approved)
    )
    if changed != 1:
        raise ValidationError("the request was decided concurrently, no longer pending")
    request.status, request.decided_at, request.auto_approved = status, now, auto_approved


def _grant_from_request(
    *, actor: User | None, request: AccessRequest, scope: str = Grant.Scope.DURATION
) -> Grant:
    return grant_create(
        scope=scope,
        actor=actor,
        identity=request.requester,
        resource=request.resource,
        duration=request.duration,
        reason=request.reason,
        access_level=request.access_level,
        request=request,
    )


def _record(
    *,
    request: AccessRequest,
    actor: User | None,
    action: str,
    extra: dict[str, object] | None = None,
) -> None:
    audit_event_record(
        actor=actor,
        action=action,
        resource=request.resource.name,
        payload={
            "request": str(request.pk),
            "requester": str(request.requester_id),
            "requester_name": request.requester.get_username(),
            "access_level": request.access_level,
            "duration_seconds": request.duration_seconds,
            "reason": request.reason,
            "status": request.status,
            **(extra or {}),
        },
    )


def _notify(
    *,
    request: AccessRequest,
    event: str,
    actor: User | None,
    comment: str = "",
    grant: Grant | None = None,
) -> None:
    """Send the webhook once the transaction commits (never if it rolls back)."""
    message = access_request_message(
        request=request,
        event=event,
        actor=actor,
        comment=comment,
        grant_id=str(grant.pk) if grant else None,
    )
    transaction.on_commit(partial(webhook_enqueue, message), robust=True)


def _level_check(*, resource: Resource, access_level: str) -> None:
    defined = resource_access_level_names(resource=resource)
    if access_level and defined is not None and access_level not in defined:
        raise ValidationError(
            {"access_level": [f"{resource.name} defines no access level {access_level!r}"]}
        )


def _expiry(*, duration: timedelta | None, expires_at: datetime | None, now: datetime) -> datetime:
    if (duration is None) == (expires_at is None):
        raise ValidationError("give exactly one of duration and expires_at")
    if duration is not None:
        if duration <= timedelta(0):
            raise ValidationError({"duration": ["must be positive"]})
        return now + duration
    assert expires_at is not None
    if timezone.is_naive(expires_at):
        raise ValidationError({"expires_at": ["must carry a timezone"]})
    if expires_at <= now:
        raise ValidationError({"expires_at": ["must be in the future"]})
    return expires_at


def grant_audit_payload(grant: Grant) -> dict[str, str]:
    return {
        "grant": str(grant.pk),
        "identity": str(grant.identity_id),
        "identity_name": grant.identity.username,
        "starts_at": grant.starts_at.isoformat(),
        "expires_at": grant.expires_at.isoformat(),
        "access_level": grant.access_level,
        "scope": grant.scope,
        "request": str(grant.request_id) if grant.request_id else "",
    }
