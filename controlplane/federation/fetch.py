"""HTTP calls to an identity provider (JWKS, discovery, introspection): JSON only, bounded
in size and time, HTTPS except on loopback (a local test or development IdP)."""

from __future__ import annotations

import ipaddress
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

MAX_RESPONSE_BYTES = 512 * 1024
TIMEOUT_SECONDS = 5.0
LOOPBACK_NAMES = frozenset({"localhost"})


class FetchFailed(Exception):
    """The IdP could not be reached or answered something unusable; safe to show."""


def url_check(url: str) -> None:
    """Raise ValueError unless ``url`` is https, or http to a loopback host."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return
    raise ValueError("must be an https:// URL (http:// only on loopback)")


def json_get(url: str, *, timeout_seconds: float = TIMEOUT_SECONDS) -> dict[str, Any]:
    """GET ``url`` and return its JSON object."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    return _json_from(request, timeout_seconds=timeout_seconds)


def json_post_form(url: str, body: bytes, *, authorization: str) -> dict[str, Any]:
    """POST a form to ``url`` with an ``Authorization`` header; return its JSON object."""
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": authorization,
    }
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    return _json_from(request, timeout_seconds=TIMEOUT_SECONDS)


def _json_from(request: urllib.request.Request, *, timeout_seconds: float) -> dict[str, Any]:
    try:
        url_check(request.full_url)
    except ValueError as exc:
        raise FetchFailed(f"refusing to call {request.full_url}: {exc}") from None
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout_seconds) as response:
            body = response.read(MAX_RESPONSE_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise FetchFailed(f"identity provider unreachable: {exc}") from None
    if len(body) > MAX_RESPONSE_BYTES:
        raise FetchFailed("identity provider response too large")
    try:
        document = json.loads(body)
    except ValueError:
        raise FetchFailed("identity provider answered something that is not JSON") from None
    if not isinstance(document, dict):
        raise FetchFailed("identity provider answered JSON that is not an object")
    return document


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect could lead an https JWKS fetch to plain http or elsewhere; IdPs publish
    # the final URL, so a redirect is refused rather than followed.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
