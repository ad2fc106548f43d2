"""Rendering for console pages: every page gets the viewer's roles (for navigation), and
htmx requests are told apart from plain ones."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from controlplane.web.roles import console_roles


def is_htmx(request: HttpRequest) -> bool:
    """An htmx request wants the changed fragment rather than a redirect."""
    return request.headers.get("HX-Request") == "true"


def page(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HttpResponse:
    context = {"roles": console_roles(request.user), **(context or {})}
    return render(request, template, context, status=status)
