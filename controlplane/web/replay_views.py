"""The replay page (/sessions/<id>/) and its two reads for the browser: the terminal
recording as asciicast v2 (/sessions/<id>/cast) and the inclusion proofs of its events
against the latest signed checkpoint (/sessions/<id>/proofs). All three answer 404 for a
session the viewer may not replay, exactly as for one that does not exist, and are never
cached (they show what a session did)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from controlplane.audit.models import AuditEvent
from controlplane.web.pages import page
from controlplane.web.replay.access import session_events_for
from controlplane.web.replay.cast import CAST_CONTENT_TYPE, session_cast
from controlplane.web.replay.proofs import session_proofs
from controlplane.web.replay.timeline import replay_events, session_replay_build

SPEEDS = (("0.5", "0.5×"), ("1", "1×"), ("2", "2×"), ("4", "4×"), ("instant", "instant"))


@never_cache
@require_GET
@login_required
def session_detail(request: HttpRequest, session_id: str) -> HttpResponse:
    """The replay: the session's timeline (steps listed; replay.js plays them), the terminal
    player when the session recorded a terminal, and a verification badge per event."""
    replay = session_replay_build(session_id=session_id, events=_events(request, session_id))
    return page(request, "web/replay/session_detail.html", {"replay": replay, "speeds": SPEEDS})


@never_cache
@require_GET
@login_required
def session_cast_view(request: HttpRequest, session_id: str) -> HttpResponse:
    """The session's terminal recording as asciicast v2 (an empty one without output)."""
    lines = session_cast(session_id=session_id, events=_events(request, session_id))
    return StreamingHttpResponse(lines, content_type=CAST_CONTENT_TYPE)


@never_cache
@require_GET
@login_required
def session_proofs_view(request: HttpRequest, session_id: str) -> JsonResponse:
    """Each timeline event's leaf and inclusion proof, and the latest checkpoint (its
    signature verified here); replay.js checks the proofs with WebCrypto."""
    events = replay_events(_events(request, session_id))
    return JsonResponse(session_proofs(events=events))


def _events(request: HttpRequest, session_id: str) -> QuerySet[AuditEvent]:
    events = session_events_for(viewer=request.user, session_id=session_id)
    if events is None:
        raise Http404("no such session")
    return events
