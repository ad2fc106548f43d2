"""The agents page (/agents/): each data-plane agent's connection, version, config revision
acknowledged against the current one, last heartbeat (stale after 30 s), the resources it
serves, its spool backlog and its token's state. The table refreshes itself every 5 s (an
htmx poll of the same URL, which answers the table alone). Administrators and auditors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from controlplane.agents.health import STALE_AFTER
from controlplane.agents.selectors import agents_status
from controlplane.web.pages import is_htmx, page
from controlplane.web.roles import console_roles


@require_GET
@login_required
def agents(request: HttpRequest) -> HttpResponse:
    roles = console_roles(request.user)
    if not (roles.admin or roles.auditor):
        raise PermissionDenied("the agents page is for administrators and auditors")
    current, statuses = agents_status(at=timezone.now())
    context = {
        "config_revision": current,
        "statuses": statuses,
        "stale_after": int(STALE_AFTER.total_seconds()),
    }
    template = "web/agents/rows.html" if is_htmx(request) else "web/agents/index.html"
    return page(request, template, context)
