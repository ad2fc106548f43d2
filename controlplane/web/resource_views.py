"""Console pages for resources and grants: the resources one may see (with their agent's
health and one's own access), a resource's page (its policy, a request form, its grants and
their live sessions), and the grants page (active and past, time left, Revoke). Thin: each
view parses, calls selectors or one service and renders; writes are POSTs with CSRF."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from controlplane.access.models import AccessRequest, Grant
from controlplane.access.services import access_request_create, grant_revoke
from controlplane.agents.health import AgentHealth, agent_health
from controlplane.identities.models import User
from controlplane.identities.permissions import is_admin, is_auditor
from controlplane.policies.models import Policy
from controlplane.policies.selectors import may_approve, policy_for
from controlplane.resources.models import Resource
from controlplane.sessions.models import SessionRecord
from controlplane.sessions.selectors import sessions_live_for_grant
from controlplane.web.forms import AccessRequestForm, GrantFilterForm
from controlplane.web.pages import is_htmx, page
from controlplane.web.selectors import (
    HISTORY_LIMIT,
    access_requests_of,
    access_requests_pending_of,
    grant_ids_revocable_by,
    grants_active_of,
    grants_past,
    grants_visible_in_console,
    live_session_counts,
    policies_requestable_by,
    resources_visible_to,
    sessions_of_grant,
)
from controlplane.web.writes import answer, attempt, one_or_404

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GrantRow:
    """One grant as a row: whether the viewer may revoke it, its live sessions (a count, or
    the sessions themselves), and whether the row keeps polling (a revoked grant whose
    sessions are still ending)."""

    grant: Grant
    may_revoke: bool
    live: int = 0
    sessions: tuple[SessionRecord, ...] = ()
    watching: bool = False


# -- the resources list ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ResourceRow:
    """One line of the resources page: the resource, its agent's health and the viewer's
    own access to it (a grant in force, else a pending request)."""

    resource: Resource
    health: AgentHealth
    my_grant: Grant | None
    my_request: AccessRequest | None
    requestable: bool


@require_GET
@login_required
def resources(request: HttpRequest) -> HttpResponse:
    return page(request, "web/resources/list.html", {"rows": _resource_rows(request.user)})


def _resource_rows(user: User) -> list[ResourceRow]:
    granted = {grant.resource_id: grant for grant in reversed(grants_active_of(user=user))}
    asked = {item.resource_id: item for item in access_requests_pending_of(user=user)}
    requestable = set(policies_requestable_by(user=user).values_list("resource_id", flat=True))
    return [
        ResourceRow(
            resource=resource,
            health=agent_health(resource.agent),
            my_grant=granted.get(resource.pk),
            my_request=asked.get(resource.pk),
            requestable=resource.pk in requestable,
        )
        for resource in resources_visible_to(user=user)
    ]


# -- one resource ---------------------------------------------------------------------------------
@require_GET
@login_required
def resource_detail(request: HttpRequest, name: str) -> HttpResponse:
    return _detail_page(request, _visible_resource(request.user, name))


@require_POST
@login_required
def access_request_new(request: HttpRequest, resource_name: str) -> HttpResponse:
    """Ask for access from the resource's page (a plain form post; errors show on the form)."""
    policy = policies_requestable_by(user=request.user).filter(resource__name=resource_name).first()
    if policy is None:
        raise Http404("no such resource you may request")
    form = AccessRequestForm(request.POST, policy=policy)
    if form.is_valid() and _service_call(
        form,
        access_request_create,
        actor=request.user,
        resource=policy.resource,
        duration=form.duration,
        access_level=form.cleaned_data["access_level"],
        reason=form.cleaned_data["reason"],
    ):
        messages.success(request, f"Requested {policy.resource.name}: waiting for approval.")
        return redirect("web:resource_detail", name=policy.resource.name)
    return _detail_page(request, policy.resource, bound=form, status=400)


@require_GET
@login_required
def my_requests(request: HttpRequest) -> HttpResponse:
    """The rows of the person's own requests (``?resource=`` narrows them to one resource),
    for polling: statuses change elsewhere."""
    requests = access_requests_of(user=request.user, resource=request.GET.get("resource", ""))
    return page(request, "web/partials/my_request_rows.html", {"my_requests": requests})


def _visible_resource(user: User, name: str) -> Resource:
    resource = resources_visible_to(user=user).filter(name=name).first()
    if resource is None:
        raise Http404("no such resource")
    return resource


def _detail_page(
    request: HttpRequest,
    resource: Resource,
    *,
    bound: AccessRequestForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    policy = policy_for(resource=resource)
    context = {
        "resource": resource,
        "health": agent_health(resource.agent),
        "policy": policy,
        "form": bound or _offer(user, policy),
        "my_grants": grants_active_of(user=user).filter(resource=resource),
        "my_requests": access_requests_of(user=user, resource=resource.name),
        "oversees": _oversees(user, policy),
    }
    if context["oversees"]:
        context.update(_active_grants_context(user, resource))
    return page(request, "web/resources/detail.html", context, status=status)


def _offer(user: User, policy: Policy | None) -> AccessRequestForm | None:
    if policy is None or not policies_requestable_by(user=user).filter(pk=policy.pk).exists():
        return None
    return AccessRequestForm(policy=policy)


def _oversees(user: User, policy: Policy | None) -> bool:
    """Administrators, auditors and the resource's approvers see all its grants."""
    approver = policy is not None and may_approve(identity=user, policy=policy)
    return is_admin(user) or is_auditor(user) or approver


def _active_grants_context(user: User, resource: Resource) -> dict[str, Any]:
    grants = list(grants_visible_in_console(user=user).active().filter(resource=resource))
    revocable = grant_ids_revocable_by(user=user, grants=grants)
    rows = []
    for grant in grants:
        live = tuple(sessions_live_for_grant(grant.pk))
        rows.append(GrantRow(grant, grant.pk in revocable, live=len(live), sessions=live))
    return {"active_grants": rows}


def _service_call(form: AccessRequestForm, service: Callable[..., object], **kwargs: Any) -> bool:
    """Call ``service``; put its refusal on ``form`` (by field where it names one)."""
    try:
        service(**kwargs)
    except PermissionDenied as exc:
        form.add_error(None, str(exc))
    except ValidationError as exc:
        for field, errors in _field_errors(exc).items():
            form.add_error(field if field in form.fields else None, errors)
    return not form.errors


def _field_errors(exc: ValidationError) -> dict[str, list[str]]:
    renamed = {"duration": "duration_minutes"}
    if hasattr(exc, "error_dict"):
        return {renamed.get(k, k): v for k, v in exc.message_dict.items()}
    return {"__all__": exc.messages}


# -- grants ---------------------------------------------------------------------------------------
@require_GET
@login_required
def grants(request: HttpRequest) -> HttpResponse:
    """Active and past grants, filtered by the GET form; htmx gets the sections alone."""
    visible = grants_visible_in_console(user=request.user)
    names = list(
        visible.order_by("resource__name").values_list("resource__name", flat=True).distinct()
    )
    form = GrantFilterForm(request.GET, resource_names=names)
    if not form.is_valid():
        logger.info("grants page: filter refused: %s", form.errors.get_json_data())
        context = {"form": form, "active": [], "past": []}
        return page(request, _grants_template(request), context, status=400)
    context = {"form": form, **_grants_context(request.user, visible, form.cleaned_data)}
    return page(request, _grants_template(request), context)


@require_GET
@login_required
def grant_row(request: HttpRequest, grant_id: UUID) -> HttpResponse:
    """One grant's row with its sessions: a revoked grant's row polls this until its last
    session has ended."""
    grant = one_or_404(grants_visible_in_console(user=request.user), grant_id, what="grant")
    return page(request, "web/grants/grant_row.html", _watched_row(request.user, grant))


@require_POST
@login_required
def grant_revoke_view(request: HttpRequest, grant_id: UUID) -> HttpResponse:
    """Revoke a grant (administrators, and approvers of the request behind it; the service
    refuses anyone else, auditors included). htmx gets the row back, watching the grant's
    sessions end."""
    grant = one_or_404(grants_visible_in_console(user=request.user), grant_id, what="grant")
    error = attempt(grant_revoke, actor=request.user, grant=grant, reason="revoked in the console")
    grant.refresh_from_db()
    return answer(
        request,
        error,
        success=f"{grant.identity.get_username()}'s grant on {grant.resource.name} revoked.",
        fragment=("web/grants/grant_row.html", _watched_row(request.user, grant)),
        fallback="web:grants",
        changed="grants-changed",
    )


def _grants_template(request: HttpRequest) -> str:
    return "web/grants/sections.html" if is_htmx(request) else "web/grants/page.html"


def _grants_context(user: User, visible: QuerySet[Grant], wanted: dict[str, str]) -> dict[str, Any]:
    if wanted["resource"]:
        visible = visible.filter(resource__name=wanted["resource"])
    context: dict[str, Any] = {"active": None, "past": None}
    if wanted["state"] in ("", "active"):
        context["active"] = _active_rows(user, visible.active().order_by("expires_at"))
    if wanted["state"] in ("", "past"):
        past = grants_past(visible)[:HISTORY_LIMIT]
        context["past"] = [GrantRow(grant, may_revoke=False) for grant in past]
    return context


def _active_rows(user: User, active: QuerySet[Grant]) -> list[GrantRow]:
    grants = list(active[:HISTORY_LIMIT])
    revocable = grant_ids_revocable_by(user=user, grants=grants)
    live = live_session_counts(grant_ids=[grant.pk for grant in grants])
    return [GrantRow(g, g.pk in revocable, live=live.get(str(g.pk), 0)) for g in grants]


def _watched_row(user: User, grant: Grant) -> dict[str, Any]:
    sessions = tuple(sessions_of_grant(grant_id=grant.pk))
    live = sum(1 for record in sessions if record.is_open and record.agent.connected)
    may_revoke = grant.pk in grant_ids_revocable_by(user=user, grants=[grant])
    # A revoked (or otherwise ended) grant's row polls until its sessions have ended.
    watching = live > 0 and not grant.is_active()
    row = GrantRow(grant, may_revoke, live=live, sessions=sessions, watching=watching)
    return {"row": row}
