"""A one-request HTTP/1.1 client without I/O (h11), for exec calls on http and llm resources.

The request goes to the agent's own HTTP driver as a native client's would: target
``/<resource><path>``, ``Authorization: Bearer <gateway token>``, ``X-Correlation-Id``, and
``Connection: close``. The caller's own Authorization, Host, framing and hop-by-hop headers
are dropped (the gateway sets the upstream's credential itself). The response is collected
up to MAX_RESPONSE_BYTES; past that the body is cut and the result says ``truncated``.
"""

from __future__ import annotations

import base64
import contextlib
from dataclasses import dataclass, field
from typing import Any

import h11

from dataplane.contract.exec_call import HttpCall

MAX_RESPONSE_BYTES = 8 * 1024 * 1024
USER_AGENT_PREFIX = "gatehouse-exec/"
# Headers the exec client sets itself, or that describe the caller's connection, not the call.
DROPPED_HEADERS = frozenset(
    {
        "authorization",
        "x-api-key",
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "proxy-authorization",
        "x-correlation-id",
        "user-agent",
    }
)


class HttpExecFailed(Exception):
    """The gateway's answer was not a well-formed HTTP response."""


@dataclass
class HttpResult:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "status": self.status,
            "headers": self.headers,
            "body_b64": base64.b64encode(bytes(self.body)).decode("ascii"),
            "truncated": self.truncated,
        }
        with contextlib.suppress(UnicodeDecodeError):  # binary: body_b64 only
            document["body"] = self.body.decode("utf-8")
        return document


class OneRequestClient:
    """Sends one request and reads its response; feed it bytes, send what ``start`` gives."""

    def __init__(
        self, *, resource: str, call: HttpCall, token: str, correlation_id: str, call_id: str
    ) -> None:
        self._connection = h11.Connection(h11.CLIENT)
        self._resource = resource
        self._call = call
        self._token = token
        self._correlation_id = correlation_id
        self._call_id = call_id
        self.result = HttpResult()
        self.finished = False

    def start(self) -> bytes:
        """The whole request: head, body, end."""
        body = base64.b64decode(self._call.body_b64) if self._call.body_b64 else b""
        head = h11.Request(
            method=self._call.method,
            target=f"/{self._resource}{self._call.path}".encode(),
            headers=self._headers(len(body)),
        )
        data = self._connection.send(head) or b""
        if body:
            data += self._connection.send(h11.Data(data=body)) or b""
        return data + (self._connection.send(h11.EndOfMessage()) or b"")

    def _headers(self, body_length: int) -> list[tuple[str, str]]:
        headers = [
            ("Host", "gatehouse-exec"),
            ("Authorization", f"Bearer {self._token}"),
            ("User-Agent", USER_AGENT_PREFIX + self._call_id),
            ("Connection", "close"),
            ("Content-Length", str(body_length)),
        ]
        if self._correlation_id:
            headers.append(("X-Correlation-Id", self._correlation_id))
        headers += [
            (name, value)
            for name, value in self._call.headers.items()
            if name.lower() not in DROPPED_HEADERS
        ]
        return headers

    def receive(self, data: bytes) -> None:
        """Bytes from the gateway (b"" once it closed)."""
        try:
            self._connection.receive_data(data)
            while not self.finished:
                event = self._connection.next_event()
                if event is h11.NEED_DATA or event is h11.PAUSED:
                    break
                self._event(event)
        except h11.RemoteProtocolError as exc:
            raise HttpExecFailed(f"malformed response from the gateway: {exc}") from exc
        if not data and not self.finished:
            raise HttpExecFailed("the gateway closed the connection before the response ended")

    def _event(self, event: object) -> None:
        if isinstance(event, h11.Response):
            self.result.status = event.status_code
            self.result.headers = {
                name.decode("latin-1"): value.decode("latin-1") for name, value in event.headers
            }
        elif isinstance(event, h11.Data):
            room = MAX_RESPONSE_BYTES - len(self.result.body)
            self.result.body += event.data[: max(room, 0)]
            if len(event.data) > room:  # enough: the rest is not read at all
                self.result.truncated = self.finished = True
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            self.finished = True
