"""OIDC sign-in configuration from the environment (read by ``controlplane.settings``).

Imports no models: settings load this before Django is set up.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from controlplane.config.env import env_choice, env_int, env_secret, env_str

# Asymmetric signatures only: with HS256 the client secret would also be a signing key, and
# "none" is never acceptable.
SIGNING_ALGORITHMS = ("RS256", "ES256")
DEFAULT_SCOPES = "openid email profile"

# Endpoints that may be given explicitly instead of being discovered.
ENDPOINT_VARIABLES = {
    "authorization_endpoint": "GATEHOUSE_OIDC_AUTHORIZATION_ENDPOINT",
    "token_endpoint": "GATEHOUSE_OIDC_TOKEN_ENDPOINT",
    "userinfo_endpoint": "GATEHOUSE_OIDC_USERINFO_ENDPOINT",
    "jwks_uri": "GATEHOUSE_OIDC_JWKS_URI",
}


@dataclass(frozen=True)
class OidcConfig:
    """One OpenID provider and this control plane's registration there."""

    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    groups_claim: str
    signing_algorithm: str
    timeout_seconds: int
    endpoints: dict[str, str]  # explicit ones; the rest come from discovery

    def __repr__(self) -> str:  # keep the secret out of tracebacks and debug pages
        return f"OidcConfig(issuer={self.issuer!r}, client_id={self.client_id!r})"


def oidc_config_from_env() -> OidcConfig | None:
    """GATEHOUSE_OIDC_*; None (sign-in with OIDC disabled) when no issuer is set."""
    issuer = env_str("GATEHOUSE_OIDC_ISSUER").strip()
    if not issuer:
        return None
    _check_url("GATEHOUSE_OIDC_ISSUER", issuer)
    scopes = " ".join(env_str("GATEHOUSE_OIDC_SCOPES", DEFAULT_SCOPES).split())
    if "openid" not in scopes.split():
        raise ImproperlyConfigured(f"GATEHOUSE_OIDC_SCOPES must include openid, not {scopes!r}")
    return OidcConfig(
        issuer=issuer,
        client_id=_required("GATEHOUSE_OIDC_CLIENT_ID", env_str("GATEHOUSE_OIDC_CLIENT_ID")),
        client_secret=env_secret("GATEHOUSE_OIDC_CLIENT_SECRET", required=True),
        scopes=scopes,
        groups_claim=env_str("GATEHOUSE_OIDC_GROUPS_CLAIM", "groups").strip(),
        signing_algorithm=env_choice("GATEHOUSE_OIDC_SIGNING_ALG", "RS256", SIGNING_ALGORITHMS),
        timeout_seconds=env_int("GATEHOUSE_OIDC_TIMEOUT_SECONDS", 10, minimum=1, maximum=120),
        endpoints=_explicit_endpoints(),
    )


def _explicit_endpoints() -> dict[str, str]:
    endpoints = {}
    for key, variable in ENDPOINT_VARIABLES.items():
        value = env_str(variable).strip()
        if value:
            _check_url(variable, value)
            endpoints[key] = value
    return endpoints


def _required(name: str, value: str) -> str:
    if not value.strip():
        raise ImproperlyConfigured(f"{name} is required when GATEHOUSE_OIDC_ISSUER is set")
    return value.strip()


def _check_url(name: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ImproperlyConfigured(f"{name} must be an http(s) URL, not {value!r}")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        # Tokens and the client secret cross this connection.
        raise ImproperlyConfigured(f"{name} must use https (plain http only on loopback)")
