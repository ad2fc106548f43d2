"""RFC 8693 token exchange: a service account trades proof of who it is for a short-lived
gateway token.

The subject token is either an access token from a trusted IdP (obtained with the OAuth
client-credentials grant; verified strictly by ``controlplane.federation``) or a Gatehouse
API key. Only service accounts exchange: people mint tokens through ``POST /tokens``.

On-behalf-of: an optional ``actor_token`` is the *person's own* IdP token (ID or access
token), verified exactly like a subject token, whose (iss, sub) is linked to a Gatehouse
person by their OIDC sign-in (``identities.ExternalIdentity``). Requiring the person's
token, rather than letting the agent or its API key assert a username, means the audit trail
can only name someone who actually took part.
(RFC 8693 calls that token ``actor_token``; Gatehouse's gateway token keeps the agent as
``sub`` and puts the person in ``act`` — see ``controlplane.identities.tokens``.)

Every exchange is audited, refused ones too (``token.exchange_refused`` with the reason,
never the token). Errors follow RFC 6749 §5.2 / RFC 8693 §2.2.2: an invalid or unacceptable
subject or actor token is ``invalid_request``, as RFC 8693 requires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from controlplane.audit.actions import ControlPlaneAction
from controlplane.audit.services import audit_event_record
from controlplane.federation.models import TrustedIssuer
from controlplane.federation.services import person_for_external, service_account_for_external
from controlplane.federation.verification import (
    ExternalTokenRejected,
    external_subject,
    external_token_verify,
)
from controlplane.identities.models import User
from controlplane.identities.services import api_key_authenticate
from controlplane.identities.tokens import MintedToken, gateway_token_mint

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
API_KEY_TOKEN_TYPE = "urn:gatehouse:api-key"
SUBJECT_TOKEN_TYPES = frozenset({ACCESS_TOKEN_TYPE, API_KEY_TOKEN_TYPE})
ACTOR_TOKEN_TYPES = frozenset({ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE, JWT_TOKEN_TYPE})
ISSUED_TOKEN_TYPE = ACCESS_TOKEN_TYPE
MAX_RECORDED_PARAMETER = 200  # refused requests' type fields are attacker-chosen text
PARAMETERS = (
    "grant_type",
    "subject_token",
    "subject_token_type",
    "actor_token",
    "actor_token_type",
    "requested_token_type",
)


class TokenExchangeRefused(Exception):
    """A refused exchange: ``error`` is the RFC 6749 §5.2 code, ``description`` safe to show."""

    def __init__(self, error: str, description: str, *, issuer: str = "") -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.issuer = issuer


@dataclass(frozen=True)
class ExchangedToken:
    minted: MintedToken
    identity: User
    on_behalf_of: User | None

    @property
    def expires_in(self) -> int:
        return max(0, int((self.minted.expires_at - timezone.now()).total_seconds()))


def token_exchange(*, parameters: Mapping[str, Any]) -> ExchangedToken:
    """Exchange the request's subject token (and optional actor token) for a gateway token.
    Raises TokenExchangeRefused, after recording the refusal."""
    try:
        request = _request_parse(parameters)
        identity, via = _subject_identity(request)
        person = _person_acted_for(request)
    except TokenExchangeRefused as refused:
        _refusal_record(parameters, refused)
        raise
    with transaction.atomic():
        minted = gateway_token_mint(actor=identity, identity=identity, on_behalf_of=person)
        audit_event_record(
            actor=identity,
            action=ControlPlaneAction.TOKEN_EXCHANGED,
            on_behalf_of=person,
            payload={**via, "jti": minted.jti, "expires_at": minted.expires_at.isoformat()},
        )
    return ExchangedToken(minted=minted, identity=identity, on_behalf_of=person)


def _request_parse(parameters: Mapping[str, Any]) -> dict[str, str]:
    request: dict[str, str] = {}
    for name in PARAMETERS:
        value = parameters.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str):  # a repeated form field, or a JSON non-string
            raise TokenExchangeRefused("invalid_request", f"{name} must be given once, as text")
        request[name] = value
    _request_check(request)
    return request


def _request_check(request: Mapping[str, str]) -> None:
    if "grant_type" not in request:
        raise TokenExchangeRefused("invalid_request", "grant_type is required")
    if request["grant_type"] != GRANT_TYPE:
        raise TokenExchangeRefused("unsupported_grant_type", f"grant_type must be {GRANT_TYPE}")
    for name in ("subject_token", "subject_token_type"):
        if name not in request:
            raise TokenExchangeRefused("invalid_request", f"{name} is required")
    if request["subject_token_type"] not in SUBJECT_TOKEN_TYPES:
        raise TokenExchangeRefused("unsupported_token_type", "subject_token_type not supported")
    if ("actor_token" in request) != ("actor_token_type" in request):
        raise TokenExchangeRefused(
            "invalid_request", "actor_token and actor_token_type go together"
        )
    if request.get("actor_token_type", ID_TOKEN_TYPE) not in ACTOR_TOKEN_TYPES:
        raise TokenExchangeRefused("unsupported_token_type", "actor_token_type not supported")
    if request.get("requested_token_type", ISSUED_TOKEN_TYPE) != ISSUED_TOKEN_TYPE:
        raise TokenExchangeRefused("invalid_request", f"only {ISSUED_TOKEN_TYPE} tokens are issued")


def _subject_identity(request: Mapping[str, str]) -> tuple[User, dict[str, str]]:
    token_type = request["subject_token_type"]
    if token_type == API_KEY_TOKEN_TYPE:
        identity, via = _api_key_identity(request["subject_token"])
    else:
        identity, via = _external_identity(request["subject_token"], what="subject token")
    if not identity.is_service_account:
        raise TokenExchangeRefused("invalid_request", "token exchange is for service accounts")
    return identity, {"subject_token_type": token_type, **via}


def _api_key_identity(presented: str) -> tuple[User, dict[str, str]]:
    api_key = api_key_authenticate(presented=presented)
    if api_key is None:
        raise TokenExchangeRefused("invalid_request", "subject token: invalid or revoked API key")
    return api_key.user, {"api_key_prefix": api_key.prefix}


def _external_identity(token: str, *, what: str) -> tuple[User, dict[str, str]]:
    issuer, claims = _external_verify(token, what=what)
    try:
        account = service_account_for_external(issuer=issuer, claims=claims)
    except ExternalTokenRejected as exc:
        raise TokenExchangeRefused(
            "invalid_request", f"{what}: {exc.reason}", issuer=issuer.name
        ) from None
    return account, {"issuer": issuer.name, "external_subject": external_subject(claims) or ""}


def _person_acted_for(request: Mapping[str, str]) -> User | None:
    if "actor_token" not in request:
        return None
    issuer, claims = _external_verify(request["actor_token"], what="actor token")
    try:
        return person_for_external(issuer=issuer, claims=claims)
    except ExternalTokenRejected as exc:
        raise TokenExchangeRefused(
            "invalid_request", f"actor token: {exc.reason}", issuer=issuer.name
        ) from None


def _external_verify(token: str, *, what: str) -> tuple[TrustedIssuer, dict[str, Any]]:
    try:
        return external_token_verify(token=token)
    except ExternalTokenRejected as exc:
        issuer = exc.issuer.name if exc.issuer else ""
        raise TokenExchangeRefused(
            "invalid_request", f"{what}: {exc.reason}", issuer=issuer
        ) from None


def _refusal_record(parameters: Mapping[str, Any], refused: TokenExchangeRefused) -> None:
    payload = {
        "error": refused.error,
        "reason": refused.description,
        "issuer": refused.issuer,
        **{
            name: parameters[name][:MAX_RECORDED_PARAMETER]
            for name in ("grant_type", "subject_token_type", "actor_token_type")
            if isinstance(parameters.get(name), str)
        },
    }
    with transaction.atomic():
        audit_event_record(
            actor=AnonymousUser(), action=ControlPlaneAction.TOKEN_EXCHANGE_REFUSED, payload=payload
        )
