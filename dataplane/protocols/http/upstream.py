"""Connections to HTTP upstreams: a pool of h11 connections per plaintext upstream, one
shared httpx client per resource and TLS setting for HTTPS ones.

Plain ``http://`` upstreams go through ``upstream_h1`` (HTTP/1.1 on h11, a fraction of
httpx's CPU per request). For HTTPS, a client keeps its upstream connections alive across
requests from every caller, over HTTP/2 (one connection carries many streams).
Responses are always streamed (``send(..., stream=True)``): the driver relays them chunk
by chunk. Timeouts are per request (the resource's ``timeout_s``); redirects are the
caller's business and are relayed, never followed; proxies from the environment are not
used (the agent talks to the upstream the resource names, nothing else).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Protocol

import httpx

from dataplane.contract import HttpSettings, ResourceSpec
from dataplane.protocols.http.credentials import (
    CredentialUnavailable,
    IssuedToken,
    TokenFetcher,
    basic,
)
from dataplane.protocols.http.upstream_h1 import Http1Pool, NoResponse, UpstreamBroke

log = logging.getLogger("gatehouse.http")
# httpx logs every request's full URL at INFO: a query string may carry personal data or a
# key, and the audit trail (redacted) is where requests are recorded.
for _chatty in ("httpx", "httpcore", "hpack", "h2"):
    logging.getLogger(_chatty).setLevel(logging.WARNING)

Body = bytes | AsyncIterator[bytes]
# What breaks a response mid-body, from either kind of connection.
BROKEN_OFF = (httpx.HTTPError, UpstreamBroke)


class ResponseHeaders(Protocol):
    def get(self, name: str, default: str | None = None) -> str | None: ...

    def multi_items(self) -> list[tuple[str, str]]: ...


class UpstreamResponse(Protocol):
    """A streaming upstream response (``httpx.Response`` or ``Http1Response``)."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> ResponseHeaders: ...

    def aiter_raw(self) -> AsyncIterator[bytes]: ...

    def aiter_bytes(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class UpstreamFailed(Exception):
    """The upstream could not be reached or broke off (502), or was too slow (504)."""

    def __init__(self, status: int, message: str, refused_by: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.refused_by = refused_by


class UpstreamClients:
    """The upstream connections of one agent: h11 pools for plaintext upstreams, shared
    httpx clients for HTTPS ones (and OAuth token endpoints), created on first use."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, bool, bool], httpx.AsyncClient] = {}
        self._pools: dict[tuple[str, str, int], Http1Pool] = {}

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
                # A shared client must not carry one caller's cookies to the next.
                cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            )
        return client

    def pool_for(self, resource: ResourceSpec) -> Http1Pool:
        key = (resource.name, resource.host, resource.port)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = Http1Pool(resource.host, resource.port)
        return pool

    async def send(
        self,
        resource: ResourceSpec,
        settings: HttpSettings,
        request: tuple[str, str, list[tuple[str, str]], Body],
    ) -> UpstreamResponse:
        """Send ``(method, url, headers, body)`` and return the streaming response; raise
        UpstreamFailed when there is none."""
        method, url, headers, body = request
        if settings.scheme != "https":
            return await self._send_plain(resource, settings, request)
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

    async def _send_plain(
        self,
        resource: ResourceSpec,
        settings: HttpSettings,
        request: tuple[str, str, list[tuple[str, str]], Body],
    ) -> UpstreamResponse:
        method, url, headers, body = request
        target = "/" + url.split("/", 3)[3] if url.count("/") >= 3 else "/"
        pool = self.pool_for(resource)
        try:
            return await pool.send(method, target, headers, body, settings.timeout_s)
        except NoResponse as exc:
            if exc.timed_out:
                raise UpstreamFailed(
                    504, f'resource "{resource.name}" did not answer in time', "timeout"
                ) from exc
            log.warning("upstream %s failed: %s", resource.name, exc)
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
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()
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
