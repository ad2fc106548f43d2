"""Connections to HTTP upstreams: one shared httpx client per resource and TLS setting.

A client keeps its upstream connections alive across requests from every caller, HTTP/2
where the upstream speaks TLS (one connection carries many streams), HTTP/1.1 otherwise.
Responses are always streamed (``send(..., stream=True)``): the driver relays them chunk
by chunk. Timeouts are per request (the resource's ``timeout_s``); redirects are the
caller's business and are relayed, never followed; proxies from the environment are not
used (the agent talks to the upstream the resource names, nothing else).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx

from dataplane.contract import HttpSettings, ResourceSpec
from dataplane.protocols.http.credentials import (
    CredentialUnavailable,
    IssuedToken,
    TokenFetcher,
    basic,
)

log = logging.getLogger("gatehouse.http")
# httpx logs every request's full URL at INFO: a query string may carry personal data or a
# key, and the audit trail (redacted) is where requests are recorded.
for _chatty in ("httpx", "httpcore", "hpack", "h2"):
    logging.getLogger(_chatty).setLevel(logging.WARNING)

Body = bytes | AsyncIterator[bytes]


class UpstreamFailed(Exception):
    """The upstream could not be reached or broke off (502), or was too slow (504)."""

    def __init__(self, status: int, message: str, refused_by: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.refused_by = refused_by


class UpstreamClients:
    """The shared httpx clients of one agent, created on first use."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, bool, bool], httpx.AsyncClient] = {}

    def client_for(self, resource: ResourceSpec, settings: HttpSettings) -> httpx.AsyncClient:
        https = settings.scheme == "https"
        key = (resource.name, settings.tls_verify, https)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = httpx.AsyncClient(
                http2=https,
                verify=settings.tls_verify,
                trust_env=False,
                follow_redirects=False,
                timeout=None,  # per request: the resource's timeout_s
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
            )
        return client

    async def send(
        self,
        resource: ResourceSpec,
        settings: HttpSettings,
        request: tuple[str, str, list[tuple[str, str]], Body],
    ) -> httpx.Response:
        """Send ``(method, url, headers, body)`` and return the streaming response; raise
        UpstreamFailed when there is none."""
        method, url, headers, body = request
        client = self.client_for(resource, settings)
        built = client.build_request(
            method, url, headers=headers, content=body, timeout=httpx.Timeout(settings.timeout_s)
        )
        try:
            return await client.send(built, stream=True)
        except httpx.TimeoutException as exc:
            raise UpstreamFailed(
                504, f'resource "{resource.name}" did not answer in time', "timeout"
            ) from exc
        except httpx.HTTPError as exc:
            log.warning("upstream %s failed: %s", resource.name, type(exc).__name__)
            raise UpstreamFailed(
                502, f'the gateway could not reach resource "{resource.name}"', "upstream"
            ) from exc

    def token_fetcher(self, resource: ResourceSpec, settings: HttpSettings) -> TokenFetcher:
        """Fetches an OAuth client-credentials token for ``resource`` (RFC 6749 §4.4)."""

        async def fetch() -> IssuedToken:
            return await self._fetch_token(resource, settings)

        return fetch

    async def _fetch_token(self, resource: ResourceSpec, settings: HttpSettings) -> IssuedToken:
        form = {"grant_type": "client_credentials"}
        if settings.oauth_scope:
            form["scope"] = settings.oauth_scope
        client = self.client_for(resource, settings)
        try:
            response = await client.post(
                settings.token_url,
                data=form,
                headers={
                    "Authorization": basic(resource.upstream_user, resource.upstream_password),
                    "Accept": "application/json",
                },
                timeout=httpx.Timeout(settings.timeout_s),
            )
            document = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as exc:
            raise CredentialUnavailable(
                f"token endpoint of {resource.name} failed: {type(exc).__name__}"
            ) from exc
        return _issued(resource.name, response.status_code, document)

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()


def _issued(resource: str, status: int, document: object) -> IssuedToken:
    if not isinstance(document, dict) or not isinstance(document.get("access_token"), str):
        raise CredentialUnavailable(
            f"token endpoint of {resource} answered {status} without an access_token"
        )
    expires_in = document.get("expires_in", 300)
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError):
        seconds = 300.0
    return IssuedToken(access_token=document["access_token"], expires_in_s=seconds)
