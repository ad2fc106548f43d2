"""Who may replay a session: administrators and auditors any session; anyone else only a
session they ran (the actor) or an AI agent ran for them (the on-behalf-of person)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from controlplane.audit.models import AuditEvent
from controlplane.identities.permissions import is_admin, is_auditor


def session_events_for(*, viewer: Any, session_id: str) -> QuerySet[AuditEvent] | None:
    """The session's audit events in log order, or None when there is no such session or
    ``viewer`` may not replay it (the page answers both with 404: no probing for ids)."""
    events = AuditEvent.objects.filter(session=session_id).order_by("seq")
    if is_admin(viewer) or is_auditor(viewer):
        return events if events.exists() else None
    sub = str(viewer.pk)
    # Only the agent's own events say whose session it is: a control-plane event inside
    # it (an administrator ending it) does not make the session the administrator's.
    theirs = events.filter(source=AuditEvent.Source.AGENT).filter(
        Q(actor_sub=sub) | Q(on_behalf_of_sub=sub)
    )
    return events if theirs.exists() else None
