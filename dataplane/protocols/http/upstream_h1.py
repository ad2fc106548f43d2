"""Plaintext HTTP/1.1 upstream connections on h11: a small kept-alive pool per upstream.

httpx's client is most of the agent's CPU per request on a plain HTTP upstream (its
cookie jar, URL model, redirect and auth layers, anyio streams and a pool that looks at
every connection on every request). For ``http://`` upstreams the gateway needs none of
that: one request at a time per connection, the head written as the driver built it
(plus ``Host``), the body streamed, the response relayed. HTTPS upstreams keep httpx
(certificate checks, HTTP/2).

What the gateway sends is exactly the headers it passes: no default User-Agent, Accept or
Accept-Encoding is added, and no cookie jar keeps one caller's cookies for the next.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator

import h11

# Kept-alive connections left idle per upstream (more are closed after their response).
MAX_IDLE = 64
# Requests in flight at once per upstream; more wait (up to their timeout) for a turn.
MAX_IN_FLIGHT = 256
READ_CHUNK = 64 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
Headers = list[tuple[str, str]]


class UpstreamBroke(Exception):
    """The upstream failed mid-response (its type name is what the audit records)."""


class ReadTimeout(UpstreamBroke):
    pass


class ReadError(UpstreamBroke):
    pass


class RemoteProtocolError(UpstreamBroke):
    pass


class NoResponse(Exception):
    """No response head arrived: ``timed_out``, or the connection failed before it."""

    def __init__(self, message: str, *, timed_out: bool) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class ResponseHeaders:
    """A response's headers as received (names lower-case, values latin-1)."""

    def __init__(self, items: Headers) -> None:
        self._items = items

    def get(self, name: str, default: str | None = None) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self._items if key == wanted), default)

    def multi_items(self) -> Headers:
        return list(self._items)


class _Connection:
    """One TCP connection to the upstream and its HTTP/1.1 state."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT)
        self.reused = False

    def usable(self) -> bool:
        """Idle and still open (the upstream may have closed it since its last response;
        a close not noticed yet fails the next request early, and it is sent again)."""
        return not self.writer.is_closing() and not self.reader.at_eof()

    async def write(self, timeout_s: float, *events: h11.Event) -> None:
        """Send ``events`` in one write; NoResponse when the upstream takes them too slowly
        or fails."""
        try:
            data = b"".join(self.h11.send(event) or b"" for event in events)
            if data:
                self.writer.write(data)
                if self.writer.transport.get_write_buffer_size():  # else all went at once
                    async with asyncio.timeout(timeout_s):
                        await self.writer.drain()
        except TimeoutError:
            raise NoResponse(
                "the upstream did not take the request in time", timed_out=True
            ) from None
        except (OSError, h11.LocalProtocolError) as exc:
            raise NoResponse(
                f"the upstream failed: {type(exc).__name__}", timed_out=False
            ) from None

    async def next_event(self, timeout_s: float) -> h11.Event | type[h11.PAUSED]:
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]
            async with asyncio.timeout(timeout_s):
                data = await self.reader.read(READ_CHUNK)
            self.h11.receive_data(data)

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()


class Http1Response:
    """A response whose body is still to be read (``aiter_raw``/``aiter_bytes``, once);
    ``aclose`` gives the connection back when the body was read to its end, else closes
    it."""

    def __init__(
        self, pool: Http1Pool, connection: _Connection, head: h11.Response, timeout_s: float
    ) -> None:
        self._pool = pool
        self._connection: _Connection | None = connection
        self._timeout_s = timeout_s
        self.status_code = head.status_code
        self.headers = ResponseHeaders(
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in head.headers]
        )

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        """The body as the upstream sent it (its Content-Encoding kept)."""
        connection = self._connection
        if connection is None:
            return
        while True:
            try:
                event = await connection.next_event(self._timeout_s)
            except TimeoutError:
                raise ReadTimeout("the upstream was too slow to send its body") from None
            except h11.RemoteProtocolError as exc:
                raise RemoteProtocolError(str(exc)) from None
            except OSError as exc:
                raise ReadError(type(exc).__name__) from None
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._finished()
                return
            else:  # ConnectionClosed before the end, or PAUSED (not for a client)
                raise RemoteProtocolError("the upstream closed before the body ended")

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body decoded (gzip, deflate; identity passes through)."""
        decoder = _decoder(self.headers.get("content-encoding"))
        async for chunk in self.aiter_raw():
            out = decoder.decompress(chunk) if decoder is not None else chunk
            if out:
                yield out
        if decoder is not None:
            rest = decoder.flush()
            if rest:
                yield rest

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
            self._pool.release()

    def _finished(self) -> None:
        connection, self._connection = self._connection, None
        assert connection is not None
        self._pool.give_back(connection)


class Http1Pool:
    """Kept-alive connections to one plaintext upstream ``host:port``."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        name = f"[{host}]" if ":" in host and not host.startswith("[") else host
        self._host_header = f"{name}:{port}" if port != 80 else name
        self._idle: list[_Connection] = []
        self._turns = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._closed = False

    async def send(
        self, method: str, target: str, headers: Headers, body: bytes | AsyncIterator[bytes],
        timeout_s: float,
    ) -> Http1Response:  # fmt: skip
        """Send the request and return once its response head arrived; raise NoResponse
        (the connection is closed then). A body read whole is sent again, once, when a
        kept-alive connection turns out to have been closed by the upstream."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._turns.acquire()
        except TimeoutError:
            raise NoResponse("no free upstream connection in time", timed_out=True) from None
        try:
            framed = self._framed(method, headers, body)
            connection = await self._connection(timeout_s)
            try:
                return await self._exchange(connection, method, target, framed, body, timeout_s)
            except NoResponse as failed:
                if not connection.reused or failed.timed_out or not isinstance(body, bytes):
                    raise
            connection = await self._connection(timeout_s, fresh=True)
            return await self._exchange(connection, method, target, framed, body, timeout_s)
        except BaseException:
            self.release()
            raise

    def give_back(self, connection: _Connection) -> None:
        """After a complete response: idle for the next request, or closed."""
        self.release()
        h = connection.h11
        if (
            self._closed
            or h.our_state is not h11.DONE
            or h.their_state is not h11.DONE
            or len(self._idle) >= MAX_IDLE
        ):
            connection.close()
            return
        h.start_next_cycle()
        connection.reused = True
        self._idle.append(connection)

    def release(self) -> None:
        self._turns.release()

    def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _framed(self, method: str, headers: Headers, body: bytes | AsyncIterator[bytes]) -> Headers:
        framed = [("host", self._host_header), *headers]
        if isinstance(body, bytes):
            if body or method in BODY_METHODS:
                framed.append(("content-length", str(len(body))))
        elif not any(name.lower() == "content-length" for name, _ in headers):
            framed.append(("transfer-encoding", "chunked"))
        return framed

    async def _connection(self, timeout_s: float, *, fresh: bool = False) -> _Connection:
        while self._idle and not fresh:
            connection = self._idle.pop()
            if connection.usable():
                return connection
            connection.close()
        try:
            async with asyncio.timeout(timeout_s):
                reader, writer = await asyncio.open_connection(
                    self.host, self.port, limit=READ_CHUNK
                )
        except TimeoutError:
            raise NoResponse("connecting took too long", timed_out=True) from None
        except OSError as exc:
            raise NoResponse(f"cannot connect: {type(exc).__name__}", timed_out=False) from None
        return _Connection(reader, writer)

    async def _exchange(
        self, connection: _Connection, method: str, target: str, headers: Headers,
        body: bytes | AsyncIterator[bytes], timeout_s: float,
    ) -> Http1Response:  # fmt: skip
        try:
            head = await self._request(connection, method, target, headers, body, timeout_s)
        except BaseException:
            connection.close()
            raise
        return Http1Response(self, connection, head, timeout_s)

    async def _request(
        self, connection: _Connection, method: str, target: str, headers: Headers,
        body: bytes | AsyncIterator[bytes], timeout_s: float,
    ) -> h11.Response:  # fmt: skip
        """Write the request (a streamed body's own errors, the client's, pass through)
        and read up to the response head."""
        try:
            request = h11.Request(method=method, target=target, headers=headers)
        except h11.LocalProtocolError as exc:
            raise NoResponse("the request cannot be sent", timed_out=False) from exc
        if isinstance(body, bytes):  # head, body and end in one write
            whole = [h11.Data(data=body)] if body else []
            await connection.write(timeout_s, request, *whole, h11.EndOfMessage())
        else:
            await connection.write(timeout_s, request)
            async for data in body:
                if data:
                    await connection.write(timeout_s, h11.Data(data=data))
            await connection.write(timeout_s, h11.EndOfMessage())
        try:
            while True:
                event = await connection.next_event(timeout_s)
                if isinstance(event, h11.Response):
                    return event
                if not isinstance(event, h11.InformationalResponse):  # 1xx: wait on
                    raise NoResponse("the upstream closed without answering", timed_out=False)
        except TimeoutError:
            raise NoResponse("the upstream did not answer in time", timed_out=True) from None
        except (OSError, h11.RemoteProtocolError) as exc:
            raise NoResponse(
                f"the upstream failed: {type(exc).__name__}", timed_out=False
            ) from None


def _decoder(encoding: str | None) -> zlib._Decompress | None:
    """A decompressor for the response's Content-Encoding (None: identity). An encoding
    the gateway cannot decode fails the read (the model call never sees bytes it cannot
    understand)."""
    name = (encoding or "identity").strip().lower()
    if name == "identity":
        return None
    if name in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if name == "deflate":
        return zlib.decompressobj()
    raise RemoteProtocolError(f"unsupported Content-Encoding {name!r}")
