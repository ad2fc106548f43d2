"""The organisation's OpenID provider as the command line sees it: its discovery document
(OpenID Connect Discovery 1.0, ``<issuer>/.well-known/openid-configuration``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cli.device_flow import ProviderEndpoints
from cli.tokens import SignInError
from cli.transport import json_request

OFFLINE_ACCESS = "offline_access"


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    token_endpoint: str
    authorization_endpoint: str = ""
    device_authorization_endpoint: str = ""
    scopes_supported: tuple[str, ...] = ()

    def scopes_with_renewal(self, scopes: str) -> str:
        """``scopes`` plus ``offline_access`` when the provider offers it, so the sign-in
        comes with a refresh token and outlives the short-lived ID token."""
        wanted = scopes.split() or ["openid"]
        if OFFLINE_ACCESS in self.scopes_supported and OFFLINE_ACCESS not in wanted:
            wanted.append(OFFLINE_ACCESS)
        return " ".join(wanted)

    def device_endpoints(self) -> ProviderEndpoints:
        if not self.device_authorization_endpoint:
            raise SignInError(f"{self.issuer} does not offer the device authorization grant")
        return ProviderEndpoints(self.device_authorization_endpoint, self.token_endpoint)


def provider_discover(issuer: str, *, get: Callable[..., Any] = json_request) -> ProviderMetadata:
    """The provider's metadata; refused unless it names exactly ``issuer`` (§4.3)."""
    metadata = get("GET", issuer.rstrip("/") + "/.well-known/openid-configuration")
    if not isinstance(metadata, dict) or metadata.get("issuer") != issuer:
        raise SignInError(f"the provider's metadata does not name the issuer {issuer}")
    if not metadata.get("token_endpoint"):
        raise SignInError(f"{issuer} publishes no token endpoint")
    return ProviderMetadata(
        issuer=issuer,
        token_endpoint=str(metadata["token_endpoint"]),
        authorization_endpoint=str(metadata.get("authorization_endpoint") or ""),
        device_authorization_endpoint=str(metadata.get("device_authorization_endpoint") or ""),
        scopes_supported=tuple(map(str, metadata.get("scopes_supported") or ())),
    )
