"""What the provider's token endpoint hands the command line, whichever grant asked for it
(device code, authorization code, refresh token), and how it is stored in the login."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any


class SignInError(Exception):
    """A sign-in (or its renewal) did not complete; the message says why and what to do."""


@dataclass(frozen=True)
class ProviderTokens:
    id_token: str = field(repr=False)
    access_token: str = field(repr=False)
    expires_at: int  # the ID token's exp: the bearer token the control plane checks
    refresh_token: str = field(default="", repr=False)  # only when offline_access was granted

    def as_login(self, *, issuer: str, client_id: str) -> dict[str, Any]:
        login = {
            "kind": "oidc",
            "issuer": issuer,
            "client_id": client_id,
            "id_token": self.id_token,
            "access_token": self.access_token,
            "expires_at": self.expires_at,
        }
        return login | ({"refresh_token": self.refresh_token} if self.refresh_token else {})


def tokens_from(answer: Any) -> ProviderTokens:
    """The tokens in a token endpoint's answer (RFC 6749 §5.1); an ID token is required."""
    if not isinstance(answer, dict) or not answer.get("id_token"):
        raise SignInError("the provider issued no ID token (is the openid scope allowed?)")
    id_token = str(answer["id_token"])
    return ProviderTokens(
        id_token=id_token,
        access_token=str(answer.get("access_token", "")),
        expires_at=jwt_expiry(id_token),
        refresh_token=str(answer.get("refresh_token") or ""),
    )


def jwt_expiry(token: str) -> int:
    """The ``exp`` of a JWT, read without verifying it: only to tell the person when to sign
    in again. (The token came straight from the provider's token endpoint; the control plane
    verifies it on every request.)"""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return int(claims["exp"])
    except (IndexError, KeyError, TypeError, ValueError):
        raise SignInError("the provider's ID token is not a JWT with an expiry") from None
