"""Reading the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Max, Q, QuerySet, TextField
from django.db.models.functions import Cast

from controlplane.audit.models import AuditEvent
from controlplane.audit.sequencer import log_size

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


# The console's free-text search reads at most this many entries (by seq) per page: a
# substring of the payload has no index, so each request's cost stays bounded.
TEXT_SEARCH_WINDOW = 20_000
AUDIT_PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditSearch:
    """What the audit explorer asks for; every field optional. ``identity`` matches the actor
    or the person an agent acted for (sub or name); ``text`` is a case-insensitive substring
    of the (masked) payload; ``before`` is the keyset cursor (only seqs below it)."""

    action: str = ""
    identity: str = ""
    resource: str = ""
    session: str = ""
    since: datetime | None = None
    until: datetime | None = None
    seq_from: int | None = None
    seq_to: int | None = None
    text: str = ""
    before: int | None = None


@dataclass(frozen=True)
class AuditPage:
    """One page, newest first. ``older`` is the cursor of the next page (None at the end);
    ``searched_from`` the lowest seq a text search read for this page."""

    events: list[AuditEvent]
    older: int | None
    searched_from: int | None = None


def audit_events_search(*, search: AuditSearch, limit: int = AUDIT_PAGE_SIZE) -> AuditPage:
    """A page of events matching ``search``, by seq newest first (keyset pagination)."""
    fields = ("action", "resource", "session", "since", "until")
    events = audit_events_list(filters={name: getattr(search, name) for name in fields})
    if search.identity:
        events = events.filter(_identity(search.identity))
    if search.seq_from is not None:
        events = events.filter(seq__gte=search.seq_from)
    ceiling = _ceiling(search)
    if ceiling is not None:
        events = events.filter(seq__lt=ceiling)
    floor = None
    if search.text:
        floor = max((log_size() if ceiling is None else ceiling) - TEXT_SEARCH_WINDOW, 0)
        floor = max(floor, search.seq_from or 0)
        events = _payload_containing(events.filter(seq__gte=floor), search.text)
    rows = list(events.order_by("-seq")[: limit + 1])
    if len(rows) > limit:
        return AuditPage(rows[:limit], older=rows[limit - 1].seq, searched_from=floor)
    more = floor is not None and floor > (search.seq_from or 0)
    return AuditPage(rows, older=floor if more else None, searched_from=floor)


def _identity(principal: str) -> Q:
    return (
        Q(actor_sub=principal)
        | Q(actor_name=principal)
        | Q(on_behalf_of_sub=principal)
        | Q(on_behalf_of_name=principal)
    )


def _ceiling(search: AuditSearch) -> int | None:
    """The exclusive upper seq bound: the cursor or the range's end, whichever is lower."""
    end = None if search.seq_to is None else search.seq_to + 1
    present = [bound for bound in (search.before, end) if bound is not None]
    return min(present) if present else None


def _payload_containing(events: QuerySet[AuditEvent], text: str) -> QuerySet[AuditEvent]:
    as_text = Cast("payload", output_field=TextField())
    return events.annotate(payload_text=as_text).filter(payload_text__icontains=text)
