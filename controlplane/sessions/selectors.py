"""Reads of the session index. Who sees which sessions is decided here, once:

- administrators and auditors see every session;
- approvers also see the sessions on the resources whose approver role they hold (they
  may terminate those);
- everyone else sees only their own sessions: as the actor, or as the person an AI agent
  acted for.

Signatures other modules rely on (the resources page calls the second):

    sessions_list(viewer, filters=None) -> QuerySet[SessionRecord]
        newest first, ``filters`` a SessionFilters (None: no filter)
    sessions_live_for_grant(grant_id) -> QuerySet[SessionRecord]
        the live sessions (no end reported, agent connected) admitted under ``grant_id``
        (every viewer's: the caller checks who may see the grant)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Q, QuerySet

from controlplane.identities.permissions import is_admin, is_auditor
from controlplane.policies.models import Policy
from controlplane.sessions.models import SessionRecord


@dataclass(frozen=True)
class SessionFilters:
    """What the sessions list is narrowed to; every field optional ("" / None = any)."""

    identity: str = ""  # a name (substring, actor or on-behalf-of) or a sub (exact)
    resource: str = ""
    protocol: str = ""
    started_from: datetime | None = None
    started_to: datetime | None = None
    had_denial: bool = False
    had_masking: bool = False
    live_only: bool = False


def sessions_list(viewer: Any, filters: SessionFilters | None = None) -> QuerySet[SessionRecord]:
    """The sessions ``viewer`` may see, narrowed by ``filters``, newest first."""
    records = sessions_visible_to(viewer).select_related("agent")
    return _filtered(records, filters or SessionFilters())


def sessions_visible_to(viewer: Any) -> QuerySet[SessionRecord]:
    """Every session ``viewer`` may see (fails closed: nobody signed in sees none)."""
    if not (viewer and viewer.is_authenticated and viewer.is_active):
        return SessionRecord.objects.none()
    if is_admin(viewer) or is_auditor(viewer):
        return SessionRecord.objects.all()
    sub = str(viewer.pk)
    own = Q(actor_sub=sub) | Q(on_behalf_of_sub=sub)
    if not viewer.is_service_account:
        own |= Q(resource__in=_resources_approved_by(viewer))
    return SessionRecord.objects.filter(own)


def sessions_live_panel(
    viewer: Any, *, now: datetime, ended_within: timedelta
) -> list[SessionRecord]:
    """The console's live panel: the open sessions ``viewer`` may see (live, or of an agent
    now offline), and those that ended within ``ended_within`` (so a row turns "ended"
    before it leaves), oldest start first."""
    recent = Q(ended_at__isnull=True) | Q(ended_at__gte=now - ended_within)
    records = sessions_visible_to(viewer).filter(recent).select_related("agent")
    return list(records.order_by("started_at", "id")[:LIVE_PANEL_LIMIT])


LIVE_PANEL_LIMIT = 200


def sessions_live_for_grant(grant_id: UUID | str) -> QuerySet[SessionRecord]:
    """The live sessions admitted under ``grant_id`` (no end reported, agent connected)."""
    return SessionRecord.objects.live().filter(grant_id=str(grant_id)).select_related("agent")


def session_record_get(*, viewer: Any, session_id: str) -> SessionRecord | None:
    """The session ``session_id`` if ``viewer`` may see it (the newest, should two agents
    ever report the same id)."""
    return sessions_visible_to(viewer).filter(session_id=session_id).select_related("agent").first()


def _resources_approved_by(viewer: Any) -> QuerySet[Any]:
    policies = Policy.objects.filter(approver_groups__user=viewer)
    return policies.values("resource__name")


def _filtered(records: QuerySet[SessionRecord], filters: SessionFilters) -> QuerySet[SessionRecord]:
    if filters.identity:
        records = records.filter(_identity_matches(filters.identity))
    if filters.resource:
        records = records.filter(resource=filters.resource)
    if filters.protocol:
        records = records.filter(protocol=filters.protocol)
    if filters.started_from is not None:
        records = records.filter(started_at__gte=filters.started_from)
    if filters.started_to is not None:
        records = records.filter(started_at__lt=filters.started_to)
    if filters.had_denial:
        records = records.filter(denials__gt=0)
    if filters.had_masking:
        records = records.filter(masked_values__gt=0)
    if filters.live_only:
        records = records.live()
    return records


def _identity_matches(identity: str) -> Q:
    return (
        Q(actor_sub=identity)
        | Q(on_behalf_of_sub=identity)
        | Q(actor_name__icontains=identity)
        | Q(on_behalf_of_name__icontains=identity)
    )
