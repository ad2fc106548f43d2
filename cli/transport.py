"""JSON and form requests over stdlib ``urllib``, with errors people can read."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

TIMEOUT_SECONDS = 30
USER_AGENT = "gatehouse-cli/0.1"


class HttpError(Exception):
    """A non-2xx answer: ``status`` and the decoded JSON body (or the text in ``detail``)."""

    def __init__(self, status: int, body: Any, url: str) -> None:
        self.status = status
        self.body = body if isinstance(body, dict) else {"detail": str(body)[:500]}
        self.url = url
        super().__init__(f"HTTP {status} from {url}: {self.message}")

    @property
    def message(self) -> str:
        body = self.body
        if "error" in body:  # RFC 6749 §5.2
            return str(body.get("error_description") or body["error"])
        if "detail" in body:
            return str(body["detail"])
        return "; ".join(f"{key}: {_text(value)}" for key, value in body.items())


class Unreachable(Exception):
    """No HTTP answer at all (refused, DNS, timeout, TLS)."""


def json_request(
    method: str, url: str, *, body: Any = None, headers: dict[str, str] | None = None
) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Accept": "application/json", **(headers or {})}
    if data is not None:
        all_headers["Content-Type"] = "application/json"
    return _send(urllib.request.Request(url, data=data, method=method, headers=all_headers))


def form_post(url: str, fields: dict[str, str]) -> Any:
    """An OAuth-style form POST (device authorization, token endpoint)."""
    headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
    data = urlencode(fields).encode()
    return _send(urllib.request.Request(url, data=data, method="POST", headers=headers))


def _send(request: urllib.request.Request) -> Any:
    request.add_header("User-Agent", USER_AGENT)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            payload = response.read()
    except urllib.error.HTTPError as exc:
        raise HttpError(exc.code, _decoded(exc.read()), request.full_url) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unreachable(f"cannot reach {request.full_url}: {reason}") from None
    return _decoded(payload) if payload else None


def _decoded(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", errors="replace")


def _text(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)
