"""Console page for held statements (/holds/): the statements agents keep waiting for an
approver, each with its exact text, and Approve / Deny buttons. Thin like the access
pages: the view parses the POST, calls the hold service (which checks the approver role of
the hold's resource again) and renders. htmx gets the refreshed list; plain posts a
message and a redirect."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from controlplane.guardrails.holds import statement_hold_approve, statement_hold_deny
from controlplane.guardrails.models import StatementHold
from controlplane.guardrails.selectors import (
    statement_holds_awaiting,
    statement_holds_visible_to,
)
from controlplane.web.pages import is_htmx, page
from controlplane.web.roles import console_roles

DECISIONS = {"approve": statement_hold_approve, "deny": statement_hold_deny}


@require_GET
@login_required
def holds(request: HttpRequest) -> HttpResponse:
    _require_approver(request)
    return page(request, "web/holds.html", _context(request))


@require_GET
@login_required
def holds_list(request: HttpRequest) -> HttpResponse:
    """The list alone, for polling and for refreshing after a decision."""
    _require_approver(request)
    return page(request, "web/partials/hold_rows.html", _context(request))


@require_POST
@login_required
def statement_hold_decide(request: HttpRequest, hold_id: UUID) -> HttpResponse:
    _require_approver(request)
    decide = DECISIONS.get(request.POST.get("decision", ""))
    hold = _visible_or_404(request, hold_id)
    error, status = ("choose approve or deny", 400) if decide is None else ("", 200)
    if decide is not None:
        try:
            decide(actor=request.user, hold=hold)
        except PermissionDenied as exc:
            error, status = str(exc) or "not allowed", 403
        except ValidationError as exc:
            error, status = " ".join(exc.messages), 409
    hold.refresh_from_db()
    message = error or f"{hold.identity.get_username()}'s statement: {hold.get_status_display()}."
    if not is_htmx(request):
        (messages.error if error else messages.success)(request, message)
        return redirect("web:holds")
    context = {**_context(request), "outcome": message, "error": bool(error)}
    return page(request, "web/partials/hold_rows.html", context, status=status)


def _context(request: HttpRequest) -> dict[str, object]:
    return {"holds": statement_holds_awaiting(approver=request.user)}


def _require_approver(request: HttpRequest) -> None:
    if not console_roles(request.user).approver:
        raise PermissionDenied("held statements are for approvers")


def _visible_or_404(request: HttpRequest, hold_id: UUID) -> StatementHold:
    """A hold the viewer may read (a decided one too, so a second click is told it was
    decided); anyone else's is 404, as if it did not exist."""
    try:
        return statement_holds_visible_to(user=request.user).get(pk=hold_id)
    except StatementHold.DoesNotExist:
        raise Http404("no such held statement") from None
