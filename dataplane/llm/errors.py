"""Errors the gateway answers a model call with, in the shape the caller's SDK expects.

An OpenAI SDK reads ``{"error": {"message", "type", "param", "code"}}``; an Anthropic SDK
reads ``{"type": "error", "error": {"type", "message"}}``. Both SDKs pick their exception
class by HTTP status; the body's type and code are what the caller's code and logs see.
"""

from __future__ import annotations

import json

from dataplane.contract.snapshot import LlmApi


class LlmRequestError(Exception):
    """A model call the gateway refuses before it goes upstream (bad JSON, no model...)."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind


# Our kind -> OpenAI (type, code). OpenAI reports most client errors as
# invalid_request_error and tells them apart by code.
OPENAI_KINDS: dict[str, tuple[str, str | None]] = {
    "invalid_request_error": ("invalid_request_error", None),
    "authentication_error": ("invalid_request_error", "invalid_api_key"),
    "permission_error": ("invalid_request_error", "permission_denied"),
    "not_found_error": ("invalid_request_error", "not_found"),
    "request_too_large": ("invalid_request_error", "request_too_large"),
    "rate_limit_error": ("rate_limit_exceeded", "rate_limit_exceeded"),
    "insufficient_quota": ("insufficient_quota", "insufficient_quota"),
    "api_error": ("server_error", None),
    "timeout": ("timeout", "timeout"),
}

# Our kind -> Anthropic error type (docs: "Errors", HTTP errors table).
ANTHROPIC_KINDS: dict[str, str] = {
    "invalid_request_error": "invalid_request_error",
    "authentication_error": "authentication_error",
    "permission_error": "permission_error",
    "not_found_error": "not_found_error",
    "request_too_large": "request_too_large",
    "rate_limit_error": "rate_limit_error",
    "insufficient_quota": "rate_limit_error",  # a spent budget is a 429 there too
    "api_error": "api_error",
    "timeout": "timeout_error",
}


def llm_error_body(api: str, status: int, message: str, kind: str) -> bytes:
    """The JSON error body for `api` (an LlmApi value); unknown kinds pass as their name.

    ``status`` is the HTTP status the body goes out with; neither provider repeats it in
    the body, so it only picks a kind when ``kind`` is empty."""
    kind = kind or _kind_for_status(status)
    if api == LlmApi.ANTHROPIC:
        body: dict[str, object] = {
            "type": "error",
            "error": {"type": ANTHROPIC_KINDS.get(kind, kind), "message": message},
        }
    else:
        type_, code = OPENAI_KINDS.get(kind, (kind, None))
        body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return json.dumps(body).encode()


def _kind_for_status(status: int) -> str:
    return {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        504: "timeout",
    }.get(status, "api_error")
