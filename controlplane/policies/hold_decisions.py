"""Deciding held work: held statements (``guardrails.holds``) and held tool calls
(``mcp_server.holds``) are decided by one rule.

Who may decide is the access approvers' rule: the approver role of the resource's access
policy, or an administrator (the only deciders where there is no policy, or no resource);
never one's own held work. A decision is a conditional UPDATE from ``pending`` that must
change exactly one row, so a hold is decided once however many approvers click at the same
moment. The callers write the audit event and the notifications in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.utils import timezone

from controlplane.identities.models import User
from controlplane.identities.permissions import is_admin
from controlplane.policies.models import HoldStatus
from controlplane.policies.selectors import may_approve, policy_for
from controlplane.resources.models import Resource

# An approver's decision comment, at most (it is stored and goes into the audit event).
DECISION_COMMENT_MAX_CHARS = 1000


@dataclass(frozen=True)
class HeldKind:
    """How one kind of held work is named in refusals, and who counts as its own."""

    noun: str  # "statement": "deciding held statements on ..."
    # Where, in a refusal, for held work naming no resource.
    nowhere: str = "no resource"
    # The fields naming the identities whose held work it is (they never decide it).
    own_fields: tuple[str, ...] = ("identity_id",)


def hold_decide(*, kind: HeldKind, hold: Any, actor: User, status: str, comment: str = "") -> Any:
    """Decide ``hold`` (``status``: approved or denied) as ``actor``, with ``comment``, in
    the caller's transaction; returns the hold as now stored. PermissionDenied if ``actor``
    may not decide it, ValidationError if it is no longer pending (or expired) or the
    comment is too long."""
    model = type(hold)
    comment = decision_comment_clean(comment)
    locked = model.objects.select_for_update().get(pk=hold.pk)
    hold_decider_require(kind=kind, hold=locked, actor=actor)
    now = timezone.now()
    changed = (
        model.objects.pending(at=now)
        .filter(pk=locked.pk)
        .update(status=status, decided_by=actor, decided_at=now, decision_comment=comment)
    )
    if changed != 1:
        raise ValidationError(_why_undecidable(kind, locked, now))
    locked.refresh_from_db()
    return locked


def hold_decider_require(*, kind: HeldKind, hold: models.Model, actor: User) -> None:
    """Raise PermissionDenied unless ``actor`` may decide ``hold`` (the rule above)."""
    resource: Resource | None = getattr(hold, "resource", None)
    policy = policy_for(resource=resource) if resource is not None else None
    allowed = may_approve(identity=actor, policy=policy) if policy else _admin(actor)
    if not allowed:
        where = resource.name if resource is not None else kind.nowhere
        raise PermissionDenied(f"deciding held {kind.noun}s on {where} needs its approver role")
    if actor.pk in {getattr(hold, name) for name in kind.own_fields}:
        raise PermissionDenied(f"nobody decides their own held {kind.noun}")


def decision_comment_clean(comment: str) -> str:
    """The comment as stored; a ValidationError past DECISION_COMMENT_MAX_CHARS."""
    cleaned = str(comment or "").strip()
    if len(cleaned) > DECISION_COMMENT_MAX_CHARS:
        raise ValidationError(
            {"comment": [f"at most {DECISION_COMMENT_MAX_CHARS} characters, got {len(cleaned)}"]}
        )
    return cleaned


def _admin(actor: User) -> bool:
    return actor.is_active and not actor.is_service_account and is_admin(actor)


def _why_undecidable(kind: HeldKind, hold: Any, now: datetime) -> str:
    if hold.status != HoldStatus.PENDING:
        return f"the held {kind.noun} is {hold.status}, no longer pending"
    if hold.expires_at <= now:
        return f"the held {kind.noun} expired undecided"
    return f"the held {kind.noun} was decided concurrently"
