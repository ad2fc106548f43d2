"""The only module that opens sockets: listeners for each protocol and upstream connections.

A protocol driver gets a connected (reader, writer) pair per client and asks this module for
upstream connections; everything else it does is protocol logic plus addon calls.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from dataplane.core.addons import AddonChain
from dataplane.core.config import ConfigStore
from dataplane.core.session import SessionRegistry
from dataplane.core.tasks import hold_current_task

log = logging.getLogger("gatehouse.server")

ConnectionHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@runtime_checkable
class ClosingHandler(Protocol):
    """A connection handler holding resources of its own (the HTTP plug-in's upstream
    clients) that the agent closes at shutdown, once its sessions have ended."""

    async def aclose(self) -> None: ...


# Read size for relaying: big enough that a large result moves in few syscalls.
READ_CHUNK = 256 * 1024
STREAM_LIMIT = 256 * 1024
UPSTREAM_CONNECT_TIMEOUT_S = 10.0


@dataclass
class GatewayServices:
    """What every protocol driver needs from the agent, handed over in one place."""

    config: ConfigStore
    chain: AddonChain
    sessions: SessionRegistry
    tls: ssl.SSLContext | None
    allow_plaintext: bool


@dataclass(frozen=True)
class Listen:
    protocol: str
    host: str
    port: int


async def start_listener(listen: Listen, handler: ConnectionHandler) -> asyncio.Server:
    """Accept clients on host:port and run `handler` for each (errors logged, never raised)."""

    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A clean stop waits for a connection to end (and start its cleanup) before exiting.
        hold_current_task(name=f"{listen.protocol}-connection", finish_before_exit=True)
        try:
            await handler(reader, writer)
        except Exception:
            log.exception("%s connection handler failed", listen.protocol)
        finally:
            if not writer.is_closing():
                writer.transport.abort()

    server = await asyncio.start_server(
        guarded, listen.host, listen.port, limit=STREAM_LIMIT, backlog=1024
    )
    for sock in server.sockets:
        log.info("%s listener on %s", listen.protocol, sock.getsockname()[:2])
    return server


async def close_handlers(handlers: Iterable[ConnectionHandler]) -> None:
    """Close the handlers that hold resources; a failure is logged, the others still close."""
    for handler in handlers:
        if isinstance(handler, ClosingHandler):
            try:
                await handler.aclose()
            except Exception:
                log.exception("closing a connection handler failed")


async def open_upstream(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to a resource, bounded by UPSTREAM_CONNECT_TIMEOUT_S."""
    async with asyncio.timeout(UPSTREAM_CONNECT_TIMEOUT_S):
        reader, writer = await asyncio.open_connection(host, port, limit=STREAM_LIMIT)
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return reader, writer
