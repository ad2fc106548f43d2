"""The gateway's own answers (refusals and upstream failures), in the resource's shape.

An llm resource answers like its provider (the caller's SDK raises the right exception and
shows the message); every other resource answers with a small JSON document:
``{"error": {"type": "...", "message": "..."}}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from dataplane.contract import ResourceSpec
from dataplane.llm import llm_error_body

GENERIC_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    408: "request_timeout",
    413: "payload_too_large",
    429: "too_many_requests",
    431: "request_header_fields_too_large",
    502: "bad_gateway",
    503: "unavailable",
    504: "gateway_timeout",
}


@dataclass(frozen=True)
class GatewayAnswer:
    """A response the gateway makes itself instead of relaying one.

    ``refused_by`` is what the audit's HttpExchange records (see its docstring); ``kind``
    is the provider error kind for llm resources ("" = derived from the status)."""

    status: int
    message: str
    refused_by: str = ""
    kind: str = ""
    retry_after_s: float | None = None
    challenge: bool = False  # 401: ask for a bearer token


def render(
    resource: ResourceSpec | None, answer: GatewayAnswer
) -> tuple[list[tuple[str, str]], bytes]:
    """The headers (not the length: the layer adds it) and body of ``answer`` in the
    shape ``resource`` speaks."""
    headers = [("content-type", "application/json"), ("cache-control", "no-store")]
    if answer.challenge:
        headers.append(("www-authenticate", 'Bearer realm="gatehouse"'))
    if answer.retry_after_s is not None:
        headers.append(("retry-after", str(max(1, round(answer.retry_after_s)))))
    return headers, error_body(resource, answer)


def error_body(resource: ResourceSpec | None, answer: GatewayAnswer) -> bytes:
    settings = resource.http if resource is not None else None
    if resource is not None and resource.protocol == "llm" and settings is not None:
        return llm_error_body(settings.llm_api, answer.status, answer.message, answer.kind)
    kind = GENERIC_TYPES.get(answer.status, "error")
    return json.dumps({"error": {"type": kind, "message": answer.message}}).encode()
