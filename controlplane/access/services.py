"""Writes for grants."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from controlplane.access.models import Grant
from controlplane.agents.revision import config_revision_bump
from controlplane.audit.actions import ControlPlaneAction
from controlplane.audit.services import audit_event_record
from controlplane.identities.models import User
from controlplane.resources.models import Resource


def grant_create(
    *,
    actor: User | None,
    identity: User,
    resource: Resource,
    duration: timedelta | None = None,
    expires_at: datetime | None = None,
    reason: str = "",
) -> Grant:
    """Let ``identity`` reach ``resource`` for ``duration`` or until ``expires_at`` (give
    exactly one). The serving agent receives the grant in its next snapshot."""
    expires_at = _expiry(duration=duration, expires_at=expires_at)
    if not identity.is_active:
        raise ValidationError({"identity": [f"{identity.username!r} is disabled"]})
    with transaction.atomic():
        grant = Grant.objects.create(
            identity=identity,
            resource=resource,
            expires_at=expires_at,
            reason=reason,
            created_by=actor,
        )
        config_revision_bump(agents=[resource.agent])
        audit_event_record(
            actor=actor,
            action=ControlPlaneAction.GRANT_CREATED,
            resource=resource.name,
            payload={**_grant_payload(grant), "reason": reason},
        )
    return grant


def grant_revoke(*, actor: User | None, grant: Grant) -> Grant:
    """End a grant now; the agent drops it (and its sessions) on the pushed snapshot.
    Revoking an already revoked grant changes nothing and records nothing."""
    with transaction.atomic():
        grant = (
            Grant.objects.select_for_update()
            .select_related("identity", "resource__agent")
            .get(pk=grant.pk)
        )
        if grant.revoked_at is not None:
            return grant
        grant.revoked_at = timezone.now()
        grant.revoked_by = actor
        grant.save(update_fields=["revoked_at", "revoked_by"])
        config_revision_bump(agents=[grant.resource.agent])
        audit_event_record(
            actor=actor,
            action=ControlPlaneAction.GRANT_REVOKED,
            resource=grant.resource.name,
            payload=_grant_payload(grant),
        )
    return grant


def _expiry(*, duration: timedelta | None, expires_at: datetime | None) -> datetime:
    if (duration is None) == (expires_at is None):
        raise ValidationError("give exactly one of duration and expires_at")
    if duration is not None:
        if duration <= timedelta(0):
            raise ValidationError({"duration": ["must be positive"]})
        return timezone.now() + duration
    assert expires_at is not None
    if timezone.is_naive(expires_at):
        raise ValidationError({"expires_at": ["must carry a timezone"]})
    if expires_at <= timezone.now():
        raise ValidationError({"expires_at": ["must be in the future"]})
    return expires_at


def _grant_payload(grant: Grant) -> dict[str, str]:
    return {
        "grant": str(grant.pk),
        "identity": str(grant.identity_id),
        "identity_name": grant.identity.username,
        "expires_at": grant.expires_at.isoformat(),
    }
