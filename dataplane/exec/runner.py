"""Running one exec call as a native session: a socket pair inside the agent process.

One end goes to the resource's protocol driver (the same driver, addons, masking and
guardrails a native client meets; plaintext is fine: the pair never leaves the process);
the exec client speaks the client side on the other end with the caller's gateway token
(pg_client for PostgreSQL, http_client for http and llm resources). So an exec call gets
exactly what a native session gets: the access check, single-use grants, masked rows,
guardrail verdicts and holds, audit events. The witness addon (witness.py) tells the runner
what the wire does not show: the guardrail rule, the hold, the refusal.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
from collections.abc import Awaitable, Callable, Mapping

from dataplane.contract.exec_call import (
    CORRELATION_PARAMETER,
    EXEC_ID_PARAMETER,
    ExecCall,
    ExecErrorCode,
    ExecResult,
)
from dataplane.core.addons import AddonChain
from dataplane.core.server import READ_CHUNK, ConnectionHandler, GatewayServices
from dataplane.core.tasks import spawn
from dataplane.exec.http_client import HttpExecFailed, OneRequestClient
from dataplane.exec.outcomes import (
    failed,
    held_outcome,
    http_outcome,
    refused_outcome,
    sql_outcome,
)
from dataplane.exec.pg_client import SimpleQueryClient
from dataplane.exec.witness import ExecWitness, Witnessed
from dataplane.protocols.postgres.wire.errors import ProtocolViolation
from dataplane.protocols.postgres.wire.framing import MessageFramer

log = logging.getLogger("gatehouse.exec")

SERVER_MAX_MESSAGE = 1024 * 1024 * 1024
DRIVER_STOP_TIMEOUT_S = 5.0
HTTP_PROTOCOLS = frozenset({"http", "llm"})
ProtocolFactory = Callable[[GatewayServices], ConnectionHandler]
Conversation = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class ExecRunner:
    """Runs exec calls through the agent's protocol drivers; one driver per protocol."""

    def __init__(self, services: GatewayServices, protocols: Mapping[str, ProtocolFactory]):
        self.witness = ExecWitness()
        chain = AddonChain([*services.chain.addons, self.witness])
        self._services = dataclasses.replace(services, chain=chain, allow_plaintext=True)
        self._protocols = protocols
        self._drivers: dict[str, ConnectionHandler] = {}

    async def run(self, call: ExecCall) -> ExecResult:
        """The call's result or error; never raises except on cancellation."""
        witnessed = self.witness.watch(call.id)
        try:
            return await self._run(call, witnessed)
        except Exception:
            log.exception("exec call %s failed inside the agent", call.id)
            return failed(call, ExecErrorCode.INTERNAL, "the exec call failed inside the gateway")
        finally:
            self.witness.forget(call.id)

    async def _run(self, call: ExecCall, witnessed: Witnessed) -> ExecResult:
        resource = self._services.config.resource(call.resource)
        if resource is None:
            message = f'resource "{call.resource}" does not exist on this gateway'
            return failed(call, ExecErrorCode.UNKNOWN_RESOURCE, message)
        protocol = "http" if resource.protocol in HTTP_PROTOCOLS else resource.protocol
        if protocol not in self._protocols:
            message = f"exec on {resource.protocol} resources is not available on this agent"
            return failed(call, ExecErrorCode.UNSUPPORTED, message)
        wanted = "sql" if protocol == "postgres" else "http"
        if (call.sql is not None) != (wanted == "sql"):
            message = f"a {resource.protocol} resource takes {wanted} calls"
            return failed(call, ExecErrorCode.BAD_REQUEST, message)
        try:
            async with asyncio.timeout(call.timeout_s):
                if protocol == "postgres":
                    return sql_outcome(call, await self._sql(call), witnessed)
                return http_outcome(call, await self._http(call), witnessed)
        except TimeoutError:
            return held_outcome(call, witnessed)
        except (ProtocolViolation, HttpExecFailed, ConnectionError) as exc:
            log.warning("exec call %s: the session broke off: %s", call.id, exc)
            if witnessed.refusal is not None:
                return refused_outcome(call, witnessed.refusal)
            return failed(call, ExecErrorCode.INTERNAL, "the exec session broke off")

    async def _sql(self, call: ExecCall) -> SimpleQueryClient:
        assert call.sql is not None
        client = SimpleQueryClient(
            database=call.resource,
            token=call.token,
            sql=call.sql,
            max_rows=call.max_rows,
            parameters={CORRELATION_PARAMETER: call.correlation_id, EXEC_ID_PARAMETER: call.id},
        )
        await self._converse(call, "postgres", lambda r, w: _speak_sql(client, r, w))
        return client

    async def _http(self, call: ExecCall) -> OneRequestClient:
        assert call.http is not None
        client = OneRequestClient(
            resource=call.resource,
            call=call.http,
            token=call.token,
            correlation_id=call.correlation_id,
            call_id=call.id,
        )
        await self._converse(call, "http", lambda r, w: _speak_http(client, r, w))
        return client

    @property
    def drivers(self) -> list[ConnectionHandler]:
        """The protocol drivers made so far (the agent closes them at shutdown)."""
        return list(self._drivers.values())

    def _driver(self, protocol: str) -> ConnectionHandler:
        """The protocol's connection handler for exec sessions, made on first use."""
        if protocol not in self._drivers:
            self._drivers[protocol] = self._protocols[protocol](self._services)
        return self._drivers[protocol]

    async def _converse(self, call: ExecCall, protocol: str, speak: Conversation) -> None:
        """Start a driver session on one end of a socket pair and speak the client side."""
        ours, theirs = socket.socketpair()
        # Like a listener's connection: a clean stop lets the session end (and clean up).
        session = spawn(
            _serve(self._driver(protocol), theirs),
            name=f"exec-session-{call.id}",
            finish_before_exit=True,
        )
        reader, writer = await asyncio.open_connection(sock=ours)
        try:
            await speak(reader, writer)
        finally:
            writer.close()
            await _stopped(session)


async def _serve(driver: ConnectionHandler, sock: socket.socket) -> None:
    """The driver side of the pair, guarded like a listener's connection."""
    reader, writer = await asyncio.open_connection(sock=sock)
    try:
        await driver(reader, writer)
    except Exception:
        log.exception("exec session driver failed")
    finally:
        if not writer.is_closing():
            writer.transport.abort()


async def _speak_sql(
    client: SimpleQueryClient, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    framer = MessageFramer(SERVER_MAX_MESSAGE)
    writer.write(client.start())
    await writer.drain()
    while not client.finished:
        data = await reader.read(READ_CHUNK)
        if not data:
            client.connection_closed()
            return
        for message_type, body in framer.feed(data):
            reply = client.receive(message_type, body)
            if reply:
                writer.write(reply)
                await writer.drain()
            if client.finished:
                return


async def _speak_http(
    client: OneRequestClient, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    writer.write(client.start())
    await writer.drain()
    while not client.finished:
        client.receive(await reader.read(READ_CHUNK))


async def _stopped(session: asyncio.Task[None]) -> None:
    """Wait for the driver session to end (it sees our side close); cancel it if it won't."""
    done, _ = await asyncio.wait({session}, timeout=DRIVER_STOP_TIMEOUT_S)
    if not done:
        session.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await session
