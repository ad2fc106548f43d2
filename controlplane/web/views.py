"""Thin views: sign-in and sign-out go through django.contrib.auth (whose backends call the
identities services); the home page reads through selectors."""

from __future__ import annotations

from typing import Any

from django.contrib import auth
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from controlplane.identities.local_login import local_login_enabled
from controlplane.identities.oidc.library import oidc_config
from controlplane.identities.signin import identity_sign_out_record
from controlplane.web.pages import page
from controlplane.web.selectors import access_requests_pending_of, grants_active_of


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Home: the person's access now (grants counting down, pending requests), and for
    approvers how many items wait in their inbox."""
    groups = sorted(request.user.groups.values_list("name", flat=True))
    return page(request, "web/home.html", {"groups": groups, **_home_access(request)})


@require_GET
@login_required
def home_access(request: HttpRequest) -> HttpResponse:
    """Home's access sections alone, for polling (a request approved elsewhere shows up)."""
    return page(request, "web/home/access.html", _home_access(request))


def _home_access(request: HttpRequest) -> dict[str, Any]:
    return {
        "grants": grants_active_of(user=request.user),
        "pending": access_requests_pending_of(user=request.user),
    }


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """The sign-in page: the identity provider's button, and the local form when enabled."""
    if request.user.is_authenticated and request.method == "GET":
        return redirect(_next_url(request))
    form = AuthenticationForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not local_login_enabled():
            return HttpResponseForbidden("local sign-in is disabled")
        if form.is_valid():
            auth.login(request, form.get_user())
            return redirect(_next_url(request))
    return render(request, "web/login.html", {**login_context(request), "form": form})


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        identity_sign_out_record(user=request.user)
    auth.logout(request)
    return redirect("web:login")


def login_context(request: HttpRequest) -> dict[str, Any]:
    return {
        "oidc_enabled": oidc_config() is not None,
        "local_login_enabled": local_login_enabled(),
        "next": _next_url(request),
    }


def _next_url(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return wanted if wanted and safe else "/"
