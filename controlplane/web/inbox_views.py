"""The approver's inbox (/inbox/): pending access requests, held statements and held MCP tool
calls on one page, each with the rule that applies and Approve / Deny with a comment; the
list refreshes itself (htmx polling) and a history section lists the decisions made. Thin
like every console view: parse the POST, call the decision service (which checks the
approver rule again, and never lets anyone decide their own request or call), answer with
``writes.answer``. Only approvers (and administrators) read the inbox: auditors get 403 here
unless a policy also makes them approvers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET, require_POST

from controlplane.access.selectors import access_requests_visible_to
from controlplane.access.services import access_request_approve, access_request_deny
from controlplane.guardrails.holds import statement_hold_approve, statement_hold_deny
from controlplane.guardrails.selectors import statement_holds_visible_to
from controlplane.mcp_server.holds import tool_call_hold_approve, tool_call_hold_deny
from controlplane.mcp_server.selectors import tool_call_holds_visible_to
from controlplane.web.forms import DecisionForm
from controlplane.web.inbox import inbox_for, inbox_history, inbox_waiting_count
from controlplane.web.pages import page
from controlplane.web.roles import console_roles
from controlplane.web.writes import Refusal, answer, attempt, one_or_404

REQUEST_DECISIONS = {"approve": access_request_approve, "deny": access_request_deny}
HOLD_DECISIONS = {"approve": statement_hold_approve, "deny": statement_hold_deny}
TOOL_HOLD_DECISIONS = {"approve": tool_call_hold_approve, "deny": tool_call_hold_deny}
# After a decision the waiting list, the history and the navigation's count refresh.
CHANGED = "inbox-changed"


@require_GET
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    _require_approver(request)
    context = {"inbox": inbox_for(approver=request.user), **_history(request)}
    return page(request, "web/inbox/page.html", context)


@require_GET
@login_required
def inbox_items(request: HttpRequest) -> HttpResponse:
    """The waiting items alone, for polling (new items appear, decided ones leave)."""
    _require_approver(request)
    return page(request, "web/inbox/items.html", {"inbox": inbox_for(approver=request.user)})


@require_GET
@login_required
def inbox_decisions(request: HttpRequest) -> HttpResponse:
    """The history alone, refreshed after each decision."""
    _require_approver(request)
    return page(request, "web/inbox/history.html", _history(request))


@require_GET
@login_required
def inbox_count(request: HttpRequest) -> HttpResponse:
    """The navigation's badge: how many items wait (0 for people who approve nothing)."""
    count = (
        inbox_waiting_count(approver=request.user) if console_roles(request.user).approver else 0
    )
    return page(request, "web/inbox/count.html", {"inbox_waiting": count})


@require_POST
@login_required
def access_request_decide(request: HttpRequest, request_id: UUID) -> HttpResponse:
    _require_approver(request)
    item = one_or_404(
        access_requests_visible_to(user=request.user), request_id, what="access request"
    )
    error = _decide(request, REQUEST_DECISIONS, request=item)
    item.refresh_from_db()
    who = f"{item.requester.get_username()}'s request for {item.resource.name}"
    return _answer(request, error, f"{who}: {item.get_status_display().lower()}.", item)


@require_POST
@login_required
def statement_hold_decide(request: HttpRequest, hold_id: UUID) -> HttpResponse:
    _require_approver(request)
    hold = one_or_404(statement_holds_visible_to(user=request.user), hold_id, what="held statement")
    error = _decide(request, HOLD_DECISIONS, hold=hold)
    hold.refresh_from_db()
    success = f"{hold.identity.get_username()}'s statement: {hold.get_status_display()}."
    return _answer(request, error, success, hold)


@require_POST
@login_required
def tool_call_hold_decide(request: HttpRequest, hold_id: UUID) -> HttpResponse:
    _require_approver(request)
    visible = tool_call_holds_visible_to(user=request.user)
    hold = one_or_404(visible, hold_id, what="held tool call")
    error = _decide(request, TOOL_HOLD_DECISIONS, hold=hold)
    hold.refresh_from_db()
    who = hold.identity.get_username()
    return _answer(request, error, f"{who}'s {hold.tool} call: {hold.get_status_display()}.", hold)


def _decide(
    request: HttpRequest, decisions: dict[str, Callable[..., object]], /, **item: Any
) -> Refusal | None:
    """Run the chosen decision service as the signed-in person, with their comment, on
    ``item`` (the service's keyword for it: request= or hold=)."""
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return Refusal("choose approve or deny", 400)
    decide = decisions[form.cleaned_data["decision"]]
    return attempt(decide, actor=request.user, comment=form.cleaned_data["comment"], **item)


def _answer(request: HttpRequest, error: Refusal | None, success: str, item: Model) -> HttpResponse:
    """htmx: the item's card, now showing its outcome (the next refresh drops it from the
    list); plain posts: a message and back to the inbox."""
    fragment = ("web/inbox/decided.html", {"item": item, "kind": item._meta.model_name})
    return answer(
        request, error, success=success, fragment=fragment, fallback="web:inbox", changed=CHANGED
    )


def _history(request: HttpRequest) -> dict[str, Any]:
    return {
        "decisions": inbox_history(viewer=request.user),
        "all_decisions": console_roles(request.user).admin,
    }


def _require_approver(request: HttpRequest) -> None:
    if not console_roles(request.user).approver:
        raise PermissionDenied("the inbox is for approvers")
