"""mozilla-django-oidc's settings, answered from Gatehouse's configuration.

The library reads ``OIDC_*`` names from Django settings; its Gatehouse subclasses read them
here instead, so the endpoints can come from discovery (lazily) and settings.py holds only
Gatehouse's own variables.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from mozilla_django_oidc.utils import import_from_settings

from controlplane.identities.oidc.config import OidcConfig
from controlplane.identities.oidc.discovery import provider_endpoints

_ENDPOINT_SETTINGS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}


def oidc_config() -> OidcConfig | None:
    """The configured provider, or None when OIDC sign-in is off."""
    config: OidcConfig | None = settings.GATEHOUSE_OIDC
    return config


def library_setting(attr: str, *default: Any) -> Any:
    """The value mozilla-django-oidc asks for under ``attr``."""
    config = oidc_config()
    if config is not None:
        if attr in _ENDPOINT_SETTINGS:
            return provider_endpoints(config).get(_ENDPOINT_SETTINGS[attr])
        fixed = _fixed_settings(config)
        if attr in fixed:
            return fixed[attr]
    return import_from_settings(attr, *default)


def _fixed_settings(config: OidcConfig) -> dict[str, Any]:
    return {
        "OIDC_RP_CLIENT_ID": config.client_id,
        "OIDC_RP_CLIENT_SECRET": config.client_secret,
        "OIDC_RP_SCOPES": config.scopes,
        "OIDC_RP_SIGN_ALGO": config.signing_algorithm,
        "OIDC_RP_IDP_SIGN_KEY": None,
        "OIDC_TIMEOUT": config.timeout_seconds,
        "OIDC_VERIFY_SSL": True,
        "OIDC_USE_NONCE": True,
        "OIDC_USE_PKCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "OIDC_ALLOW_UNSECURED_JWT": False,
        "OIDC_VERIFY_KID": True,
        # client_secret_basic: the default method in RFC 6749 and OIDC's client registration.
        "OIDC_TOKEN_USE_BASIC_AUTH": True,
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_STORE_ID_TOKEN": False,
        "OIDC_AUTHENTICATION_CALLBACK_URL": "oidc:callback",
        "LOGIN_REDIRECT_URL_FAILURE": "web:login",
    }
