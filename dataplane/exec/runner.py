"""Running one exec call as a native session: a socket pair inside the agent process.

One end goes to the resource's protocol driver (the same driver, addons, masking and
guardrails a native client meets; plaintext is fine: the pair never leaves the process);
the exec client speaks the client side on the other end with the caller's gateway token.
What the driver and addons do is therefore exactly what a native session gets: the access
check, single-use grants, masking of rows, guardrail verdicts and holds, audit events.

The witness addon, appended to the chain for these sessions only, tells the runner which
guardrail acted on its call (the wire shows only an ErrorResponse), matched by the exec id
startup parameter the driver keeps to itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
from collections.abc import Callable, Mapping

from dataplane.contract import Action
from dataplane.contract.exec_call import (
    CORRELATION_PARAMETER,
    EXEC_ID_PARAMETER,
    ExecCall,
    ExecError,
    ExecErrorCode,
    ExecResult,
)
from dataplane.core.addons import Addon, AddonChain, GuardrailEvent
from dataplane.core.server import READ_CHUNK, ConnectionHandler, GatewayServices
from dataplane.core.session import Session
from dataplane.core.tasks import spawn
from dataplane.exec.pg_client import SimpleQueryClient
from dataplane.protocols.postgres.wire import errors as pg_errors
from dataplane.protocols.postgres.wire.errors import ProtocolViolation
from dataplane.protocols.postgres.wire.framing import MessageFramer

log = logging.getLogger("gatehouse.exec")

SERVER_MAX_MESSAGE = 1024 * 1024 * 1024
DRIVER_STOP_TIMEOUT_S = 5.0
ProtocolFactory = Callable[[GatewayServices], ConnectionHandler]

# A refused session's SQLSTATE (proxy.REFUSAL_SQLSTATE) -> the exec error it is.
REFUSAL_CODES = {
    pg_errors.INVALID_AUTHORIZATION: ExecErrorCode.REFUSED,
    pg_errors.INVALID_PASSWORD: ExecErrorCode.REFUSED,
    pg_errors.INVALID_CATALOG_NAME: ExecErrorCode.UNKNOWN_RESOURCE,
    pg_errors.CONNECTION_FAILURE: ExecErrorCode.UPSTREAM_FAILED,
    pg_errors.CANNOT_CONNECT_NOW: ExecErrorCode.NOT_READY,
}


class ExecWitness(Addon):
    """Collects the guardrail events of exec sessions, per exec id."""

    name = "exec-witness"

    def __init__(self) -> None:
        self._calls: dict[str, list[GuardrailEvent]] = {}

    def watch(self, call_id: str) -> list[GuardrailEvent]:
        events: list[GuardrailEvent] = []
        self._calls[call_id] = events
        return events

    def forget(self, call_id: str) -> None:
        self._calls.pop(call_id, None)

    def guardrail_acted(self, session: Session, event: GuardrailEvent) -> None:
        """Note the event for the exec call whose session this is (if any)."""
        events = self._calls.get(session.client_parameters.get(EXEC_ID_PARAMETER, ""))
        if events is not None:
            events.append(event)


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
        events = self.witness.watch(call.id)
        try:
            return await self._run(call, events)
        except Exception:
            log.exception("exec call %s failed inside the agent", call.id)
            return _failed(call, ExecErrorCode.INTERNAL, "the exec call failed inside the gateway")
        finally:
            self.witness.forget(call.id)

    async def _run(self, call: ExecCall, events: list[GuardrailEvent]) -> ExecResult:
        resource = self._services.config.resource(call.resource)
        if resource is None:
            message = f'resource "{call.resource}" does not exist on this gateway'
            return _failed(call, ExecErrorCode.UNKNOWN_RESOURCE, message)
        if resource.protocol == "postgres" and call.sql is None:
            return _failed(call, ExecErrorCode.BAD_REQUEST, "a postgres resource takes sql")
        if resource.protocol != "postgres":
            return await self._run_http(call, resource.protocol)
        try:
            async with asyncio.timeout(call.timeout_s):
                client = await self._converse(call, self._driver("postgres"))
        except TimeoutError:
            return _timed_out(call, events)
        except (ProtocolViolation, ConnectionError) as exc:
            log.warning("exec call %s: the session broke off: %s", call.id, exc)
            return _failed(call, ExecErrorCode.INTERNAL, "the exec session broke off")
        return _outcome(call, client, events)

    async def _run_http(self, call: ExecCall, protocol: str) -> ExecResult:
        if call.http is None:
            return _failed(call, ExecErrorCode.BAD_REQUEST, f"a {protocol} resource takes http")
        # The HTTP plug-in is not part of this agent yet: say so instead of guessing.
        message = f"exec on {protocol} resources is not available on this agent"
        return _failed(call, ExecErrorCode.UNSUPPORTED, message)

    def _driver(self, protocol: str) -> ConnectionHandler:
        """The protocol's connection handler for exec sessions, made on first use."""
        if protocol not in self._drivers:
            self._drivers[protocol] = self._protocols[protocol](self._services)
        return self._drivers[protocol]

    async def _converse(self, call: ExecCall, driver: ConnectionHandler) -> SimpleQueryClient:
        """Start a driver session on one end of a socket pair and speak the client side."""
        assert call.sql is not None
        client = SimpleQueryClient(
            database=call.resource,
            token=call.token,
            sql=call.sql,
            max_rows=call.max_rows,
            parameters={CORRELATION_PARAMETER: call.correlation_id, EXEC_ID_PARAMETER: call.id},
        )
        ours, theirs = socket.socketpair()
        # Like a listener's connection: a clean stop lets the session end (and clean up).
        session = spawn(
            _serve(driver, theirs), name=f"exec-session-{call.id}", finish_before_exit=True
        )
        reader, writer = await asyncio.open_connection(sock=ours)
        try:
            await _speak(client, reader, writer)
        finally:
            writer.close()
            await _stopped(session)
        return client


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


async def _speak(
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


async def _stopped(session: asyncio.Task[None]) -> None:
    """Wait for the driver session to end (it sees our side close); cancel it if it won't."""
    done, _ = await asyncio.wait({session}, timeout=DRIVER_STOP_TIMEOUT_S)
    if not done:
        session.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await session


def _outcome(call: ExecCall, client: SimpleQueryClient, events: list[GuardrailEvent]) -> ExecResult:
    if client.refusal is not None:
        return _refused(call, client.refusal)
    if client.error is not None:
        denied = next((e for e in events if e.action == Action.GUARDRAIL_DENIED), None)
        resolved = next(
            (
                e
                for e in events
                if e.action == Action.GUARDRAIL_HOLD_RESOLVED and e.outcome != "approved"
            ),
            None,
        )
        guardrail = denied or resolved
        if guardrail is not None:
            return ExecResult(
                id=call.id,
                error=ExecError(
                    ExecErrorCode.GUARDRAIL_DENIED,
                    client.error.get("M", guardrail.reason),
                    sqlstate=client.error.get("C", ""),
                    rule=guardrail.rule,
                    hold=guardrail.hold_id,
                ),
            )
        return ExecResult(
            id=call.id,
            error=ExecError(
                ExecErrorCode.SQL_ERROR,
                client.error.get("M", "the statement failed"),
                sqlstate=client.error.get("C", "XX000"),
            ),
        )
    return ExecResult(id=call.id, result=client.result.to_dict())


def _refused(call: ExecCall, fields: dict[str, str]) -> ExecResult:
    sqlstate = fields.get("C", "")
    code = REFUSAL_CODES.get(sqlstate, ExecErrorCode.REFUSED)
    message = fields.get("M", "the gateway refused the session")
    return ExecResult(id=call.id, error=ExecError(code, message, sqlstate=sqlstate))


def _timed_out(call: ExecCall, events: list[GuardrailEvent]) -> ExecResult:
    held = next((e for e in events if e.action == Action.GUARDRAIL_HELD), None)
    if held is not None:
        message = (
            f"the statement was held for approval by rule {held.rule!r} and not decided "
            f"within {call.timeout_s:g} s; the hold is withdrawn: call again with a longer "
            "timeout_s once an approver is at hand"
        )
        error = ExecError(ExecErrorCode.HELD, message, rule=held.rule, hold=held.hold_id)
        return ExecResult(id=call.id, error=error)
    return _failed(call, ExecErrorCode.TIMEOUT, f"no result within {call.timeout_s:g} s")


def _failed(call: ExecCall, code: ExecErrorCode, message: str) -> ExecResult:
    return ExecResult(id=call.id, error=ExecError(code, message))
