"""Strict verification of tokens issued by a trusted external IdP.

JWTs: the header's ``alg`` must be one of the issuer's allowed asymmetric algorithms and
fit the type of the key its ``kid`` names in the issuer's JWKS; ``iss`` must match exactly,
``aud`` must contain the expected audience, and ``exp``/``nbf``/``iat`` are checked with the
issuer's leeway. Opaque tokens go to the one issuer configured for RFC 7662 introspection
and must come back ``active: true`` with the same checks on the returned claims.
A token is never logged or stored; rejection reasons are safe to show the caller.
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import jwt

from controlplane.crypto import decrypt
from controlplane.federation import jwks
from controlplane.federation.fetch import FetchFailed, json_post_form
from controlplane.federation.jwks import UnknownKey, public_key_for, trusted_issuer_keys
from controlplane.federation.models import ALLOWED_ALGORITHMS, TrustedIssuer

MAX_TOKEN_BYTES = 8 * 1024
REQUIRED_JWT_CLAIMS = ("iss", "aud", "exp")


class ExternalTokenRejected(Exception):
    """An external token that must not be accepted; ``reason`` is safe to show and log."""

    def __init__(self, reason: str, *, issuer: TrustedIssuer | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.issuer = issuer


def external_token_verify(*, token: str) -> tuple[TrustedIssuer, dict[str, Any]]:
    """The trusted issuer of ``token`` and its verified claims; raises ExternalTokenRejected."""
    if len(token.encode("utf-8", "surrogatepass")) > MAX_TOKEN_BYTES:
        raise ExternalTokenRejected("token too large")
    if token.count(".") == 2:
        issuer, claims = _jwt_verify(token)
    else:
        issuer, claims = _introspect(token)
    if external_subject(claims) is None:
        raise ExternalTokenRejected("token names no subject (sub or client_id)", issuer=issuer)
    return issuer, claims


def external_subject(claims: Mapping[str, Any]) -> str | None:
    """Who the token is about: ``sub``, or ``client_id`` for a token without ``sub``."""
    subject = claims.get("sub") if "sub" in claims else claims.get("client_id")
    return subject if isinstance(subject, str) and subject else None


def _jwt_verify(token: str) -> tuple[TrustedIssuer, dict[str, Any]]:
    header, unverified = _unverified_parts(token)
    algorithm = header.get("alg")
    if algorithm not in ALLOWED_ALGORITHMS:
        raise ExternalTokenRejected("token algorithm not accepted")
    issuer = _issuer_named(unverified.get("iss"))
    if algorithm not in issuer.algorithms:
        raise ExternalTokenRejected("token algorithm not accepted for its issuer", issuer=issuer)
    key = _signing_key(issuer, header.get("kid"), str(algorithm))
    return issuer, _decoded(token, issuer, key, str(algorithm))


def _unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise ExternalTokenRejected("token is malformed") from None
    return header, claims


def _issuer_named(iss: Any) -> TrustedIssuer:
    # Exact match: no trailing-slash or case folding, which would let one issuer's tokens
    # pass as another's.
    issuer = (
        TrustedIssuer.objects.active().filter(issuer=iss).first() if isinstance(iss, str) else None
    )
    if issuer is None:
        raise ExternalTokenRejected("token from an untrusted issuer")
    return issuer


def _signing_key(issuer: TrustedIssuer, kid: Any, algorithm: str) -> Any:
    if not isinstance(kid, str) or not kid:
        raise ExternalTokenRejected("token names no signing key (kid)", issuer=issuer)
    try:
        return public_key_for(jwks.JWKS.jwk_for(trusted_issuer_keys(issuer), kid), algorithm)
    except UnknownKey:
        raise ExternalTokenRejected("token signed with an unknown key", issuer=issuer) from None
    except FetchFailed as exc:
        raise ExternalTokenRejected(f"issuer keys unavailable: {exc}", issuer=issuer) from None
    except ValueError as exc:
        raise ExternalTokenRejected(f"token signing key refused: {exc}", issuer=issuer) from None


def _decoded(token: str, issuer: TrustedIssuer, key: Any, algorithm: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key,
            algorithms=[algorithm],
            audience=issuer.audience,
            issuer=issuer.issuer,
            leeway=issuer.leeway_seconds,
            options={"require": list(REQUIRED_JWT_CLAIMS), "strict_aud": False},
        )
    except jwt.InvalidTokenError as exc:
        raise ExternalTokenRejected(_jwt_reason(exc), issuer=issuer) from None
    return claims


def _jwt_reason(exc: jwt.InvalidTokenError) -> str:
    reasons: list[tuple[type[jwt.InvalidTokenError], str]] = [
        (jwt.MissingRequiredClaimError, "token lacks a required claim"),
        (jwt.ExpiredSignatureError, "token expired"),
        (jwt.ImmatureSignatureError, "token not valid yet"),
        (jwt.InvalidAudienceError, "token is for another audience"),
        (jwt.InvalidIssuerError, "token from an untrusted issuer"),
        (jwt.InvalidSignatureError, "token signature is invalid"),
    ]
    for error_type, reason in reasons:
        if isinstance(exc, error_type):
            return reason
    return "token is malformed"


def _introspect(token: str) -> tuple[TrustedIssuer, dict[str, Any]]:
    issuer = TrustedIssuer.objects.active().exclude(introspection_url="").first()
    if issuer is None:
        raise ExternalTokenRejected("opaque tokens are not accepted (no introspection issuer)")
    body = urlencode({"token": token, "token_type_hint": "access_token"}).encode("ascii")
    try:
        answer = json_post_form(
            issuer.introspection_url, body, authorization=_client_basic_auth(issuer)
        )
    except FetchFailed as exc:
        raise ExternalTokenRejected(f"token introspection failed: {exc}", issuer=issuer) from None
    _introspected_check(issuer, answer, now=time.time())
    return issuer, answer


def _client_basic_auth(issuer: TrustedIssuer) -> str:
    # RFC 6749 §2.3.1: form-encode the id and secret before joining them.
    secret = decrypt(issuer.introspection_client_secret_ciphertext)
    pair = f"{quote(issuer.introspection_client_id, safe='')}:{quote(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


def _introspected_check(issuer: TrustedIssuer, answer: Mapping[str, Any], *, now: float) -> None:
    def refuse(reason: str) -> ExternalTokenRejected:
        return ExternalTokenRejected(reason, issuer=issuer)

    if answer.get("active") is not True:
        raise refuse("token is not active")
    if "iss" in answer and answer["iss"] != issuer.issuer:
        raise refuse("token from an untrusted issuer")
    audience = answer.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or issuer.audience not in audiences:
        raise refuse("token is for another audience")
    _introspected_times_check(answer, now=now, leeway=issuer.leeway_seconds, refuse=refuse)


def _introspected_times_check(
    answer: Mapping[str, Any],
    *,
    now: float,
    leeway: float,
    refuse: Callable[[str], ExternalTokenRejected],
) -> None:
    exp, nbf, iat = (_timestamp(answer, name) for name in ("exp", "nbf", "iat"))
    if exp is None:
        raise refuse("token lacks a valid expiry")
    if ("nbf" in answer and nbf is None) or ("iat" in answer and iat is None):
        raise refuse("token time claims are malformed")
    if exp <= now - leeway:
        raise refuse("token expired")
    if (nbf or 0) > now + leeway or (iat or 0) > now + leeway:
        raise refuse("token not valid yet")


def _timestamp(answer: Mapping[str, Any], name: str) -> float | None:
    value = answer.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)
