"""The sessions page (/sessions/): the live sessions (refreshed every 2 s; each with a
Terminate button for those allowed: administrators and the resource's approvers, never
auditors), and every session the viewer may see, filtered by GET parameters (identity,
resource, protocol, start time, had a denial, had masking, live only) and paginated.
Requesters see only their own sessions; the selectors and the terminate service decide."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from controlplane.sessions.filters import SessionFilterForm
from controlplane.sessions.models import SessionRecord
from controlplane.sessions.selectors import (
    session_record_get,
    sessions_list,
    sessions_live_panel,
)
from controlplane.sessions.services import (
    Terminable,
    session_terminate,
    session_terminate_check,
    sessions_terminable_by,
)
from controlplane.web.pages import is_htmx, page
from controlplane.web.writes import answer, attempt

PAGE_SIZE = 50
# An ended session stays in the live panel this long, marked "ended", before it leaves.
RECENTLY_ENDED = timedelta(seconds=60)
RESULTS_TARGET = "session-results"


@require_GET
@login_required
def sessions(request: HttpRequest) -> HttpResponse:
    """The page; the filter bar's htmx request gets the results table alone."""
    form = SessionFilterForm(request.GET or None)
    terminable = sessions_terminable_by(request.user)
    results = _results(request, form, terminable)
    status = 200 if results["valid"] else 400
    if is_htmx(request) and request.headers.get("HX-Target") == RESULTS_TARGET:
        return page(request, "web/sessions/results.html", results, status=status)
    context = {**results, **_live(request, terminable)}
    return page(request, "web/sessions/index.html", context, status=status)


@require_GET
@login_required
def sessions_live(request: HttpRequest) -> HttpResponse:
    """The live panel alone, for its 2-second poll."""
    return page(request, "web/sessions/live.html", _live(request, None))


@require_POST
@login_required
def session_terminate_view(request: HttpRequest, session_id: str) -> HttpResponse:
    """End a live session. A plain form post without ``confirm=yes`` gets a confirmation
    page first (htmx asks in the browser before posting)."""
    record = session_record_get(viewer=request.user, session_id=session_id)
    if record is None:
        raise Http404("no such session")
    session_terminate_check(actor=request.user, record=record)  # 403 before anything else
    reason = request.POST.get("reason", "")
    if request.POST.get("confirm") != "yes" and not is_htmx(request):
        return page(request, "web/sessions/confirm.html", {"row": _row(record, None)})
    error = attempt(session_terminate, actor=request.user, record=record, reason=reason)
    who = record.actor_name or "an unidentified caller"
    return answer(
        request,
        error,
        success=f"Asked {record.agent.name} to end {who}'s session on {record.resource}.",
        fragment=("web/sessions/live.html", _live(request, None)),
        fallback=reverse("web:sessions"),
        changed="sessions-changed",
    )


def _results(
    request: HttpRequest, form: SessionFilterForm, terminable: Terminable
) -> dict[str, Any]:
    if not form.is_bound:
        form = SessionFilterForm({})
    valid = form.is_valid()
    records = sessions_list(request.user, form.filters()) if valid else SessionRecord.objects.none()
    paginator = Paginator(records, PAGE_SIZE)
    results = paginator.get_page(request.GET.get("page"))
    return {
        "filters": form,
        "valid": valid,
        "results": results,
        "rows": [_row(record, terminable) for record in results],
        "query": urlencode(_filter_values(request)),
    }


def _live(request: HttpRequest, terminable: Terminable | None) -> dict[str, Any]:
    terminable = terminable or sessions_terminable_by(request.user)
    records = sessions_live_panel(request.user, now=timezone.now(), ended_within=RECENTLY_ENDED)
    return {"live_rows": [_row(record, terminable) for record in records]}


def _row(record: SessionRecord, terminable: Terminable | None) -> dict[str, Any]:
    return {
        "record": record,
        "state": _state(record),
        "duration": _duration_text(record.duration_s),
        "end_reason": _end_reason_text(record.end_reason),
        "terminable": terminable is not None and record.is_open and record in terminable,
        "detail_url": _detail_url(record.session_id),
    }


def _state(record: SessionRecord) -> str:
    if not record.is_open:
        return "ended"
    return "live" if record.agent.connected else "agent offline"


def _end_reason_text(reason: str) -> str:
    # The PostgreSQL driver writes "terminated: <why>", and a person's terminate says
    # "terminated by bob" already: shown once.
    return reason.removeprefix("terminated: ") if "terminated by " in reason else reason


def _duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _detail_url(session_id: str) -> str:
    """The session's replay page, once that page exists ("" before)."""
    try:
        return reverse("web:session_detail", args=[session_id])
    except NoReverseMatch:
        return ""


def _filter_values(request: HttpRequest) -> list[tuple[str, str]]:
    """The GET parameters minus the page number (pagination links add their own)."""
    return [(key, value) for key, value in request.GET.items() if key != "page" and value]
