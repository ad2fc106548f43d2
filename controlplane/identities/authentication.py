"""``Authorization: ApiKey <key>`` and ``Authorization: Bearer <gateway token>`` for the
REST API."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from controlplane.identities.models import User
from controlplane.identities.services import api_key_authenticate
from controlplane.identities.tokens import GatewayTokenRejected, gateway_token_verify
from dataplane.contract import TOKEN_ISSUER


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "ApiKey"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None  # not ours: let the next authentication class try
        if len(parts) != 2:
            raise AuthenticationFailed("Authorization header must be 'ApiKey <key>'")
        try:
            presented = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("invalid API key") from None
        api_key = api_key_authenticate(presented=presented)
        if api_key is None:
            raise AuthenticationFailed("invalid or revoked API key")
        return api_key.user, api_key

    def authenticate_header(self, request: Request) -> str:
        # Makes unauthenticated requests answer 401 (with this challenge) instead of 403.
        return self.keyword


@dataclass(frozen=True)
class GatewayTokenCredential:
    """``request.auth`` of a request authenticated by a gateway token: who it acts for."""

    on_behalf_of: User | None


class GatewayTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <gateway token>``: the EdDSA JWT this control plane mints, so
    an AI agent holding only a gateway token can call the API (exec, MCP). Verified with
    the control plane's own keys (``gateway_token_verify``). A bearer token whose unverified
    issuer is not ours is left to the OIDC bearer class; one that claims to be ours is
    verified strictly and refused if anything is off."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != self.keyword.lower().encode():
            return None  # not ours: let the next authentication class try
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            return None
        if not _claims_our_issuer(token):
            return None
        try:
            identity, on_behalf_of = gateway_token_verify(token)
        except GatewayTokenRejected as rejected:
            raise AuthenticationFailed(f"gateway token rejected: {rejected}") from None
        return identity, GatewayTokenCredential(on_behalf_of=on_behalf_of)

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def _claims_our_issuer(token: str) -> bool:
    """Whether the token says it is a gateway token: its payload's ``iss`` (read without
    any check, for routing only; whatever claims to be ours is then verified strictly)."""
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return False
    return isinstance(claims, dict) and claims.get("iss") == TOKEN_ISSUER
