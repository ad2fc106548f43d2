"""The client side of one HTTP/1.1 connection as a sans-I/O layer on h11.

Bytes from the client go in (``receive``); typed events come out (``next_event``); the
driver's decisions go back as bytes to write (``respond``, ``body``, ``end``). Nothing here
touches a socket, so tests drive it with byte transcripts.

Limits live here because they are facts about the byte stream: request headers larger than
``max_header_bytes`` are a 431 (h11's ``max_incomplete_event_size``), malformed HTTP is a
400, and a body longer than the limit the driver sets once it knows the resource (counted
as chunks arrive, whatever the framing) is a ``BodyTooLarge`` event.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from http import HTTPStatus

import h11

MAX_HEADER_BYTES = 64 * 1024
Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class RequestHead:
    """A request line and its headers (names lower-case, as h11 gives them)."""

    method: str
    target: str
    headers: Headers
    http_version: str
    content_length: int | None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (lower-case), if present."""
        return next((value for key, value in self.headers if key == name), None)


@dataclass(frozen=True)
class BodyData:
    data: bytes


@dataclass(frozen=True)
class RequestComplete:
    """The request body ended (trailers, if any, are dropped)."""


@dataclass(frozen=True)
class NeedData:
    """Nothing more to say until more bytes arrive."""


@dataclass(frozen=True)
class ClientClosed:
    """The client closed its side between requests (or an HTTP/1.0 body ended)."""


@dataclass(frozen=True)
class Malformed:
    """The bytes are not valid HTTP/1.1; ``status`` is the answer (400, or 431 for
    oversized headers). The connection must close after answering."""

    status: int
    reason: str


@dataclass(frozen=True)
class BodyTooLarge:
    """The request body passed the driver's limit (by Content-Length or by counting)."""

    limit: int


Event = (
    RequestHead | BodyData | RequestComplete | NeedData | ClientClosed | Malformed | BodyTooLarge
)


class Phase(StrEnum):
    """Where the response to the current request stands."""

    IDLE = "idle"  # no request yet (between requests)
    NOT_STARTED = "not_started"  # a request is waiting for its response
    SENDING_BODY = "sending_body"
    DONE = "done"
    BROKEN = "broken"


class HttpServerLayer:
    """One client connection's HTTP/1.1 server side: one request at a time (h11 holds
    pipelined requests until the current response is complete)."""

    def __init__(self, max_header_bytes: int = MAX_HEADER_BYTES) -> None:
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=max_header_bytes)
        self._max_header_bytes = max_header_bytes
        self._body_limit: int | None = None
        self._body_seen = 0

    # -- client bytes in, events out ---------------------------------------------------------
    def receive(self, data: bytes) -> None:
        """Bytes from the client; ``b""`` means the client closed its side."""
        self._h11.receive_data(data)

    def next_event(self) -> Event:
        """The next event the received bytes make; NeedData when there is none yet."""
        try:
            event = self._h11.next_event()
        except h11.RemoteProtocolError as exc:
            return Malformed(exc.error_status_hint, str(exc) or "malformed HTTP request")
        if isinstance(event, h11.Request):
            # h11 only limits a head that arrives in pieces; one read can bring it whole.
            if _head_size(event) > self._max_header_bytes:
                return Malformed(431, "request headers too large")
            return _head(event)
        if isinstance(event, h11.Data):
            return self._counted(bytes(event.data))
        if isinstance(event, h11.EndOfMessage):
            return RequestComplete()
        if isinstance(event, h11.ConnectionClosed):
            return ClientClosed()
        return NeedData()  # NEED_DATA, PAUSED

    def limit_body(self, limit: int) -> None:
        """Refuse a body longer than ``limit`` bytes from now on (this request only)."""
        self._body_limit = limit

    def _counted(self, data: bytes) -> BodyData | BodyTooLarge:
        self._body_seen += len(data)
        if self._body_limit is not None and self._body_seen > self._body_limit:
            return BodyTooLarge(self._body_limit)
        return BodyData(data)

    # -- decisions in, bytes out -------------------------------------------------------------
    @property
    def expects_continue(self) -> bool:
        """The client sent ``Expect: 100-continue`` and waits before sending its body."""
        return bool(self._h11.they_are_waiting_for_100_continue)

    def continue_(self) -> bytes:
        """``100 Continue``: the client may send its body now."""
        return self._send(h11.InformationalResponse(status_code=100, headers=[]))

    def respond(self, status: int, headers: Headers) -> bytes:
        """The status line and headers (h11 adds chunked framing when no length is given)."""
        reason = _reason(status)
        return self._send(h11.Response(status_code=status, headers=headers, reason=reason))

    def body(self, data: bytes) -> bytes:
        """A piece of the response body, framed."""
        if not data:
            return b""
        return self._send(h11.Data(data=data))

    def end(self) -> bytes:
        """The end of the response body."""
        return self._send(h11.EndOfMessage())

    def whole_response(self, status: int, headers: Headers, content: bytes) -> bytes:
        """A complete response with a fixed body (errors, masked bodies)."""
        framed = [(k, v) for k, v in headers if k.lower() != "content-length"]
        framed.append(("content-length", str(len(content))))
        return self.respond(status, framed) + self.body(content) + self.end()

    @property
    def phase(self) -> Phase:
        state = self._h11.our_state
        if state is h11.SEND_BODY:
            return Phase.SENDING_BODY
        if state is h11.DONE:
            return Phase.DONE
        if state is h11.SEND_RESPONSE:
            return Phase.NOT_STARTED
        if state is h11.IDLE:
            return Phase.IDLE
        return Phase.BROKEN

    @property
    def keeps_alive(self) -> bool:
        """Whether another request may follow on this connection right now: the response is
        complete, the whole request body was read and neither side asked to close."""
        return self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE

    @property
    def request_body_pending(self) -> bool:
        """The client has not finished sending the current request's body (or its end)."""
        return self._h11.their_state is h11.SEND_BODY

    def start_next_request(self) -> None:
        """Reset for the next request on a kept-alive connection."""
        self._h11.start_next_cycle()
        self._body_limit = None
        self._body_seen = 0

    def _send(self, event: h11.Event) -> bytes:
        data = self._h11.send(event)
        return data or b""


def plain_response(status: int, text: str) -> bytes:
    """A complete ``Connection: close`` response built without a request (TLS required:
    no request was parsed, so h11 cannot frame one)."""
    content = text.encode()
    return (
        f"HTTP/1.1 {status} {_reason(status).decode()}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(content)}\r\nConnection: close\r\n\r\n"
    ).encode() + content


def _head(request: h11.Request) -> RequestHead | Malformed:
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers]
    length = next((v for k, v in headers if k == "content-length"), None)
    try:
        target = request.target.decode("ascii")
    except UnicodeDecodeError:
        return Malformed(400, "the request target is not ASCII")
    return RequestHead(
        method=request.method.decode("ascii"),
        target=target,
        headers=headers,
        http_version=request.http_version.decode("ascii"),
        content_length=int(length) if length is not None else None,
    )


def _head_size(request: h11.Request) -> int:
    """The head's size on the wire, near enough (request line, headers, line ends)."""
    size = len(request.method) + len(request.target) + 12
    return size + sum(len(name) + len(value) + 4 for name, value in request.headers)


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""
