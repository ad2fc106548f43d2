"""The control plane's REST API, as the command line uses it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from cli.transport import json_request

API = "/api/v1"


class ControlPlaneClient:
    def __init__(self, url: str, *, authorization: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.authorization = authorization

    def auth_config(self) -> dict[str, Any]:
        """Unauthenticated: the provider, the CLI's client id, the agent's address."""
        return dict(self._call("GET", "/auth/config"))

    def me(self) -> dict[str, Any]:
        return dict(self._call("GET", "/me"))

    def access_request_create(
        self, *, resource: str, duration_seconds: int, reason: str, access_level: str
    ) -> dict[str, Any]:
        body = {
            "resource": resource,
            "duration_seconds": duration_seconds,
            "reason": reason,
            "access_level": access_level,
        }
        return dict(self._call("POST", "/access-requests", body))

    def access_requests(self, **filters: str) -> list[dict[str, Any]]:
        return self._first_page("/access-requests", filters)

    def grants(self, **filters: str) -> list[dict[str, Any]]:
        return self._first_page("/grants", filters)

    def token_mint(self, *, ttl_seconds: int | None = None) -> dict[str, Any]:
        body = {"ttl_seconds": ttl_seconds} if ttl_seconds else {}
        return dict(self._call("POST", "/tokens", body))

    def _first_page(self, path: str, filters: dict[str, str]) -> list[dict[str, Any]]:
        query = urlencode({**filters, "page_size": "200"})
        return list(self._call("GET", f"{path}?{query}")["results"])

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": self.authorization} if self.authorization else {}
        return json_request(method, self.url + API + path, body=body, headers=headers)
