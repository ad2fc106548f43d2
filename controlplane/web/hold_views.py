"""Console page for held statements (/holds/): the statements agents keep waiting for an
approver, each with its exact text, and Approve / Deny buttons; below them the MCP tool
calls a tool rule holds, each with its exact arguments. Thin like the access
pages: the view parses the POST, calls the hold service (which checks the approver role of
the hold's resource again) and renders. htmx gets the refreshed list; plain posts a
message and a redirect."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
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
from controlplane.mcp_server.holds import tool_call_hold_approve, tool_call_hold_deny
from controlplane.mcp_server.models import ToolCallHold
from controlplane.mcp_server.selectors import (
    tool_call_holds_awaiting,
    tool_call_holds_visible_to,
)
from controlplane.web.pages import is_htmx, page
from controlplane.web.roles import console_roles

DECISIONS = {"approve": statement_hold_approve, "deny": statement_hold_deny}
TOOL_CALL_DECISIONS = {"approve": tool_call_hold_approve, "deny": tool_call_hold_deny}


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


@require_POST
@login_required
def tool_call_hold_decide(request: HttpRequest, hold_id: UUID) -> HttpResponse:
    """Approve or deny a held MCP tool call, as statement_hold_decide does a statement."""
    _require_approver(request)
    decide = TOOL_CALL_DECISIONS.get(request.POST.get("decision", ""))
    hold = _tool_call_visible_or_404(request, hold_id)
    error, status = _decision_error(request, decide, hold)
    hold.refresh_from_db()
    who = hold.identity.get_username()
    message = error or f"{who}'s {hold.tool} call: {hold.get_status_display()}."
    if not is_htmx(request):
        (messages.error if error else messages.success)(request, message)
        return redirect("web:holds")
    context = {**_context(request), "outcome": message, "error": bool(error)}
    return page(request, "web/partials/hold_rows.html", context, status=status)


def _decision_error(
    request: HttpRequest, decide: Callable[..., Any] | None, hold: ToolCallHold
) -> tuple[str, int]:
    """Run ``decide`` as the request's user; the error to show ("" if none) and the status."""
    if decide is None:
        return "choose approve or deny", 400
    try:
        decide(actor=request.user, hold=hold)
    except PermissionDenied as exc:
        return str(exc) or "not allowed", 403
    except ValidationError as exc:
        return " ".join(exc.messages), 409
    return "", 200


def _context(request: HttpRequest) -> dict[str, object]:
    tool_calls = list(tool_call_holds_awaiting(approver=request.user))
    for hold in tool_calls:  # the exact arguments, as the approver must read them
        hold.arguments_text = json.dumps(hold.arguments, indent=2, ensure_ascii=False)  # type: ignore[attr-defined]
    return {"holds": statement_holds_awaiting(approver=request.user), "tool_calls": tool_calls}


def _require_approver(request: HttpRequest) -> None:
    if not console_roles(request.user).approver:
        raise PermissionDenied("held statements are for approvers")


def _tool_call_visible_or_404(request: HttpRequest, hold_id: UUID) -> ToolCallHold:
    try:
        return tool_call_holds_visible_to(user=request.user).get(pk=hold_id)
    except ToolCallHold.DoesNotExist:
        raise Http404("no such held tool call") from None


def _visible_or_404(request: HttpRequest, hold_id: UUID) -> StatementHold:
    """A hold the viewer may read (a decided one too, so a second click is told it was
    decided); anyone else's is 404, as if it did not exist."""
    try:
        return statement_holds_visible_to(user=request.user).get(pk=hold_id)
    except StatementHold.DoesNotExist:
        raise Http404("no such held statement") from None
