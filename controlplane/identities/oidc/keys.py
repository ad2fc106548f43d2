"""The sign-in provider's signing keys, for both places that verify its tokens: the browser
sign-in's ID token (``oidc.backend``) and API bearer tokens (``identities.bearer_oidc``).

Keys come from the one JWKS cache (``controlplane.federation.jwks``), which also serves the
token exchange's trusted issuers: same lifetime, same limit on refetches for an unknown
``kid``, fetch failures refuse the token. The key must also fit the configured algorithm
(an RSA key for RS256, a P-256 key for ES256), whatever the token's header says.
"""

from __future__ import annotations

from typing import Any

from controlplane.federation import jwks
from controlplane.federation.fetch import FetchFailed
from controlplane.federation.jwks import UnknownKey, provider_keys, public_key_for
from controlplane.identities.oidc.config import OidcConfig
from controlplane.identities.oidc.discovery import ProviderUnavailable, provider_endpoints


class ProviderKeyRefused(Exception):
    """No usable provider key for the token; the message is safe to show."""


def provider_signing_key(config: OidcConfig, kid: object) -> Any:
    """The provider's public key ``kid``, usable with the configured algorithm."""
    if not isinstance(kid, str) or not kid:
        raise ProviderKeyRefused("the token names no signing key (kid)")
    try:
        jwks_uri = provider_endpoints(config)["jwks_uri"]
        source = provider_keys(jwks_uri, timeout_seconds=config.timeout_seconds)
        return public_key_for(jwks.JWKS.jwk_for(source, kid), config.signing_algorithm)
    except (ProviderUnavailable, FetchFailed) as exc:
        raise ProviderKeyRefused(f"the identity provider is unavailable: {exc}") from None
    except UnknownKey:
        raise ProviderKeyRefused("the token's signing key is not the provider's") from None
    except ValueError as exc:
        raise ProviderKeyRefused(f"the provider's key could not be used: {exc}") from None
