"""``Authorization: Bearer <token>`` for people: a token from the configured OpenID provider
(the command line's ID token, or an access token for the configured API audience).

The checks are the browser sign-in's (``oidc.backend.OidcBackend.verify_token``): the one
configured asymmetric algorithm, a key from the provider's JWKS named by ``kid``, ``iss``
exactly the issuer, ``aud`` one of ours, ``exp``/``iat`` present and valid within a minute
of skew. Nonces don't apply: the token was not minted for a browser callback.

Accepted audiences: the control plane's own client id and the command line's public client
id (ID tokens), and ``GATEHOUSE_OIDC_API_AUDIENCE`` (access tokens). A person is found only
by (issuer, ``sub``) through ``ExternalIdentity``, which their first browser sign-in records;
a bearer token never creates a user, and never matches by username or email. Service
accounts use API keys or the token exchange, not this.
"""

from __future__ import annotations

from typing import Any

import jwt
from django.conf import settings
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from controlplane.identities.models import ExternalIdentity, User
from controlplane.identities.oidc.backend import CLOCK_SKEW_SECONDS
from controlplane.identities.oidc.config import OidcConfig
from controlplane.identities.oidc.keys import ProviderKeyRefused, provider_signing_key
from controlplane.identities.oidc.library import oidc_config

MAX_TOKEN_BYTES = 8192


class BearerTokenRejected(Exception):
    """The bearer token is not an acceptable token for a known person; the message is safe
    to show (it never contains the token)."""


class OidcBearerAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None  # not ours: let the next authentication class try
        config = oidc_config()
        if config is None:
            raise AuthenticationFailed("bearer tokens need OIDC sign-in, which is not configured")
        if len(parts) != 2:
            raise AuthenticationFailed("Authorization header must be 'Bearer <token>'")
        try:
            person = oidc_bearer_person(token=parts[1].decode("ascii"), config=config)
        except UnicodeDecodeError:
            raise AuthenticationFailed("invalid bearer token") from None
        except BearerTokenRejected as rejected:
            raise AuthenticationFailed(str(rejected)) from None
        return person, None

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def oidc_bearer_person(*, token: str, config: OidcConfig) -> User:
    """The active person whose verified provider token this is; raises BearerTokenRejected."""
    claims = oidc_bearer_claims(token=token, config=config)
    link = (
        ExternalIdentity.objects.select_related("user")
        .filter(issuer=config.issuer, subject=claims["sub"])
        .first()
    )
    person = link.user if link is not None else None
    if person is None or person.kind != User.Kind.USER or not person.is_active:
        raise BearerTokenRejected(
            "the token names no known person: sign in once in the browser first"
        )
    return person


def oidc_bearer_claims(*, token: str, config: OidcConfig) -> dict[str, Any]:
    """The token's claims after the strict checks in the module docstring."""
    if len(token) > MAX_TOKEN_BYTES:
        raise BearerTokenRejected("the bearer token is too large")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise BearerTokenRejected("the bearer token is not a JWT") from None
    if header.get("alg") != config.signing_algorithm:
        raise BearerTokenRejected(f"the bearer token is not signed with {config.signing_algorithm}")
    key = _signing_key(config, header.get("kid"))
    audiences = accepted_audiences(config)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[config.signing_algorithm],
            audience=sorted(audiences),
            issuer=config.issuer,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
    except jwt.PyJWTError as exc:
        raise BearerTokenRejected(f"bearer token rejected: {exc}") from None
    _authorized_party_check(claims, audiences)
    return claims


def accepted_audiences(config: OidcConfig) -> set[str]:
    extra = (settings.GATEHOUSE_OIDC_CLI_CLIENT_ID, settings.GATEHOUSE_OIDC_API_AUDIENCE)
    return {config.client_id, *(audience for audience in extra if audience)}


def _authorized_party_check(claims: dict[str, Any], audiences: set[str]) -> None:
    # An ID token for several audiences was asked for by its azp, which must be one of our
    # clients (OpenID Connect Core 1.0 §3.1.3.7 items 4-5), or another client's token would
    # pass. An access token only has to name our API among its audiences (RFC 9068 §4).
    audience = claims["aud"]
    several = isinstance(audience, list) and len(audience) > 1
    api_audience = settings.GATEHOUSE_OIDC_API_AUDIENCE
    for_our_api = bool(api_audience) and several and api_audience in audience
    if several and not for_our_api and claims.get("azp") not in audiences:
        raise BearerTokenRejected("bearer token for several audiences without our azp")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise BearerTokenRejected("bearer token without a subject")


def _signing_key(config: OidcConfig, kid: object) -> Any:
    try:
        return provider_signing_key(config, kid)
    except ProviderKeyRefused as refused:
        raise BearerTokenRejected(f"bearer token refused: {refused}") from None
