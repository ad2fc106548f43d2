"""Who is calling the MCP server: ``Authorization: Bearer <token>`` on every request.

Two kinds of bearer token are accepted:

- a gateway token (the EdDSA JWT the control plane mints; ``identities.tokens.
  gateway_token_verify`` checks it with the control plane's own keys, as agents do); its
  ``act`` claim names the person an AI agent acts for;
- an access token from a trusted identity provider, of a client bound to a service account
  (``federation``: the same strict verification and ``ServiceAccountBinding`` lookup as the
  token exchange).

Both end in an active identity, or the request is refused (401, ``WWW-Authenticate:
Bearer``). The token's unverified ``iss`` only chooses which verifier runs; that verifier
then checks everything, so a token claiming either issuer gains nothing by it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import jwt

from controlplane.federation.services import service_account_for_external
from controlplane.federation.verification import ExternalTokenRejected, external_token_verify
from controlplane.identities.models import User
from controlplane.identities.tokens import GatewayTokenRejected, gateway_token_verify
from dataplane.contract import TOKEN_ISSUER

logger = logging.getLogger(__name__)


class CallerRejected(Exception):
    """No acceptable bearer token; the message is safe to show (never the token)."""


@dataclass(frozen=True)
class Caller:
    """An authenticated MCP caller: the identity whose grants apply, the person it acts
    for (if any), and how it proved who it is (``gateway_token`` or ``idp:<issuer>``)."""

    identity: User
    on_behalf_of: User | None
    via: str

    @property
    def principal(self) -> str:
        """Who owns an MCP session: a session opened by one caller is not another's."""
        person = self.on_behalf_of.pk if self.on_behalf_of is not None else ""
        return f"{self.identity.pk}/{person}"


def mcp_caller_authenticate(*, token: str) -> Caller:
    """The caller ``token`` proves; raises CallerRejected."""
    if _issued_by_gatehouse(token):
        try:
            identity, person = gateway_token_verify(token)
        except GatewayTokenRejected as rejected:
            raise CallerRejected(f"gateway token rejected: {rejected}") from None
        return Caller(identity=identity, on_behalf_of=person, via="gateway_token")
    try:
        issuer, claims = external_token_verify(token=token)
        account = service_account_for_external(issuer=issuer, claims=claims)
    except ExternalTokenRejected as rejected:
        raise CallerRejected(f"bearer token rejected: {rejected.reason}") from None
    return Caller(identity=account, on_behalf_of=None, via=f"idp:{issuer.name}")


def _issued_by_gatehouse(token: str) -> bool:
    """Whether the (still unverified) token says Gatehouse issued it: only to choose the
    verifier; each verifier then checks everything itself."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return False
    return isinstance(claims, dict) and claims.get("iss") == TOKEN_ISSUER
