"""Rate limits on the endpoints where a credential is presented without a prior sign-in:
the token exchange, token minting, and the local password sign-in.

Every attempt counts (not only failures: a guesser who is sometimes right is still
guessing) against two subjects, the client address and the presented credential, each in
two fixed windows (see ``controlplane.config.ratelimits``). Counters live in Django's
default cache, so replicas share them when ``GATEHOUSE_CACHE_URL`` names Redis; the cache's
``add`` and ``incr`` are atomic there, so concurrent attempts cannot slip past a limit.

A refusal is audited as ``auth.rate_limited`` once per subject and window (a flood must not
become a flood of audit rows), naming the client address and the credential's public part
only: an API key's prefix, else a short hash, never the secret.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import transaction
from rest_framework.authentication import get_authorization_header
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.views import APIView

from controlplane import bearer
from controlplane.audit.services import audit_event_record
from controlplane.config.ratelimits import CredentialRateLimits, Limit
from controlplane.identities.actions import IdentityAction
from controlplane.identities.models import ApiKey

KEY_PREFIX = "gatehouse:auth-rate"
FINGERPRINT_CHARACTERS = 16
MAX_DECODED_TOKEN_CHARACTERS = 8192  # the token exchange refuses longer tokens
# Wall-clock time: windows must line up across replicas sharing the cache. Tests pin it.
clock = time.time


class RateLimited(Exception):
    """Too many attempts; ``retry_after`` is how many seconds until the window resets."""

    def __init__(self, *, retry_after: int, scope: str) -> None:
        super().__init__(f"too many attempts; retry after {retry_after} s")
        self.retry_after = retry_after
        self.scope = scope


@dataclass(frozen=True)
class _Subject:
    scope: str  # "client" or "credential"
    value: str  # an address, or a credential's public identifier
    limit: Limit


def credential_attempt_check(*, endpoint: str, client: str, credential: str | None) -> None:
    """Count one attempt at ``endpoint`` by ``client`` presenting ``credential`` (its
    public identifier, see :func:`credential_identifier`); raise RateLimited when the
    client or the credential is over its limit."""
    limits: CredentialRateLimits = settings.GATEHOUSE_AUTH_RATE_LIMITS
    subjects = [_Subject("client", client, limits.per_client)]
    if credential:
        subjects.append(_Subject("credential", credential, limits.per_credential))
    for subject in subjects:
        _subject_check(subject, endpoint=endpoint, client=client)


def _subject_check(subject: _Subject, *, endpoint: str, client: str) -> None:
    now = clock()
    for seconds, allowed in subject.limit.windows():
        window = int(now // seconds)
        key = f"{KEY_PREFIX}:{subject.scope}:{_digest(subject.value)}:{seconds}:{window}"
        if _attempts(key, seconds) > allowed:
            retry_after = max(1, math.ceil((window + 1) * seconds - now))
            _refusal_record_once(key, subject, endpoint=endpoint, client=client, window=seconds)
            raise RateLimited(retry_after=retry_after, scope=subject.scope)


def _attempts(key: str, seconds: int) -> int:
    # add() only creates; incr() is atomic. A key expiring in between is a new window.
    cache.add(key, 0, timeout=seconds + 1)
    try:
        return int(cache.incr(key))
    except ValueError:
        cache.add(key, 1, timeout=seconds + 1)
        return 1


def _refusal_record_once(
    key: str, subject: _Subject, *, endpoint: str, client: str, window: int
) -> None:
    if not cache.add(f"{key}:audited", 1, timeout=window + 1):
        return
    payload = {
        "endpoint": endpoint,
        "scope": subject.scope,
        "client": client,
        "credential": subject.value if subject.scope == "credential" else "",
        "window_seconds": window,
    }
    with transaction.atomic():
        audit_event_record(
            actor=AnonymousUser(), action=IdentityAction.AUTH_RATE_LIMITED, payload=payload
        )


def credential_identifier(presented: str) -> str:
    """The public identifier of a presented credential, safe to store and to show: an API
    key's prefix; a JWT's unverified issuer and subject, hashed (attacker-chosen text); a
    short hash of anything else."""
    prefix = bearer.prefix_of(presented, ApiKey.SCHEME)
    if prefix is not None:
        return f"api_key:{prefix}"
    if len(presented) > MAX_DECODED_TOKEN_CHARACTERS:
        return f"token:{_digest(presented)}"  # not worth decoding: it will be refused anyway
    try:
        claims = jwt.decode(presented, options={"verify_signature": False})
    except jwt.PyJWTError:
        return f"token:{_digest(presented)}"
    return f"jwt:{_digest(repr((claims.get('iss'), claims.get('sub'))))}"


def username_identifier(username: str) -> str:
    """The identifier of a username typed at the password sign-in: hashed, since people
    sometimes type their password into the username field."""
    return f"username:{_digest(username.strip().lower())}"


def client_address(meta: Mapping[str, Any]) -> str:
    """The caller's address: REMOTE_ADDR, or with GATEHOUSE_TRUSTED_PROXY_COUNT proxies in
    front, the address the outermost trusted proxy saw (X-Forwarded-For from the right;
    entries to its left are the client's own claims and are ignored)."""
    proxies = settings.GATEHOUSE_AUTH_RATE_LIMITS.trusted_proxies
    remote = str(meta.get("REMOTE_ADDR") or "")
    forwarded = [part.strip() for part in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    forwarded = [part for part in forwarded if part]
    if proxies and forwarded:
        remote = forwarded[-min(proxies, len(forwarded))]
    return _address_normalised(remote)


def _address_normalised(address: str) -> str:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        # One IPv6 host usually holds a whole /64: count the network, not each address.
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:FINGERPRINT_CHARACTERS]


class CredentialRateLimitedView(APIView):
    """Base for DRF views that authenticate a presented credential: counts the attempt before
    authentication runs (DRF's own throttles run after it, too late to slow down a
    guesser) and answers 429 with Retry-After in DRF's throttled shape."""

    rate_limited_endpoint = ""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        try:
            credential_attempt_check(
                endpoint=self.rate_limited_endpoint,
                client=client_address(request.META),
                credential=_authorization_credential(request),
            )
        except RateLimited as limited:
            raise Throttled(wait=limited.retry_after) from None
        super().initial(request, *args, **kwargs)


def _authorization_credential(request: Request) -> str | None:
    parts = get_authorization_header(request).split()
    if len(parts) != 2:
        return None
    return credential_identifier(parts[1].decode("latin-1"))
