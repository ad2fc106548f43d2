"""Offline verification of gateway access tokens (JWT, EdDSA/Ed25519).

The control plane mints short-lived tokens and pushes the public keys to the agent in every
config snapshot, so the agent can verify a caller without asking the control plane. The
checks are deliberately narrow: one algorithm, keys chosen by ``kid`` from the pushed set
only, and every claim the gateway relies on required. A token is never logged.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.types import Options

from dataplane.contract import Actor, TokenKey

log = logging.getLogger("gatehouse.tokens")

ALGORITHM = "EdDSA"
MAX_TOKEN_BYTES = 8 * 1024
# Tokens whose signature and claims this verifier has already checked (a kept-alive HTTP
# connection presents its token on every request); their times are still checked each time.
VERIFIED_CACHE_SIZE = 1024
IDENTITY_KINDS = frozenset({"user", "service_account"})
ON_BEHALF_OF_KINDS = frozenset({"user"})
ACT_MEMBERS = frozenset({"sub", "kind", "name"})
REQUIRED_CLAIMS = ("iss", "aud", "sub", "kind", "name", "exp", "iat", "jti")

# Time claims are checked below against an injectable clock (PyJWT reads the wall clock
# itself); everything else is PyJWT's, with every switch spelled out.
_PYJWT_OPTIONS: Options = {
    "verify_signature": True,
    "verify_aud": True,
    "verify_iss": True,
    "verify_sub": True,
    "verify_jti": True,
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
    "strict_aud": False,
    "require": list(REQUIRED_CLAIMS),
}


@dataclass(frozen=True)
class VerifiedIdentity:
    """Who a verified token speaks for."""

    sub: str
    kind: str  # "user" | "service_account"
    name: str
    jti: str
    expires_at: datetime  # timezone-aware, UTC
    on_behalf_of: Actor | None = None  # the human the agent acts for (the ``act`` claim)


class InvalidToken(Exception):
    """A token that must not be accepted; ``reason`` is safe to show the caller and to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TokenVerifier:
    """Verifies gateway tokens against a fixed set of Ed25519 public keys.

    Keys that are not usable Ed25519 "EdDSA" keys are skipped with a warning, so tokens
    naming them fail closed instead of a bad key breaking the whole snapshot.
    """

    def __init__(
        self,
        keys: Sequence[TokenKey],
        *,
        issuer: str,
        audience: str,
        leeway_s: float = 5.0,
    ) -> None:
        self._keys: Mapping[str, Ed25519PublicKey] = _load_keys(keys)
        self._issuer = issuer
        self._audience = audience
        self._leeway_s = leeway_s
        # token -> (claims, identity) of tokens that passed every check. The keys,
        # issuer and audience are fixed for a verifier's life (a new snapshot makes a new
        # verifier), so a cached result stays true.
        self._verified: dict[str, tuple[Mapping[str, Any], VerifiedIdentity]] = {}

    @property
    def key_ids(self) -> frozenset[str]:
        """The ``kid`` values this verifier accepts."""
        return frozenset(self._keys)

    def verify(self, token: str, *, now: float | None = None) -> VerifiedIdentity:
        """Return the identity the token proves, or raise InvalidToken.

        ``now`` (seconds since the epoch) defaults to the wall clock.
        """
        now = time.time() if now is None else now
        cached = self._verified.get(token)
        if cached is None:
            return self._checked(token, now)
        _check_times(cached[0], now, self._leeway_s)
        return cached[1]

    def _checked(self, token: str, now: float) -> VerifiedIdentity:
        """Every check, the result remembered for the token's next presentation."""
        if len(token.encode("utf-8", "surrogatepass")) > MAX_TOKEN_BYTES:
            raise InvalidToken("token too large")
        claims = self._decode(token, self._key_for(_header(token)))
        _check_times(claims, now, self._leeway_s)
        identity = _identity(claims)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            del self._verified[next(iter(self._verified))]  # the oldest
        self._verified[token] = (claims, identity)
        return identity

    def _key_for(self, header: Mapping[str, Any]) -> Ed25519PublicKey:
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("token algorithm not accepted")
        key = self._keys.get(header["kid"]) if isinstance(header.get("kid"), str) else None
        if key is None:
            raise InvalidToken("token signed with an unknown key")
        return key

    def _decode(self, token: str, key: Ed25519PublicKey) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options=_PYJWT_OPTIONS,
            )
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("token from an unknown issuer") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("token signature is invalid") from None
        except jwt.InvalidTokenError:
            raise InvalidToken("token is malformed") from None
        return claims


def _load_keys(keys: Sequence[TokenKey]) -> dict[str, Ed25519PublicKey]:
    loaded: dict[str, Ed25519PublicKey] = {}
    for key in keys:
        public_key = _load_key(key)
        if public_key is not None:
            loaded[key.kid] = public_key
    return loaded


def _load_key(key: TokenKey) -> Ed25519PublicKey | None:
    if key.alg != ALGORITHM:
        log.warning("ignoring token key %r: algorithm %r is not %s", key.kid, key.alg, ALGORITHM)
        return None
    try:
        public_key = load_pem_public_key(key.public_key_pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError):
        log.warning("ignoring token key %r: not a readable PEM public key", key.kid)
        return None
    if not isinstance(public_key, Ed25519PublicKey):
        log.warning("ignoring token key %r: not an Ed25519 key", key.kid)
        return None
    return public_key


def _header(token: str) -> dict[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise InvalidToken("token is malformed") from None


def _check_times(claims: Mapping[str, Any], now: float, leeway_s: float) -> None:
    exp, iat = claims["exp"], claims["iat"]
    for value in (exp, iat, claims.get("nbf", 0)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise InvalidToken("token time claims must be finite numbers")
    if exp <= now - leeway_s:
        raise InvalidToken("token expired")
    if iat > now + leeway_s:
        raise InvalidToken("token issued in the future")
    if "nbf" in claims and claims["nbf"] > now + leeway_s:
        raise InvalidToken("token not valid yet")


def _identity(claims: Mapping[str, Any]) -> VerifiedIdentity:
    sub, kind, name, jti = (claims[c] for c in ("sub", "kind", "name", "jti"))
    if not all(isinstance(value, str) for value in (sub, kind, name, jti)) or not sub or not jti:
        raise InvalidToken("token identity claims are malformed")
    if kind not in IDENTITY_KINDS:
        raise InvalidToken("token identity kind not accepted")
    try:
        expires_at = datetime.fromtimestamp(claims["exp"], tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidToken("token expiry out of range") from None
    return VerifiedIdentity(
        sub=sub,
        kind=kind,
        name=name,
        jti=jti,
        expires_at=expires_at,
        on_behalf_of=_on_behalf_of(claims.get("act"), agent_sub=sub),
    )


def _on_behalf_of(act: Any, *, agent_sub: str) -> Actor | None:
    """The principal named by an ``act`` claim, checked strictly (no nested chains)."""
    if act is None:
        return None
    if not isinstance(act, dict) or set(act) != ACT_MEMBERS:
        raise InvalidToken("token act claim is malformed")
    sub, kind, name = act["sub"], act["kind"], act["name"]
    if not all(isinstance(value, str) and value for value in (sub, kind, name)):
        raise InvalidToken("token act claim is malformed")
    if kind not in ON_BEHALF_OF_KINDS:
        raise InvalidToken("token act claim kind not accepted")
    if sub == agent_sub:
        raise InvalidToken("token acts on behalf of itself")
    return Actor(sub=sub, kind=kind, name=name)
