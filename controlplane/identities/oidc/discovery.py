"""The provider's endpoints: explicit ones from the configuration, the rest from
``<issuer>/.well-known/openid-configuration``.

Discovery runs on the first sign-in, not at import, so ``migrate`` and other management
commands never need the provider; the answer is kept for the life of the process.
"""

from __future__ import annotations

import threading
from typing import Any

import requests

from controlplane.identities.oidc.config import ENDPOINT_VARIABLES, OidcConfig

REQUIRED_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")

_cache: dict[str, dict[str, str]] = {}
_lock = threading.Lock()


class ProviderUnavailable(Exception):
    """The provider's metadata could not be fetched or is unusable; sign-in cannot start."""


def provider_endpoints(config: OidcConfig) -> dict[str, str]:
    """Endpoint name → URL, with every endpoint in REQUIRED_ENDPOINTS present."""
    with _lock:
        cached = _cache.get(config.issuer)
    if cached is not None:
        return cached
    endpoints = dict(config.endpoints)
    if any(name not in endpoints for name in ENDPOINT_VARIABLES):
        endpoints = {**_discovered_endpoints(config), **endpoints}
    missing = [name for name in REQUIRED_ENDPOINTS if not endpoints.get(name)]
    if missing:
        raise ProviderUnavailable(f"the provider publishes no {', '.join(missing)}")
    with _lock:
        _cache[config.issuer] = endpoints
    return endpoints


def provider_endpoints_forget() -> None:
    """Drop cached metadata (tests; a provider that moved its endpoints)."""
    with _lock:
        _cache.clear()


def _discovered_endpoints(config: OidcConfig) -> dict[str, str]:
    url = config.issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=config.timeout_seconds)
        response.raise_for_status()
        metadata: dict[str, Any] = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"discovery at {url} failed: {exc}") from None
    if metadata.get("issuer") != config.issuer:
        # OpenID Connect Discovery 1.0 §4.3: a mismatch means the metadata is not this issuer's.
        raise ProviderUnavailable(
            f"discovery at {url} names issuer {metadata.get('issuer')!r}, "
            f"not the configured {config.issuer!r}"
        )
    return {name: str(metadata[name]) for name in ENDPOINT_VARIABLES if metadata.get(name)}
