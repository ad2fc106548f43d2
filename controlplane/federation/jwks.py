"""Identity providers' signing keys (JWKS): the one cache every external token check uses.

Two kinds of provider publish keys here: trusted issuers of the token exchange
(``federation.verification``) and the OpenID provider people sign in with, whose tokens the
API accepts as bearer tokens (``identities.bearer_oidc``). Both go through :data:`JWKS`, with
one policy:

- a key set is kept for ``JWKS_TTL_SECONDS``;
- a token naming a ``kid`` the cached set lacks (the provider rotated its keys) triggers one
  refetch, but at most once per ``REFETCH_MIN_INTERVAL_SECONDS`` per key set, so a flood of
  tokens with made-up kids cannot turn the control plane into a load generator against the
  provider;
- a failed fetch fails closed (the token is refused) and is remembered for the same
  interval; keys already known keep verifying meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import partial
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from controlplane.federation.fetch import TIMEOUT_SECONDS, FetchFailed, json_get
from controlplane.federation.models import TrustedIssuer

JWKS_TTL_SECONDS = 300.0
REFETCH_MIN_INTERVAL_SECONDS = 15.0
DISCOVERY_PATH = "/.well-known/openid-configuration"

# Which key a signature algorithm may be verified with. Checking this ourselves (not only
# trusting the library) is what rules out RS/HS confusion: an RSA public key is never
# accepted as an HMAC secret, and an ES256 header never selects an RSA key.
_EC_CURVES: dict[str, type[ec.EllipticCurve]] = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1}
_RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256"})

Jwks = dict[str, dict[str, Any]]  # kid -> JWK


class UnknownKey(Exception):
    """The provider publishes no usable key with the token's ``kid``."""


@dataclass(frozen=True)
class KeySource:
    """Where one key set comes from: ``name`` identifies it in the cache, ``fetch`` loads it
    (raising FetchFailed)."""

    name: Hashable
    fetch: Callable[[], Jwks]


def trusted_issuer_keys(issuer: TrustedIssuer) -> KeySource:
    """A trusted issuer's keys: its ``jwks_url``, or the one its discovery document names."""
    return KeySource(
        name=("issuer", issuer.pk, issuer.jwks_url), fetch=partial(_issuer_jwks, issuer)
    )


def provider_keys(jwks_uri: str, *, timeout_seconds: float = TIMEOUT_SECONDS) -> KeySource:
    """The keys published at ``jwks_uri`` (the sign-in provider's, from its metadata)."""
    return KeySource(name=("url", jwks_uri), fetch=partial(_jwks_at, jwks_uri, timeout_seconds))


@dataclass(frozen=True)
class _KeySet:
    keys: Jwks
    fetched_at: float
    retry_after: float = 0.0  # after a failed fetch: no new attempt before this
    error: str = ""  # why the last fetch failed, while it keeps failing


class JwksCache:
    """Key sets per source; thread-safe (sync API views run on worker threads). Each source
    has its own lock, held across its fetch: concurrent tokens wait for one fetch instead of
    each starting one, and a slow provider holds up only its own tokens."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sets: dict[Hashable, _KeySet] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def clear(self) -> None:
        """Forget every key set (tests; a provider that rotated everything at once)."""
        with self._locks_lock:
            self._sets.clear()

    def jwk_for(self, source: KeySource, kid: str) -> dict[str, Any]:
        """The JWK ``kid`` of ``source``; raises UnknownKey or FetchFailed."""
        with self._lock_for(source.name):
            now = self._clock()
            key_set = self._sets.get(source.name)
            if key_set is None or (_stale(key_set, kid, now) and now >= key_set.retry_after):
                key_set = _refreshed(source, key_set, now)
                self._sets[source.name] = key_set
        if kid in key_set.keys:
            return key_set.keys[kid]
        if key_set.error:
            raise FetchFailed(key_set.error)
        raise UnknownKey(kid)

    def _lock_for(self, name: Hashable) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(name, threading.Lock())


JWKS = JwksCache()


def _refreshed(source: KeySource, previous: _KeySet | None, now: float) -> _KeySet:
    try:
        return _KeySet(keys=source.fetch(), fetched_at=now)
    except FetchFailed as exc:
        # Remembered, so an unreachable provider costs one request per interval however
        # many tokens arrive; keys already known keep verifying in the meantime.
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


def _issuer_jwks(issuer: TrustedIssuer) -> Jwks:
    return _jwks_at(issuer.jwks_url or _discovered_jwks_url(issuer), TIMEOUT_SECONDS)


def _jwks_at(url: str, timeout_seconds: float) -> Jwks:
    keys = json_get(url, timeout_seconds=timeout_seconds).get("keys")
    if not isinstance(keys, list):
        raise FetchFailed("the provider's JWKS has no key list")
    return {
        jwk["kid"]: jwk for jwk in keys if isinstance(jwk, dict) and isinstance(jwk.get("kid"), str)
    }


def _discovered_jwks_url(issuer: TrustedIssuer) -> str:
    document = json_get(issuer.issuer.rstrip("/") + DISCOVERY_PATH)
    # OIDC Discovery §4.3: the document must name exactly the issuer it was fetched for.
    if document.get("issuer") != issuer.issuer or not isinstance(document.get("jwks_uri"), str):
        raise FetchFailed("the issuer's discovery document does not match it")
    return str(document["jwks_uri"])
