"""The client connection's I/O: the byte channel driven through the sans-I/O layer.

Reads wait at most as long as the phase allows (an idle kept-alive connection, the rest of
a request's headers, the next piece of its body); writes always drain.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from dataplane.protocols.http.channel import Channel, ClientGone
from dataplane.protocols.http.layer import (
    BodyData,
    BodyTooLarge,
    ClientClosed,
    Event,
    Headers,
    HttpServerLayer,
    Malformed,
    NeedData,
    Phase,
    RequestComplete,
    RequestHead,
    plain_response,
)

# A kept-alive connection with no request for this long is closed.
IDLE_TIMEOUT_S = 60.0
# A request's headers must be complete this long after its first byte.
HEADER_TIMEOUT_S = 30.0
# Each piece of a request body must arrive within this long.
BODY_TIMEOUT_S = 60.0
# The most of an unread request body the gateway reads (and drops) to keep the connection.
DRAIN_LIMIT = 64 * 1024


class BodyRefused(Exception):
    """The request body cannot be taken: too large (413), malformed (400) or too slow
    (408). Raised while reading it, also from inside a body streamed upstream."""

    def __init__(self, status: int, message: str, refused_by: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.refused_by = refused_by


@dataclass
class BodyCount:
    """What passed of a request body: its size and its first bytes (for the audit)."""

    size: int = 0
    head: bytes = b""

    def add(self, data: bytes, keep: int) -> None:
        self.size += len(data)
        if len(self.head) < keep:
            self.head += data[: keep - len(self.head)]


class ClientIO:
    """One client connection's channel and HTTP layer."""

    def __init__(self, channel: Channel, layer: HttpServerLayer) -> None:
        self.channel = channel
        self.layer = layer
        self.malformed: Malformed | None = None
        self._held = b""

    async def next_head(self) -> RequestHead | None:
        """The next request, or None when the connection is over (closed, idle too long,
        malformed: ``malformed`` says which status to answer)."""
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        while True:
            event = self.layer.next_event()
            if isinstance(event, RequestHead):
                return event
            if isinstance(event, Malformed):
                self.malformed = event
                return None
            if not isinstance(event, NeedData):
                return None  # ClientClosed
            wait = IDLE_TIMEOUT_S if deadline is None else deadline - loop.time()
            data = await self._read_within(wait)
            if data is None:
                if deadline is not None:
                    await self.send(plain_response(408, "request headers took too long"))
                return None
            deadline = deadline or loop.time() + HEADER_TIMEOUT_S
            self.layer.receive(data)

    async def body(self, count: BodyCount, keep: int) -> AsyncIterator[bytes]:
        """The request body piece by piece (asking for it first if the client waits for
        100 Continue); raises BodyRefused or ClientGone."""
        if self.layer.expects_continue:
            await self.send(self.layer.continue_())
        while True:
            event = await self._next_body_event()
            if isinstance(event, RequestComplete):
                return
            if isinstance(event, BodyTooLarge):
                raise BodyRefused(
                    413, f"the request body is larger than {event.limit} bytes", "request_size"
                )
            if isinstance(event, Malformed):
                raise BodyRefused(400, f"malformed request body: {event.reason}", "bad_request")
            if isinstance(event, BodyData):
                count.add(event.data, keep)
                yield event.data

    async def drain_request(self, head: RequestHead) -> None:
        """Read and drop what is left of a request the gateway answered without reading its
        body, so the connection can carry the next one. A body declared (or found) larger
        than DRAIN_LIMIT, or one the client holds back for 100 Continue, is left unread:
        the connection closes instead."""
        if not self.layer.request_body_pending or (head.content_length or 0) > DRAIN_LIMIT:
            return
        if (head.header("expect") or "").lower() == "100-continue":
            return
        self.layer.limit_body(DRAIN_LIMIT)
        try:
            async for _ in self.body(BodyCount(), 0):
                pass
        except (BodyRefused, ClientGone):
            return

    async def whole_body(self, count: BodyCount, keep: int) -> bytes:
        """The request body read whole (bounded by the layer's body limit)."""
        parts = [data async for data in self.body(count, keep)]
        return b"".join(parts)

    async def _next_body_event(self) -> Event:
        while True:
            event = self.layer.next_event()
            if isinstance(event, ClientClosed):
                raise ClientGone("the client closed the connection during its request body")
            if not isinstance(event, NeedData):
                return event
            data = await self._read_within(BODY_TIMEOUT_S)
            if data is None:
                raise BodyRefused(408, "the request body took too long", "bad_request")
            self.layer.receive(data)

    async def _read_within(self, seconds: float) -> bytes | None:
        """Bytes from the client (b"" at its close), or None after ``seconds``."""
        try:
            async with asyncio.timeout(max(seconds, 0.0)):
                return await self.channel.read()
        except TimeoutError:
            return None

    def hold(self, data: bytes) -> None:
        """Keep ``data`` (a response head) to go out with the next send: a head and the body
        right behind it leave in one write, not two."""
        self._held += data

    async def send(self, data: bytes) -> None:
        if self._held:
            data, self._held = self._held + data, b""
        await self.channel.write(data)

    async def respond_whole(self, status: int, headers: Headers, content: bytes) -> None:
        """A complete response, if none has started (else there is nothing to do)."""
        if self.layer.phase is Phase.NOT_STARTED:
            await self.send(self.layer.whole_response(status, headers, content))
