"""Which headers cross the gateway, in each direction.

Hop-by-hop headers (RFC 9110 §7.6.1: Connection and every header it names, plus the
classic list) describe one connection and never cross. The caller's own credentials never
reach the upstream: the gateway token rides in Authorization (or x-api-key), and cookies
or proxy credentials belong to the caller's side. The correlation id is the gateway's.
"""

from __future__ import annotations

from collections.abc import Iterable

Headers = list[tuple[str, str]]

HOP_BY_HOP = frozenset(
    {
        "connection",
        "proxy-connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authenticate",
        "proxy-authorization",
    }
)
CALLER_CREDENTIALS = frozenset({"authorization", "x-api-key", "cookie", "proxy-authorization"})
# Set by the gateway or the HTTP client library for the upstream hop, never copied.
GATEWAY_OWNED = frozenset({"host", "content-length", "expect", "x-correlation-id"})


def connection_named(headers: Iterable[tuple[str, str]]) -> frozenset[str]:
    """The header names a Connection header lists (hop-by-hop too)."""
    names: set[str] = set()
    for key, value in headers:
        if key.lower() == "connection":
            names.update(token.strip().lower() for token in value.split(",") if token.strip())
    return frozenset(names)


def upstream_request_headers(
    headers: Headers, *, credential_header: str = "", identity_encoding: bool = False
) -> Headers:
    """The caller's headers as they go upstream: no hop-by-hop, no caller credentials,
    nothing the gateway sets itself. ``credential_header`` (the resource's own auth header,
    which the gateway fills in) is dropped too; with ``identity_encoding`` the upstream is
    asked for an uncompressed body (the gateway must read it), as it is when the caller
    named no encoding."""
    dropped = HOP_BY_HOP | CALLER_CREDENTIALS | GATEWAY_OWNED | connection_named(headers)
    if credential_header:
        dropped |= {credential_header.lower()}
    if identity_encoding:
        dropped |= {"accept-encoding"}
    kept = [(k, v) for k, v in headers if k.lower() not in dropped]
    if identity_encoding or not any(k.lower() == "accept-encoding" for k, _ in kept):
        # A caller that asked for no compression gets none: without this an HTTP client
        # library upstream would add its own default and relay a body the caller can't read.
        kept.append(("accept-encoding", "identity"))
    return kept


def client_response_headers(headers: Headers, *, body_rewritten: bool) -> Headers:
    """The upstream's response headers as they go to the caller. When the gateway rewrites
    the body, its length and encoding are the gateway's to state."""
    dropped = HOP_BY_HOP | connection_named(headers)
    if body_rewritten:
        dropped |= {"content-length", "content-encoding"}
    return [(k, v) for k, v in headers if k.lower() not in dropped]


def first(headers: Headers, name: str) -> str | None:
    """The first value of header ``name`` (case-insensitive)."""
    wanted = name.lower()
    return next((v for k, v in headers if k.lower() == wanted), None)
