"""Single-use grants (scope ``session`` or ``call``) end when their one session does.

The agent enforces single use by itself; the control plane records the end when it ingests
that session's ``session.end`` (or a ``lost`` end the agent reports after a crash), so the
grant leaves the next snapshot and the audit log says it was used.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from controlplane.access.actions import AccessAction
from controlplane.access.models import Grant
from controlplane.access.services import grant_audit_payload
from controlplane.agents.models import Agent
from controlplane.agents.revision import config_revision_bump
from controlplane.audit.services import audit_event_record
from dataplane.contract import Action, GrantScope
from dataplane.contract import AuditEvent as WireAuditEvent


def grant_end_after_use(*, agent: Agent, grant_id: object, session: str) -> Grant | None:
    """End the single-use grant ``grant_id`` because its one session (``session``, as
    ``agent`` reported it) is over. Only the agent serving the grant's resource can end it
    this way, only a session or call grant ends, and only once: the conditional update
    claims it, so a re-sent event changes nothing. Returns the grant if it ended now."""
    now = timezone.now()
    with transaction.atomic():
        claimed = (
            Grant.objects.not_ended(at=now)
            .single_use()
            .filter(pk=grant_id, resource__agent=agent)
            .update(used_up_at=now, ended_recorded_at=now)
        )
        if claimed != 1:
            return None
        grant = Grant.objects.select_related("identity", "resource__agent").get(pk=grant_id)
        config_revision_bump(agents=[grant.resource.agent])
        audit_event_record(
            actor=agent,
            action=AccessAction.GRANT_ENDED,
            resource=grant.resource.name,
            payload={**grant_audit_payload(grant), "reason": "used", "session": session},
        )
    return grant


def grants_end_after_use(*, agent: Agent, events: Sequence[WireAuditEvent]) -> int:
    """End every single-use grant whose session ended among ``events`` (a batch from
    ``agent``; see :func:`grant_end_after_use`). Idempotent; returns how many ended."""
    ended = 0
    for event in events:
        grant_id = _used_grant(event)
        if grant_id and grant_end_after_use(agent=agent, grant_id=grant_id, session=event.session):
            ended += 1
    return ended


def _used_grant(event: WireAuditEvent) -> uuid.UUID | None:
    """The single-use grant whose session ``event`` ends, if it is such an event (the
    agent's word on the scope only saves a query: the service checks the grant's own)."""
    if event.action != Action.SESSION_END:
        return None
    if event.payload.get("grant_scope") not in (GrantScope.SESSION, GrantScope.CALL):
        return None
    try:
        return uuid.UUID(str(event.payload.get("grant")))
    except ValueError:
        return None
