"""The three SAML endpoints. Thin: the service provider verifies, the backend signs in.

The assertion consumer service is exempt from CSRF checks: the IdP's page posts to it from
another origin, so there is no token to check. What stands in for it is InResponseTo: a
Response is accepted only if it answers an AuthnRequest that this browser's session started,
and each request id is used once.

That session arrives only if the browser sends its cookie, and browsers don't send a
``SameSite=Lax`` cookie (Django's default) with a POST from another site, which is exactly
what the IdP's page makes. Rather than weaken the session cookie to ``SameSite=None``, the
ACS answers such a cookieless POST with a page that posts the same form again, now from this
site, so the cookie comes along ("continue" below; once only).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import auth, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from controlplane.identities.saml.config import SamlConfig, saml_config
from controlplane.identities.saml.sp import (
    IdpUnavailable,
    ResponseRefused,
    ServiceProvider,
    service_provider,
    sp_metadata_xml,
)

logger = logging.getLogger(__name__)
security_log = logging.getLogger("django.security.saml")

OUTSTANDING_KEY = "gatehouse_saml_outstanding"
CONTINUED = "gatehouse_continued"
MAX_OUTSTANDING = 5  # sign-ins started in other tabs; the oldest is forgotten first
UNAVAILABLE = "The identity provider can't be reached right now. Try again in a minute."
FAILED = "Sign-in did not complete. Start again from this page."


@require_GET
def metadata(request: HttpRequest) -> HttpResponse:
    config = saml_config()
    if config is None:
        return HttpResponse("SAML sign-in is not configured", status=404)
    xml = sp_metadata_xml(config, acs_url=_acs_url(request))
    return HttpResponse(xml, content_type="application/samlmetadata+xml")


@require_GET
def login(request: HttpRequest) -> HttpResponse:
    """GET /saml/login/?next=… → the IdP's single sign-on service, with an AuthnRequest."""
    config = saml_config()
    if config is None:
        return redirect("web:login")
    sp = _service_provider(request, config)
    if sp is None:
        return _error_page(request, UNAVAILABLE, status=503)
    next_path = local_path(request.GET.get("next"))
    authn = sp.authn_request(relay_state=next_path)
    outstanding = _outstanding(request)
    outstanding[authn.request_id] = next_path
    request.session[OUTSTANDING_KEY] = dict(list(outstanding.items())[-MAX_OUTSTANDING:])
    return HttpResponseRedirect(authn.redirect_url)


@csrf_exempt
@require_POST
def assertion_consumer_service(request: HttpRequest) -> HttpResponse:
    """POST /saml/acs/ with SAMLResponse and RelayState, from the IdP's page."""
    config = saml_config()
    if config is None:
        return redirect("web:login")
    if settings.SESSION_COOKIE_NAME not in request.COOKIES and CONTINUED not in request.POST:
        return _continue_page(request)
    sp = _service_provider(request, config)
    if sp is None:
        return _error_page(request, UNAVAILABLE, status=502)
    outstanding = _outstanding(request)
    try:
        assertion = sp.verified_assertion(
            request.POST.get("SAMLResponse", ""), outstanding=outstanding
        )
    except ResponseRefused as refused:
        security_log.warning("SAML response refused: %s", refused.reason)
        return _error_page(request, FAILED, status=400)
    outstanding.pop(assertion.request_id, None)  # used once: a replay finds it gone
    request.session[OUTSTANDING_KEY] = outstanding
    user = auth.authenticate(request, saml_assertion=assertion, saml_config=config)
    if user is None:
        refusal = getattr(request, "gatehouse_sign_in_refusal", "")
        messages.error(request, f"Sign-in refused: {refusal}." if refusal else FAILED)
        return redirect("web:login")
    auth.login(request, user)
    return HttpResponseRedirect(local_path(request.POST.get("RelayState")))


def local_path(value: str | None) -> str:
    """``value`` if it is a path on this site (no scheme, no host), else ``/``."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if not url_has_allowed_host_and_scheme(value, allowed_hosts=None):
        return "/"
    return value


def _outstanding(request: HttpRequest) -> dict[str, str]:
    stored = request.session.get(OUTSTANDING_KEY)
    return dict(stored) if isinstance(stored, dict) else {}


def _service_provider(request: HttpRequest, config: SamlConfig) -> ServiceProvider | None:
    try:
        return service_provider(config, acs_url=_acs_url(request))
    except IdpUnavailable as exc:
        logger.error("SAML sign-in unavailable: %s", exc)
        return None


def _acs_url(request: HttpRequest) -> str:
    # Built from the request (the host is checked against ALLOWED_HOSTS), so the SP works
    # under every name the control plane is served as without another setting.
    return request.build_absolute_uri(reverse("saml:acs"))


def _error_page(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    return render(request, "identities/sign_in_error.html", {"error": message}, status=status)


def _continue_page(request: HttpRequest) -> HttpResponse:
    page = format_html(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signing in</title>'
        '</head><body onload="document.forms[0].submit()"><form method="post" action="{}">'
        '<input type="hidden" name="SAMLResponse" value="{}">'
        '<input type="hidden" name="RelayState" value="{}">'
        '<input type="hidden" name="{}" value="1">'
        '<p><button type="submit">Continue signing in</button></p></form></body></html>',
        reverse("saml:acs"),
        request.POST.get("SAMLResponse", ""),
        request.POST.get("RelayState", ""),
        CONTINUED,
    )
    response = HttpResponse(page)
    response["Cache-Control"] = "no-store"  # it holds the assertion
    return response
