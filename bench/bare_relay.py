"""The floor for any Python proxy: a bare uvloop TCP relay with no parsing, auth or audit.

`make bench` runs pgbench through it so the agent's own cost shows apart from what Python,
asyncio and the extra hop cost on this machine. Usage: python -m bench.bare_relay LISTEN UPSTREAM
"""

from __future__ import annotations

import asyncio
import socket
import sys

import uvloop


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(256 * 1024):
        writer.write(data)
        await writer.drain()
    writer.close()


async def _relay(
    upstream_port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
    upstream_writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    await asyncio.gather(
        _pump(reader, upstream_writer), _pump(upstream_reader, writer), return_exceptions=True
    )


async def main(listen_port: int, upstream_port: int) -> None:
    server = await asyncio.start_server(
        lambda r, w: _relay(upstream_port, r, w), "127.0.0.1", listen_port
    )
    await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]), int(sys.argv[2])))
