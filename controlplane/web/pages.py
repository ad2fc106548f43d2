"""Rendering for console pages: every page gets the viewer's roles and the number of items
waiting in their inbox (for navigation), and htmx requests are told apart from plain ones."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from controlplane.web.inbox import inbox_waiting_count
from controlplane.web.roles import console_roles


def is_htmx(request: HttpRequest) -> bool:
    """An htmx request wants the changed fragment rather than a redirect."""
    return request.headers.get("HX-Request") == "true"


def page(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HttpResponse:
    roles = console_roles(request.user)
    # A callable: counted only when a template shows it (the navigation, for approvers).
    waiting = partial(inbox_waiting_count, approver=request.user) if roles.approver else int
    context = {"roles": roles, "inbox_waiting": waiting, **(context or {})}
    return render(request, template, context, status=status)
