"""The plaintext upstream pool (h11) against a real TCP server that answers as scripted:
connections are kept alive and reused, a connection the upstream closed while idle is
replaced (the request sent again), framing and headers are exactly the gateway's, and
timeouts, early closes and unread responses end in the right error or a closed
connection."""

from __future__ import annotations

import asyncio
import functools
import gzip
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from dataplane.contract import HttpSettings, ResourceSpec
from dataplane.protocols.http.upstream import UpstreamClients
from dataplane.protocols.http.upstream_h1 import (
    Http1Pool,
    NoResponse,
    ReadTimeout,
    RemoteProtocolError,
)


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """Run an async test on a fresh event loop (the suite has no asyncio plugin)."""

    @functools.wraps(test)
    def wrapper() -> None:
        asyncio.run(test())

    return wrapper


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class Upstream:
    """A TCP server: every request (head, and body by Content-Length or chunked) is
    recorded; ``answer(request_number)`` gives the bytes to send back (None: close)."""

    def __init__(self, answer: Callable[[int], bytes | None] = lambda _: OK) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self.connections = 0
        self.close_after_reply = False
        self.ended = 0  # connections closed (by either side)
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> Upstream:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self.server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                self.requests.append(request)
                reply = self.answer(len(self.requests))
                if reply is None:
                    return
                writer.write(reply)
                await writer.drain()
                if self.close_after_reply:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self.ended += 1
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lower = head.lower()
    if b"content-length:" in lower:
        length = int(lower.split(b"content-length:")[1].split(b"\r\n")[0])
        return head + await reader.readexactly(length)
    if b"transfer-encoding: chunked" in lower:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            body += chunk[:-2]
            if size == 0:
                return head + body
    return head


async def read_all(response: Any) -> bytes:
    return b"".join([chunk async for chunk in response.aiter_raw()])


@run
async def test_a_connection_is_kept_alive_and_reused_and_headers_are_the_gateways_only() -> None:
    async with Upstream() as upstream:
        pool = Http1Pool("127.0.0.1", upstream.port)
        for _ in range(3):
            response = await pool.send("GET", "/api/echo?a=1", [("x-a", "1")], b"", 5)
            assert response.status_code == 200
            assert response.headers.get("Content-Type") == "text/plain"
            assert await read_all(response) == b"ok"
            await response.aclose()
        pool.close()

    assert upstream.connections == 1
    assert (
        upstream.requests[0]
        == (
            f"GET /api/echo?a=1 HTTP/1.1\r\nhost: 127.0.0.1:{upstream.port}\r\nx-a: 1\r\n\r\n"
        ).encode()
    )


@run
async def test_a_body_read_whole_gets_its_length_and_a_streamed_one_goes_chunked() -> None:
    async def streamed() -> AsyncIterator[bytes]:
        yield b"hello "
        yield b""
        yield b"world"

    async with Upstream() as upstream:
        pool = Http1Pool("127.0.0.1", upstream.port)
        for body in (b'{"a": 1}', streamed()):
            response = await pool.send("POST", "/p", [], body, 5)
            await read_all(response)
        empty = await pool.send("POST", "/p", [], b"", 5)
        await read_all(empty)
        pool.close()

    whole, chunked, nothing = upstream.requests
    assert b"content-length: 8\r\n" in whole and whole.endswith(b'{"a": 1}')
    assert b"transfer-encoding: chunked\r\n" in chunked and chunked.endswith(b"hello world")
    assert b"content-length: 0\r\n" in nothing


@run
async def test_a_connection_the_upstream_closed_while_idle_is_replaced() -> None:
    # The upstream answers and then closes each connection without saying so.
    async with Upstream(lambda n: OK if n % 2 else None) as upstream:
        pool = Http1Pool("127.0.0.1", upstream.port)
        first = await pool.send("GET", "/", [], b"", 5)
        await read_all(first)
        await asyncio.sleep(0.05)  # the close has not been noticed by anybody yet
        second = await pool.send("GET", "/", [], b"", 5)
        assert await read_all(second) == b"ok"
        pool.close()

    assert upstream.connections >= 2


@run
async def test_no_answer_in_time_is_a_timeout_and_a_refused_connection_is_not() -> None:
    async with Upstream(lambda _: b"") as upstream:  # reads the request, never answers
        pool = Http1Pool("127.0.0.1", upstream.port)
        with pytest.raises(NoResponse) as slow:
            await pool.send("GET", "/", [], b"", 0.2)
        port = upstream.port
    assert slow.value.timed_out
    await asyncio.sleep(0.05)
    with pytest.raises(NoResponse) as refused:
        await Http1Pool("127.0.0.1", port).send("GET", "/", [], b"", 2)
    assert not refused.value.timed_out


@run
async def test_a_body_cut_short_or_too_slow_breaks_the_read() -> None:
    short = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"
    async with Upstream(lambda _: short) as upstream:
        pool = Http1Pool("127.0.0.1", upstream.port)
        response = await pool.send("GET", "/", [], b"", 0.3)
        with pytest.raises(ReadTimeout):
            await read_all(response)
        await response.aclose()

    async with Upstream(lambda _: short) as upstream:
        upstream.close_after_reply = True
        pool = Http1Pool("127.0.0.1", upstream.port)
        response = await pool.send("GET", "/", [], b"", 2)
        with pytest.raises(RemoteProtocolError):
            await read_all(response)
        await response.aclose()


@run
async def test_an_unread_response_closes_its_connection_instead_of_reusing_it() -> None:
    async with Upstream() as upstream:
        pool = Http1Pool("127.0.0.1", upstream.port)
        response = await pool.send("GET", "/", [], b"", 5)
        await response.aclose()  # body never read (e.g. an OAuth 401 before the retry)
        again = await pool.send("GET", "/", [], b"", 5)
        assert await read_all(again) == b"ok"
        pool.close()

    assert upstream.connections == 2


@run
async def test_aiter_bytes_decodes_gzip_and_aiter_raw_keeps_it() -> None:
    packed = gzip.compress(b'{"answer": 42}')
    reply = (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
        + f"Content-Length: {len(packed)}\r\n\r\n".encode()
        + packed
    )
    async with Upstream(lambda _: reply) as upstream:
        pool = Http1Pool("127.0.0.1", upstream.port)
        decoded = await pool.send("GET", "/", [], b"", 5)
        assert b"".join([c async for c in decoded.aiter_bytes()]) == b'{"answer": 42}'
        raw = await pool.send("GET", "/", [], b"", 5)
        assert await read_all(raw) == packed
        pool.close()


@run
async def test_the_shared_httpx_client_keeps_no_cookie_for_the_next_caller() -> None:
    reply = (
        b"HTTP/1.1 200 OK\r\nSet-Cookie: sid=alice-session; Path=/\r\nContent-Length: 2\r\n\r\nok"
    )
    async with Upstream(lambda _: reply) as upstream:
        resource = ResourceSpec(
            name="api", protocol="http", host="127.0.0.1", port=upstream.port, database="",
            upstream_user="", upstream_password="k", http=HttpSettings(scheme="http"),
        )  # fmt: skip
        upstreams = UpstreamClients()
        client = upstreams.client_for(resource, HttpSettings(scheme="http"))
        for _ in range(2):
            (await client.get(f"http://127.0.0.1:{upstream.port}/")).raise_for_status()
        await upstreams.aclose()

    assert b"cookie" not in upstream.requests[1].lower().replace(b"set-cookie", b"")


@run
async def test_closing_the_upstream_clients_closes_the_kept_alive_connections() -> None:
    async with Upstream() as upstream:
        resource = ResourceSpec(
            name="api", protocol="http", host="127.0.0.1", port=upstream.port, database="",
            upstream_user="", upstream_password="k", http=HttpSettings(scheme="http"),
        )  # fmt: skip
        upstreams = UpstreamClients()
        settings = HttpSettings(scheme="http")
        url = f"http://127.0.0.1:{upstream.port}/"
        response = await upstreams.send(resource, settings, ("GET", url, [], b""))
        assert await read_all(response) == b"ok"
        assert upstream.ended == 0  # kept alive

        await upstreams.aclose()
        for _ in range(50):
            if upstream.ended:
                break
            await asyncio.sleep(0.01)

    assert upstream.ended == 1
