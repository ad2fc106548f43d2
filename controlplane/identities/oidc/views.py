"""The two OIDC endpoints: start a sign-in (redirect to the provider) and its callback.

When sign-in can't proceed both answer with a page that says so and links back to the login
page; a callback whose state this browser never started is answered 400.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from django.contrib import messages
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from controlplane.identities.oidc.discovery import ProviderUnavailable
from controlplane.identities.oidc.library import library_setting, oidc_config

logger = logging.getLogger(__name__)
security_log = logging.getLogger("django.security.oidc")

UNAVAILABLE = "The identity provider can't be reached right now. Try again in a minute."
FAILED = "Sign-in did not complete. Start again from this page."


class OidcSignInView(OIDCAuthenticationRequestView):
    """GET /oidc/authenticate/?next=… → the provider's authorization endpoint."""

    get_settings = staticmethod(library_setting)

    def __init__(self, **kwargs: Any) -> None:
        # Skip the library's __init__: it would discover the provider before we can answer.
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if oidc_config() is None:
            return redirect("web:login")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = library_setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
            self.OIDC_RP_CLIENT_ID = library_setting("OIDC_RP_CLIENT_ID")
        except ProviderUnavailable as exc:
            logger.error("OIDC sign-in cannot start: %s", exc)
            return _login_page_with_error(request, UNAVAILABLE, status=503)
        response: HttpResponse = super().get(request)
        return response


class OidcCallbackView(OIDCAuthenticationCallbackView):
    """GET /oidc/callback/?code=…&state=… from the provider."""

    get_settings = staticmethod(library_setting)

    def get(self, request: HttpRequest) -> HttpResponse:
        if oidc_config() is None:
            return redirect("web:login")
        try:
            response: HttpResponse = super().get(request)
        except SuspiciousOperation as exc:
            # An unknown state (forged, replayed, or from another browser), a bad ID token.
            security_log.warning("OIDC callback refused: %s", exc)
            return _login_page_with_error(request, FAILED, status=400)
        except (ProviderUnavailable, requests.RequestException) as exc:
            logger.error("OIDC callback failed talking to the provider: %s", exc)
            return _login_page_with_error(request, UNAVAILABLE, status=502)
        return response

    def login_failure(self) -> HttpResponse:
        refusal = getattr(self.request, "gatehouse_sign_in_refusal", "")
        messages.error(self.request, f"Sign-in refused: {refusal}." if refusal else FAILED)
        return HttpResponseRedirect(self.failure_url)


def _login_page_with_error(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    return render(request, "identities/sign_in_error.html", {"error": message}, status=status)
