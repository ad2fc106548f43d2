"""Connections from the gateway to a PostgreSQL resource: TLS negotiation, login, and the
gateway's own statements. The wire work is sans-I/O (`wire.login`, `wire.simple_query`);
this module only moves its bytes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from dataplane.contract import ResourceSpec
from dataplane.core import tls as tls_contexts
from dataplane.core.server import READ_CHUNK, open_upstream
from dataplane.protocols.postgres.wire import errors, messages
from dataplane.protocols.postgres.wire.framing import MessageFramer
from dataplane.protocols.postgres.wire.login import UpstreamLogin, UpstreamLoginFailed
from dataplane.protocols.postgres.wire.simple_query import SimpleQuery

LOGIN_MAX_MESSAGE = 64 * 1024
RESULT_MAX_MESSAGE = 16 * 1024 * 1024  # the gateway's own queries return small results
ADMIN_TIMEOUT_S = 15.0


@dataclass
class UpstreamConnection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def close(self) -> None:
        """Terminate politely; abort if the server does not let go in 2 s."""
        if self.writer.is_closing():
            return
        try:
            self.writer.write(messages.terminate())
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), timeout=2)
        except (ConnectionError, TimeoutError, OSError):
            self.writer.transport.abort()


async def connect(resource: ResourceSpec) -> UpstreamConnection:
    """A TCP connection to the resource, upgraded to TLS as its `upstream_tls` says."""
    reader, writer = await open_upstream(resource.host, resource.port)
    connection = UpstreamConnection(reader, writer)
    context = tls_contexts.client_context(resource.upstream_tls, None)
    if context is None:
        return connection
    writer.write(messages.ssl_request())
    await writer.drain()
    answer = await reader.readexactly(1)
    if answer == b"S":
        await writer.start_tls(context, server_hostname=resource.host)
    elif resource.upstream_tls == "require":
        raise UpstreamLoginFailed(errors.CONNECTION_FAILURE, "upstream does not offer TLS")
    return connection


async def log_in(connection: UpstreamConnection, login: UpstreamLogin) -> None:
    """Drive `login` to DONE (it raises UpstreamLoginFailed or ProtocolViolation if not)."""
    connection.writer.write(login.start())
    framer = MessageFramer(LOGIN_MAX_MESSAGE)
    while not login.done:
        data = await connection.reader.read(READ_CHUNK)
        if not data:
            raise UpstreamLoginFailed(errors.CONNECTION_FAILURE, "upstream closed during login")
        for message_type, body in framer.feed(data):
            reply = login.receive(message_type, body)
            if reply:
                connection.writer.write(reply)
        await connection.writer.drain()


async def run_query(connection: UpstreamConnection, sql: str) -> SimpleQuery:
    """Send `sql` by the simple query protocol and collect the answer up to ReadyForQuery.
    The caller checks `raise_for_error()`."""
    query = SimpleQuery(sql)
    connection.writer.write(query.start())
    await connection.writer.drain()
    framer = MessageFramer(RESULT_MAX_MESSAGE)
    while not query.done:
        data = await connection.reader.read(READ_CHUNK)
        if not data:
            raise ConnectionError("upstream closed during a gateway query")
        for message_type, body in framer.feed(data):
            query.receive(message_type, body)
    return query


@asynccontextmanager
async def admin_connection(resource: ResourceSpec) -> AsyncIterator[UpstreamConnection]:
    """A short connection as the resource's stored (managing) user, for the gateway's own
    statements; closed on the way out."""
    async with asyncio.timeout(ADMIN_TIMEOUT_S):
        connection = await connect(resource)
    try:
        login = UpstreamLogin(
            user=resource.upstream_user,
            database=resource.database,
            password=resource.upstream_password,
            parameters={"application_name": "gatehouse-agent"},
        )
        async with asyncio.timeout(ADMIN_TIMEOUT_S):
            await log_in(connection, login)
        yield connection
    finally:
        await connection.close()
