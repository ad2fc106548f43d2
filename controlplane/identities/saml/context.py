"""A template context processor: ``saml_enabled`` for the sign-in page's SAML button, so
the web app's views need not know about SAML."""

from __future__ import annotations

from django.http import HttpRequest

from controlplane.identities.saml.config import saml_config


def saml_sign_in(request: HttpRequest) -> dict[str, bool]:
    return {"saml_enabled": saml_config() is not None}
