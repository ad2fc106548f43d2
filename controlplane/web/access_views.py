"""Console pages for just-in-time access: ask for a resource, decide requests, use and end
grants. Thin: each view parses a form, calls one service or selector and renders. Writes are
POSTs with CSRF; htmx requests get the fragment that changed, plain form posts a redirect
(or the page again with its errors), so every page also works without JavaScript."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from controlplane.access.models import AccessRequest
from controlplane.access.selectors import (
    access_requests_visible_to,
)
from controlplane.access.services import (
    access_request_withdraw,
)
from controlplane.identities.tokens import gateway_token_mint
from controlplane.resources.models import Resource
from controlplane.web.config import url_host
from controlplane.web.forms import TokenForm
from controlplane.web.pages import is_htmx, page
from controlplane.web.selectors import (
    grants_active_of,
)
from controlplane.web.writes import answer, attempt


# -- my requests ---------------------------------------------------------------------------------
@require_POST
@login_required
def access_request_withdraw_view(request: HttpRequest, request_id: UUID) -> HttpResponse:
    access_request = _visible_request(request, request_id)
    error = attempt(access_request_withdraw, actor=request.user, request=access_request, comment="")
    access_request.refresh_from_db()
    return answer(
        request,
        error,
        success=f"Request for {access_request.resource.name} withdrawn.",
        fragment=("web/partials/my_request_row.html", {"item": access_request}),
        fallback="web:resources",
        changed="requests-changed",
    )


# -- my access ------------------------------------------------------------------------------
@require_GET
@login_required
def my_access(request: HttpRequest) -> HttpResponse:
    return page(request, "web/my_access.html", _my_access_context(request))


@require_GET
@login_required
def my_access_grants(request: HttpRequest) -> HttpResponse:
    """The grant rows alone, for polling (time left, ended grants drop out)."""
    return page(request, "web/partials/my_grant_rows.html", _my_access_context(request))


@never_cache
@require_POST
@login_required
def gateway_token(request: HttpRequest) -> HttpResponse:
    """Mint a short-lived gateway token for the signed-in person and show it once, with a
    psql line (or, for an http or llm resource, a curl line) for one of their granted
    resources. The token is in this response only: never in a message, the session or a
    log."""
    form = TokenForm(request.POST)
    granted = {grant.resource.name: grant.resource for grant in grants_active_of(user=request.user)}
    if not form.is_valid() or form.cleaned_data["resource"] not in granted:
        return _token_response(request, error="choose a resource you have access to", status=400)
    resource = granted[form.cleaned_data["resource"]]
    minted = gateway_token_mint(actor=request.user, identity=request.user)
    issued = {"expires_at": minted.expires_at, **_connect_line(request, resource, minted.token)}
    return _token_response(request, issued=issued)


def _connect_line(request: HttpRequest, resource: Resource, token: str) -> dict[str, str]:
    if resource.speaks_http:
        base_url = f"https://{url_host(settings.GATEHOUSE_AGENT_PUBLIC_HTTP_ADDRESS)}/"
        base_url += f"{resource.name}/"
        return {"base_url": base_url, "bearer": token}
    address = settings.GATEHOUSE_AGENT_PUBLIC_ADDRESS
    conninfo = (
        f"host={address.host} port={address.port} dbname={resource.name} "
        f"user={request.user.get_username()} sslmode=require password={token}"
    )
    return {"conninfo": conninfo}


def _token_response(request: HttpRequest, *, status: int = 200, **token: Any) -> HttpResponse:
    context = {"token": token}
    if is_htmx(request):
        return page(request, "web/partials/token.html", context, status=status)
    context.update(_my_access_context(request))
    return page(request, "web/my_access.html", context, status=status)


def _my_access_context(request: HttpRequest) -> dict[str, Any]:
    return {
        "grants": grants_active_of(user=request.user),
        "agent_address": settings.GATEHOUSE_AGENT_PUBLIC_ADDRESS,
    }


# -- shared -------------------------------------------------------------------------------------
def _visible_request(request: HttpRequest, request_id: UUID) -> AccessRequest:
    try:
        return access_requests_visible_to(user=request.user).get(pk=request_id)
    except AccessRequest.DoesNotExist:
        raise Http404("no such access request") from None
