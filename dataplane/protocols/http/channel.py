"""The client's byte channel: TLS or plaintext, decided by the first byte it sends.

A TLS ClientHello starts with 0x16 (a handshake record). The first bytes are already read
when that is known, and asyncio's ``start_tls`` cannot be handed bytes the stream has
consumed, so TLS runs over memory BIOs here (``ssl.SSLObject``): the bytes read so far go
in first, then whatever the socket brings. Everything above sees plain HTTP bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Protocol

from dataplane.core.server import READ_CHUNK

TLS_HANDSHAKE_RECORD = 0x16


class ClientGone(Exception):
    """The client closed or broke the connection (also: a failed TLS handshake)."""


class Channel(Protocol):
    tls: bool

    async def read(self) -> bytes:
        """Plain bytes from the client; b"" once it has closed its side."""
        ...

    async def write(self, data: bytes) -> None:
        """Send plain bytes to the client (drained)."""
        ...

    def close(self) -> None: ...


def starts_tls(first: bytes) -> bool:
    return bool(first) and first[0] == TLS_HANDSHAKE_RECORD


class PlainChannel:
    tls = False

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, first: bytes
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._pending = first

    async def read(self) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        return await self._reader.read(READ_CHUNK)

    async def write(self, data: bytes) -> None:
        if data:
            self._writer.write(data)
            await self._writer.drain()

    def close(self) -> None:
        if not self._writer.is_closing():
            self._writer.close()


class TlsChannel:
    """Server-side TLS over the raw stream; ``handshake`` must succeed before use."""

    tls = True

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        context: ssl.SSLContext,
        first: bytes,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._ssl = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self._incoming.write(first)

    async def handshake(self) -> None:
        """Complete the handshake; raise ClientGone when it fails."""
        while True:
            try:
                self._ssl.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self._flush()
                await self._fill()
            except ssl.SSLError as exc:
                await self._flush_quietly()  # the alert tells the client why
                raise ClientGone(f"TLS handshake failed: {exc.reason or exc}") from exc
        await self._flush()

    async def read(self) -> bytes:
        while True:
            try:
                return self._ssl.read(READ_CHUNK)
            except ssl.SSLWantReadError:
                await self._flush()  # e.g. TLS 1.3 session tickets
                if not await self._fill(eof_ok=True):
                    return b""
            except ssl.SSLZeroReturnError:
                return b""
            except ssl.SSLError as exc:
                raise ClientGone(f"TLS error: {exc.reason or exc}") from exc

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = self._ssl.write(view)
            view = view[written:]
        await self._flush()

    def close(self) -> None:
        if not self._writer.is_closing():
            self._writer.close()

    async def _fill(self, *, eof_ok: bool = False) -> bool:
        data = await self._reader.read(READ_CHUNK)
        if not data:
            if eof_ok:
                return False
            raise ClientGone("the client closed the connection during the TLS handshake")
        self._incoming.write(data)
        return True

    async def _flush(self) -> None:
        pending = self._outgoing.read()
        if pending:
            self._writer.write(pending)
            await self._writer.drain()

    async def _flush_quietly(self) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            await self._flush()
