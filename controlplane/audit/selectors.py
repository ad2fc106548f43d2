"""Reading the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db.models import Max, Q, QuerySet

from controlplane.audit.models import AuditEvent

if TYPE_CHECKING:
    from controlplane.agents.models import Agent

EXACT_FILTERS = ("resource", "action", "session")


def audit_last_seq_for(*, agent: Agent) -> int:
    """The highest seq stored for ``agent`` (0 if none): where its spool may resume."""
    highest = AuditEvent.objects.filter(agent=agent).aggregate(highest=Max("agent_seq"))
    return int(highest["highest"] or 0)


def audit_events_list(*, filters: Mapping[str, Any] | None = None) -> QuerySet[AuditEvent]:
    """Events newest first. Filters (all optional): actor (sub or name), on_behalf_of (sub or
    name of the human an agent acted for), resource, action, session, agent (name), since and
    until (occurred_at, since inclusive)."""
    filters = filters or {}
    events = AuditEvent.objects.select_related("agent").order_by("-occurred_at", "-id")
    if filters.get("actor"):
        events = events.filter(Q(actor_sub=filters["actor"]) | Q(actor_name=filters["actor"]))
    if filters.get("on_behalf_of"):
        principal = filters["on_behalf_of"]
        events = events.filter(Q(on_behalf_of_sub=principal) | Q(on_behalf_of_name=principal))
    for name in EXACT_FILTERS:
        if filters.get(name):
            events = events.filter(**{name: filters[name]})
    if filters.get("agent"):
        events = events.filter(agent__name=filters["agent"])
    if filters.get("since"):
        events = events.filter(occurred_at__gte=filters["since"])
    if filters.get("until"):
        events = events.filter(occurred_at__lt=filters["until"])
    return events
