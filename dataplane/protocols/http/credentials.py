"""The resource's own credential on every upstream request; the caller never sees it.

- ``header``: ``auth_header: auth_value_prefix + secret`` (an API key);
- ``basic``: ``Authorization: Basic base64(user:secret)``;
- ``oauth_client_credentials``: a bearer token from the resource's token endpoint (client
  id and secret by basic auth), cached until shortly before it expires, fetched by one
  request at a time, and refreshed once when the upstream answers 401.

Secrets are never logged; a failure to get a token names the resource and the endpoint's
status, nothing more.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from dataplane.contract import HttpAuth, HttpSettings, ResourceSpec

# A cached token is used until this long before it expires (or 10% of its lifetime when
# that is shorter), so a request never leaves with a token about to lapse in flight.
REFRESH_MARGIN_S = 30.0
DEFAULT_EXPIRES_IN_S = 300.0

Clock = Callable[[], float]


class CredentialUnavailable(Exception):
    """The gateway could not get the upstream credential (answered with 502)."""


@dataclass(frozen=True)
class IssuedToken:
    access_token: str = field(repr=False)
    expires_in_s: float


TokenFetcher = Callable[[], Awaitable[IssuedToken]]


class ClientCredentialsToken:
    """One resource's OAuth access token: fetched on first use, reused until its refresh
    time, fetched again by one caller while the others wait for that result."""

    def __init__(self, fetch: TokenFetcher, clock: Clock = time.monotonic) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token = ""
        self._refresh_at = 0.0

    async def current(self) -> str:
        """A token that is not about to expire."""
        if self._token and self._clock() < self._refresh_at:
            return self._token
        async with self._lock:
            if not self._token or self._clock() >= self._refresh_at:
                await self._renew()
            return self._token

    async def replace(self, rejected: str) -> str:
        """A new token after the upstream rejected ``rejected`` (unless another request
        already replaced it meanwhile)."""
        async with self._lock:
            if self._token == rejected:
                await self._renew()
            return self._token

    async def _renew(self) -> None:
        issued = await self._fetch()
        lifetime = max(issued.expires_in_s, 0.0)
        margin = min(REFRESH_MARGIN_S, lifetime / 10)
        self._token = issued.access_token
        self._refresh_at = self._clock() + lifetime - margin


def static_credential(resource: ResourceSpec, settings: HttpSettings) -> tuple[str, str] | None:
    """The header a ``header`` or ``basic`` resource sends; None for the other kinds."""
    if settings.auth == HttpAuth.HEADER:
        return settings.auth_header, settings.auth_value_prefix + resource.upstream_password
    if settings.auth == HttpAuth.BASIC:
        return "Authorization", basic(resource.upstream_user, resource.upstream_password)
    return None


def basic(user: str, secret: str) -> str:
    """An RFC 7617 Basic credential."""
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")


def bearer(token: str) -> tuple[str, str]:
    return "Authorization", f"Bearer {token}"


class UpstreamCredentials:
    """The credentials of every resource on this agent (OAuth tokens cached per resource,
    client and secret, so a changed secret starts a fresh cache)."""

    def __init__(self, fetcher_for: Callable[[ResourceSpec, HttpSettings], TokenFetcher]) -> None:
        self._fetcher_for = fetcher_for
        self._tokens: dict[tuple[str, ...], ClientCredentialsToken] = {}

    async def header(
        self, resource: ResourceSpec, settings: HttpSettings
    ) -> tuple[str, str] | None:
        """The credential header for the next request to ``resource`` (None: no auth)."""
        if settings.auth == HttpAuth.OAUTH_CLIENT_CREDENTIALS:
            return bearer(await self._token(resource, settings).current())
        return static_credential(resource, settings)

    async def after_rejection(
        self, resource: ResourceSpec, settings: HttpSettings, rejected: tuple[str, str]
    ) -> tuple[str, str] | None:
        """A fresh credential after the upstream answered 401 to ``rejected``; None when
        retrying cannot help (not an OAuth resource)."""
        if settings.auth != HttpAuth.OAUTH_CLIENT_CREDENTIALS:
            return None
        stale = rejected[1].removeprefix("Bearer ")
        return bearer(await self._token(resource, settings).replace(stale))

    def _token(self, resource: ResourceSpec, settings: HttpSettings) -> ClientCredentialsToken:
        key = (
            resource.name,
            settings.token_url,
            settings.oauth_scope,
            resource.upstream_user,
            resource.upstream_password,
        )
        token = self._tokens.get(key)
        if token is None:
            stale = [k for k in self._tokens if k[0] == resource.name]
            for old in stale:  # a changed secret or endpoint: drop the old cache
                del self._tokens[old]
            token = self._tokens[key] = ClientCredentialsToken(
                self._fetcher_for(resource, settings)
            )
        return token
