"""Issuers' signing keys (JWKS), fetched over HTTPS and cached in the process.

A key set is kept for ``JWKS_TTL_SECONDS``. A token naming a ``kid`` the cached set lacks
(the IdP rotated its keys) triggers one refetch, but at most once per
``REFETCH_MIN_INTERVAL_SECONDS`` per issuer, so a flood of tokens with made-up kids cannot
turn the control plane into a load generator against the IdP.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from controlplane.federation.fetch import FetchFailed, json_get
from controlplane.federation.models import TrustedIssuer

JWKS_TTL_SECONDS = 300.0
REFETCH_MIN_INTERVAL_SECONDS = 15.0
DISCOVERY_PATH = "/.well-known/openid-configuration"

# Which key a signature algorithm may be verified with. Checking this ourselves (not only
# trusting the library) is what rules out RS/HS confusion: an RSA public key is never
# accepted as an HMAC secret, and an ES256 header never selects an RSA key.
_EC_CURVES: dict[str, type[ec.EllipticCurve]] = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1}
_RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256"})


class UnknownKey(Exception):
    """The issuer publishes no usable key with the token's ``kid``."""


@dataclass(frozen=True)
class _KeySet:
    keys: dict[str, dict[str, Any]]  # kid -> JWK
    fetched_at: float
    retry_after: float = 0.0  # after a failed fetch: no new attempt before this
    error: str = ""  # why the last fetch failed, while it keeps failing


class JwksCache:
    """Key sets per issuer; thread-safe (sync API views run on worker threads). Each issuer
    has its own lock, held across its fetch: concurrent tokens wait for one fetch instead of
    each starting one, and a slow IdP holds up only its own tokens."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sets: dict[tuple[int, str], _KeySet] = {}
        self._locks: dict[tuple[int, str], threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def clear(self) -> None:
        with self._locks_lock:
            self._sets.clear()

    def jwk_for(self, issuer: TrustedIssuer, kid: str) -> dict[str, Any]:
        """The JWK ``kid`` of ``issuer``; raises UnknownKey or FetchFailed."""
        cache_key = (issuer.pk, issuer.jwks_url)
        with self._lock_for(cache_key):
            now = self._clock()
            key_set = self._sets.get(cache_key)
            if key_set is None or (_stale(key_set, kid, now) and now >= key_set.retry_after):
                key_set = _refreshed(issuer, key_set, now)
                self._sets[cache_key] = key_set
        if kid in key_set.keys:
            return key_set.keys[kid]
        if key_set.error:
            raise FetchFailed(key_set.error)
        raise UnknownKey(kid)

    def _lock_for(self, cache_key: tuple[int, str]) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(cache_key, threading.Lock())


JWKS = JwksCache()


def _refreshed(issuer: TrustedIssuer, previous: _KeySet | None, now: float) -> _KeySet:
    try:
        return _KeySet(keys=_jwks_fetch(issuer), fetched_at=now)
    except FetchFailed as exc:
        # Remembered, so an unreachable IdP costs one request per interval however many
        # tokens arrive; keys already known keep verifying in the meantime.
        return _KeySet(
            keys=previous.keys if previous else {},
            fetched_at=previous.fetched_at if previous else now,
            retry_after=now + REFETCH_MIN_INTERVAL_SECONDS,
            error=str(exc),
        )


def _stale(key_set: _KeySet, kid: str, now: float) -> bool:
    age = now - key_set.fetched_at
    return age >= JWKS_TTL_SECONDS or (
        kid not in key_set.keys and age >= REFETCH_MIN_INTERVAL_SECONDS
    )


def public_key_for(jwk: dict[str, Any], algorithm: str) -> Any:
    """The public key in ``jwk``, if it may verify ``algorithm`` signatures; else ValueError."""
    if jwk.get("use", "sig") != "sig" or jwk.get("alg", algorithm) != algorithm:
        raise ValueError("key is not published for this algorithm")
    try:
        key = jwt.PyJWK(jwk, algorithm=algorithm).key
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError, KeyError):
        raise ValueError("key is unreadable or of another type") from None
    if not _key_fits(key, algorithm):
        raise ValueError("key type does not match the algorithm")
    return key


def _key_fits(key: Any, algorithm: str) -> bool:
    if algorithm in _RSA_ALGORITHMS:
        return isinstance(key, RSAPublicKey) and key.key_size >= 2048
    if algorithm in _EC_CURVES:
        return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(
            key.curve, _EC_CURVES[algorithm]
        )
    if algorithm == "EdDSA":
        return isinstance(key, Ed25519PublicKey | Ed448PublicKey)
    return False


def _jwks_fetch(issuer: TrustedIssuer) -> dict[str, dict[str, Any]]:
    document = json_get(issuer.jwks_url or _discovered_jwks_url(issuer))
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise FetchFailed("the issuer's JWKS has no key list")
    return {
        jwk["kid"]: jwk for jwk in keys if isinstance(jwk, dict) and isinstance(jwk.get("kid"), str)
    }


def _discovered_jwks_url(issuer: TrustedIssuer) -> str:
    document = json_get(issuer.issuer.rstrip("/") + DISCOVERY_PATH)
    # OIDC Discovery §4.3: the document must name exactly the issuer it was fetched for.
    if document.get("issuer") != issuer.issuer or not isinstance(document.get("jwks_uri"), str):
        raise FetchFailed("the issuer's discovery document does not match it")
    return str(document["jwks_uri"])
