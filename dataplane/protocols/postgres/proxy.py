"""The PostgreSQL driver: startup, gateway authentication, upstream login, then the relay.

The wire-level work (framing, parsing, building messages, SCRAM, tracking statements) is in
the sans-I/O `wire` package; this module only moves bytes between the two sockets and calls
the addon chain at the right moments.

    client ──SSLRequest/Startup──▶ agent                         PostgreSQL
    client ◀──AuthenticationCleartextPassword── agent
    client ──PasswordMessage(gateway token)──▶ agent ── addons.authorize (token, grant)
                                               (ephemeral resources: CREATE ROLE first,
                                                ephemeral.py; dropped when the session ends)
                                               agent ──Startup + SCRAM/md5──▶ upstream
    client ◀──AuthenticationOk, ParameterStatus*, BackendKeyData(ours), ReadyForQuery──
    client ◀═════════════ relay (raw bytes; framers only observe) ═════════▶ upstream
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from dataplane.contract import GrantScope, ResourceSpec
from dataplane.contract.exec_call import CORRELATION_PARAMETER, correlation_id_valid
from dataplane.core.addons import ConnectRequest, Refusal, RefusalKind
from dataplane.core.server import READ_CHUNK, GatewayServices, open_upstream
from dataplane.core.session import Session
from dataplane.core.tasks import spawn
from dataplane.protocols.postgres import upstream
from dataplane.protocols.postgres.cancel import CancelKeys, CancelTarget
from dataplane.protocols.postgres.ephemeral import (
    EPHEMERAL,
    EphemeralRoles,
    IssuedRole,
    NoAccessLevel,
)
from dataplane.protocols.postgres.inspecting_relay import (
    InspectingRelay,
    Sockets,
    to_statement,
)
from dataplane.protocols.postgres.wire import errors, messages
from dataplane.protocols.postgres.wire.framing import MessageFramer, StartupFramer
from dataplane.protocols.postgres.wire.login import UpstreamLogin, UpstreamLoginFailed
from dataplane.protocols.postgres.wire.one_call import OneCallGate
from dataplane.protocols.postgres.wire.simple_query import QueryFailed
from dataplane.protocols.postgres.wire.startup import (
    CancelRequest,
    GSSENCRequest,
    SSLRequest,
    StartupMessage,
    parse_startup_packet,
)
from dataplane.protocols.postgres.wire.statements import (
    CLIENT_TYPES_TRACKED,
    SERVER_TYPES_TRACKED,
    StatementTracker,
)

log = logging.getLogger("gatehouse.postgres")

PROTOCOL = "postgres"
STARTUP_TIMEOUT_S = 30.0
UPSTREAM_LOGIN_TIMEOUT_S = 15.0
CLIENT_MAX_MESSAGE = 64 * 1024 * 1024
SERVER_MAX_MESSAGE = 1024 * 1024 * 1024  # PostgreSQL's own limit for a field is 1 GB
PASSWORD_MAX_MESSAGE = 16 * 1024
# Why a one-call session ends once its call's result is complete (sent as FATAL 57P01).
ONE_CALL_USED = "the one-call access grant was used"
# Client startup parameters passed on upstream; anything else (replication, options that could
# change the session's identity) stays at the gateway.
FORWARDED_PARAMETERS = frozenset(
    {
        "application_name",
        "client_encoding",
        "DateStyle",
        "TimeZone",
        "extra_float_digits",
        "IntervalStyle",
        "search_path",
        "standard_conforming_strings",
    }
)

REFUSAL_SQLSTATE = {
    RefusalKind.PROTOCOL_VIOLATION: errors.PROTOCOL_VIOLATION,
    RefusalKind.TLS_REQUIRED: errors.INVALID_AUTHORIZATION,
    RefusalKind.BAD_CREDENTIALS: errors.INVALID_PASSWORD,
    RefusalKind.UNKNOWN_RESOURCE: errors.INVALID_CATALOG_NAME,
    RefusalKind.NO_GRANT: errors.INVALID_AUTHORIZATION,
    RefusalKind.UPSTREAM_FAILED: errors.CONNECTION_FAILURE,
    RefusalKind.NOT_READY: errors.CANNOT_CONNECT_NOW,
    RefusalKind.ADDON_FAILURE: errors.INVALID_AUTHORIZATION,
}


class ClientGone(Exception):
    """The client closed its side before the session was established."""


class Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


class PostgresProxy:
    """One per PostgreSQL listener; owns the map of cancel keys it handed out."""

    def __init__(self, services: GatewayServices) -> None:
        self.services = services
        self.cancel_keys = CancelKeys()
        self.ephemeral_roles = EphemeralRoles(services)
        self.ephemeral_roles.start_reconciler()

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await PostgresConnection(self, reader, writer).run()

    async def cancel(self, request: CancelRequest) -> None:
        """Forward a CancelRequest upstream if its key is one we issued."""
        target = self.cancel_keys.find(request.pid, request.secret)
        if target is None:
            log.info("ignoring CancelRequest with an unknown key")
            return
        if self.services.chain.cancel_requested(target.session):
            return  # the statement was held here: withdrawn, never sent upstream
        _, writer = await open_upstream(target.host, target.port)
        writer.write(messages.cancel_request(target.upstream_pid, target.upstream_secret))
        await writer.drain()
        writer.close()


class PostgresConnection:
    """One client connection, from the first byte to the last."""

    def __init__(
        self, proxy: PostgresProxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.proxy = proxy
        self.services = proxy.services
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.session = Session(protocol=PROTOCOL, client_address=_address(peer))
        self.upstream_reader: asyncio.StreamReader | None = None
        self.upstream_writer: asyncio.StreamWriter | None = None
        self.cancel_pid: int | None = None
        self.ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.to_client = MessageFramer(SERVER_MAX_MESSAGE, wanted=SERVER_TYPES_TRACKED)
        self.to_server = MessageFramer(CLIENT_MAX_MESSAGE, wanted=CLIENT_TYPES_TRACKED)
        self.tracker = StatementTracker()
        self.ephemeral_role: IssuedRole | None = None  # credential_mode "ephemeral" only
        self.end_reason = "connection refused"

    # -- the whole life of a connection ------------------------------------------------------
    async def run(self) -> None:
        try:
            await self._run()
        finally:
            if self.ephemeral_role is not None:
                self.proxy.ephemeral_roles.retire(self.ephemeral_role, self.end_reason)

    async def _run(self) -> None:
        try:
            await self._establish()
        except Refused as refused:
            await self._close_upstream()
            await self._refuse(refused.refusal)
            return
        except (ClientGone, ConnectionError):
            await self._close_upstream()
            self._close_client()
            return
        await self._serve()

    async def _establish(self) -> None:
        """Startup, authentication and upstream login; raises Refused on any refusal."""
        try:
            async with asyncio.timeout(STARTUP_TIMEOUT_S):
                startup = await self._negotiate_startup()
                if startup is None:
                    raise ClientGone
                token = await self._read_password()
        except errors.ProtocolViolation as exc:
            raise Refused(Refusal(RefusalKind.PROTOCOL_VIOLATION, exc.message)) from exc
        except TimeoutError as exc:
            raise Refused(
                Refusal(RefusalKind.PROTOCOL_VIOLATION, "startup did not complete in time")
            ) from exc
        request = ConnectRequest(resource=startup.parameters.get("database", ""), token=token)
        refusal = await self.services.chain.authorize(self.session, request)
        if refusal is not None:
            raise Refused(refusal)
        await self._login_upstream()

    async def _serve(self) -> None:
        """The established session: greet the client, relay, then end cleanly."""
        self.services.sessions.add(self.session)
        self.session.on_terminate(self._terminate)
        self.services.chain.session_started(self.session)
        reason = "client disconnected"
        try:
            reason = await self._relay()
        finally:
            self.end_reason = f"session ended: {reason}"
            self.services.sessions.remove(self.session)
            if self.cancel_pid is not None:
                self.proxy.cancel_keys.withdraw(self.cancel_pid)
            await self._close_upstream()
            self._close_client()
            masker = self.session.masker
            for unfinished in self.tracker.connection_closed():
                tally = masker.statement_finished() if masker is not None else None
                self.services.chain.statement_finished(
                    self.session, to_statement(unfinished, tally)
                )
            self.services.chain.session_ended(self.session, reason)

    # -- startup -----------------------------------------------------------------------------
    async def _negotiate_startup(self) -> StartupMessage | None:
        """SSLRequest/GSSENCRequest negotiation; a CancelRequest is served and ends here."""
        framer = StartupFramer()
        while True:
            packet = await self._next_startup_packet(framer)
            if packet is None:
                return None
            message = parse_startup_packet(packet)
            if isinstance(message, CancelRequest):
                await self.proxy.cancel(message)
                return None
            if isinstance(message, GSSENCRequest):
                await self._send(b"N")
                continue
            if isinstance(message, SSLRequest):
                await self._answer_ssl_request(framer)
                continue
            return self._accept_startup(message)

    async def _next_startup_packet(self, framer: StartupFramer) -> bytes | None:
        while True:
            data = await self.reader.read(READ_CHUNK)
            if not data:
                return None
            packets = framer.feed(data)
            if len(packets) > 1 or framer.buffered:
                # Nothing may follow a startup packet before we answer it (CVE-2021-23214).
                raise errors.ProtocolViolation("unexpected data after a startup packet")
            if packets:
                return packets[0]

    async def _answer_ssl_request(self, framer: StartupFramer) -> None:
        if self.session.tls:
            raise errors.ProtocolViolation("SSLRequest on an encrypted connection")
        if self.services.tls is None:
            await self._send(b"N")
            return
        await self._send(b"S")
        await self.writer.start_tls(self.services.tls)
        self.session.tls = True

    def _accept_startup(self, message: StartupMessage) -> StartupMessage:
        self.session.client_parameters = dict(message.parameters)
        self.session.requested_resource = message.parameters.get("database", "")
        # An exec call's (dataplane/exec) correlation id; kept here, never sent upstream.
        correlation_id = message.parameters.get(CORRELATION_PARAMETER, "")
        if correlation_id_valid(correlation_id):
            self.session.correlation_id = correlation_id
        if message.parameters.get("replication", "false").lower() not in (
            "false",
            "0",
            "off",
            "no",
        ):
            raise Refused(
                Refusal(
                    RefusalKind.PROTOCOL_VIOLATION,
                    "replication connections are not supported by the gateway",
                )
            )
        if not self.session.tls and not self.services.allow_plaintext:
            raise Refused(
                Refusal(
                    RefusalKind.TLS_REQUIRED,
                    "this gateway requires TLS: connect with sslmode=require",
                )
            )
        return message

    async def _read_password(self) -> str:
        await self._send(messages.authentication_cleartext_password())
        framer = MessageFramer(PASSWORD_MAX_MESSAGE)
        while True:
            data = await self.reader.read(READ_CHUNK)
            if not data:
                raise ClientGone
            frames = framer.feed(data)
            if not frames:
                continue
            message_type, body = frames[0]
            if message_type != messages.PASSWORD_MESSAGE or len(frames) > 1 or framer.buffered:
                raise errors.ProtocolViolation("expected a single PasswordMessage")
            return messages.parse_password(body)

    # -- upstream ------------------------------------------------------------------------------
    async def _login_upstream(self) -> None:
        resource = self.session.resource
        assert resource is not None
        user, password = await self._upstream_credentials(resource)
        forwarded = {
            k: v for k, v in self.session.client_parameters.items() if k in FORWARDED_PARAMETERS
        }
        login = UpstreamLogin(
            user=user, database=resource.database, password=password, parameters=forwarded
        )
        try:
            async with asyncio.timeout(UPSTREAM_LOGIN_TIMEOUT_S):
                connection = await upstream.connect(resource)
                self.upstream_reader, self.upstream_writer = connection.reader, connection.writer
                await upstream.log_in(connection, login)
        except (OSError, TimeoutError, UpstreamLoginFailed, errors.ProtocolViolation) as exc:
            log.warning("upstream login to %s failed: %s", resource.name, exc)
            raise Refused(
                Refusal(
                    RefusalKind.UPSTREAM_FAILED,
                    f'the gateway could not log in to resource "{resource.name}"',
                    str(exc),
                )
            ) from exc
        await self._greet_client(login)

    async def _upstream_credentials(self, resource: ResourceSpec) -> tuple[str, str | None]:
        """Who the session logs in as upstream: the stored user, or (ephemeral mode) a role
        made for this session alone inside the grant's access level."""
        if resource.credential_mode != EPHEMERAL:
            return resource.upstream_user, resource.upstream_password
        try:
            self.ephemeral_role = await self.proxy.ephemeral_roles.issue(self.session)
        except NoAccessLevel as exc:
            raise Refused(Refusal(RefusalKind.NO_GRANT, str(exc))) from exc
        except (
            OSError,
            TimeoutError,
            QueryFailed,
            UpstreamLoginFailed,
            errors.ProtocolViolation,
        ) as exc:
            log.warning("creating a session role on %s failed: %s", resource.name, exc)
            raise Refused(
                Refusal(
                    RefusalKind.UPSTREAM_FAILED,
                    f'the gateway could not create a session role on resource "{resource.name}"',
                    str(exc),
                )
            ) from exc
        return self.ephemeral_role.credential.name, self.ephemeral_role.password

    async def _greet_client(self, login: UpstreamLogin) -> None:
        resource = self.session.resource
        assert resource is not None
        target = CancelTarget(
            session=self.session,
            host=resource.host,
            port=resource.port,
            upstream_pid=login.backend_pid,
            upstream_secret=login.backend_secret,
        )
        self.cancel_pid, secret = self.proxy.cancel_keys.issue(target)
        if self.session.guard is not None:
            # The judge reads string literals as the server will (see StatementJudge).
            statuses = dict(login.parameter_statuses)
            scs = statuses.get("standard_conforming_strings", "on") == "on"
            self.session.guard.judge.standard_conforming_strings = scs
        greeting = [messages.authentication_ok()]
        greeting += [messages.parameter_status(n, v) for n, v in login.parameter_statuses]
        greeting.append(messages.backend_key_data(self.cancel_pid, secret))
        greeting.append(messages.ready_for_query(login.transaction_status))
        await self._send(b"".join(greeting))

    # -- relay -----------------------------------------------------------------------------------
    async def _relay(self) -> str:
        """Relay until either side closes or the session is terminated; returns why it ended."""
        sid = self.session.id
        client_to_server, server_to_client = self._pumps()
        pumps = [
            spawn(client_to_server, name=f"pg-c2s-{sid}"),
            spawn(server_to_client, name=f"pg-s2c-{sid}"),
        ]
        for pump in pumps:
            pump.add_done_callback(self._pump_done)
        try:
            return await self.ended
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)

    def _pump_done(self, pump: asyncio.Task[str]) -> None:
        if self.ended.done():
            return
        if pump.cancelled():
            self.ended.set_result("cancelled")
        elif (exc := pump.exception()) is not None:
            self.ended.set_result(self._reason_for(exc))
        else:
            self.ended.set_result(pump.result())

    def _reason_for(self, exc: BaseException) -> str:
        if isinstance(exc, errors.ProtocolViolation):
            self._tell_client(errors.PROTOCOL_VIOLATION, exc.message)
            return f"protocol violation: {exc.message}"
        if isinstance(exc, ConnectionError):
            return "connection reset"
        log.error("relay of session %s failed", self.session.id, exc_info=exc)
        return f"internal error: {type(exc).__name__}"

    def _pumps(self) -> tuple[Coroutine[Any, Any, str], Coroutine[Any, Any, str]]:
        """The raw relay; the gated pumps for a one-call grant; the inspecting relay (gated
        or not) when the grant has a masking or guardrail profile. Separate pairs, so
        ordinary sessions pay nothing for limits, masking or guardrails they do not have."""
        grant = self.session.grant
        gate = None
        if grant is not None and grant.scope == GrantScope.CALL:
            gate = OneCallGate(CLIENT_MAX_MESSAGE)
        if self.session.masker is not None or self.session.guard is not None:
            relay = self._inspecting_relay(gate)
            return relay.client_to_server(), relay.server_to_client()
        if gate is None:
            return self._pump_client_to_server(), self._pump_server_to_client()
        return self._pump_one_call_to_server(gate), self._pump_one_call_to_client(gate)

    def _inspecting_relay(self, gate: OneCallGate | None) -> InspectingRelay:
        assert self.upstream_reader is not None and self.upstream_writer is not None
        guard = self.session.guard
        if self.session.masker is None and guard is not None and guard.max_rows is None:
            # Guarded, nothing to rewrite in results: bytes pass as read; the framer reads
            # only the tracker's bodies, ParameterStatus (standard_conforming_strings) and
            # RowDescription (the columns the audit records).
            wanted = SERVER_TYPES_TRACKED | {messages.PARAMETER_STATUS, messages.ROW_DESCRIPTION}
            self.to_client = MessageFramer(SERVER_MAX_MESSAGE, wanted=frozenset(wanted))
        else:
            self.to_client = MessageFramer(SERVER_MAX_MESSAGE)  # every body: rewritten
        return InspectingRelay(
            session=self.session,
            chain=self.services.chain,
            tracker=self.tracker,
            sockets=Sockets(
                client=(self.reader, self.writer),
                upstream=(self.upstream_reader, self.upstream_writer),
            ),
            to_client=self.to_client,
            client_max_message=CLIENT_MAX_MESSAGE,
            gate=gate,
            call_used=lambda: self._one_call_used(gate),
            terminate=self._terminate,
        )

    async def _pump_client_to_server(self) -> str:
        assert self.upstream_writer is not None
        read, upstream = self.reader.read, self.upstream_writer
        feed, observe = self.to_server.feed, self.tracker.client_message
        while True:
            data = await read(READ_CHUNK)
            if not data:
                return "client disconnected"
            terminated = False
            for message_type, body in feed(data):
                observe(message_type, body)
                terminated = terminated or message_type == messages.TERMINATE
            upstream.write(data)
            await upstream.drain()
            if terminated:
                return "client terminated the session"

    async def _pump_server_to_client(self) -> str:
        assert self.upstream_reader is not None
        read, client = self.upstream_reader.read, self.writer
        feed, observe = self.to_client.feed, self.tracker.server_message
        chain, session = self.services.chain, self.session
        while True:
            data = await read(READ_CHUNK)
            if not data:
                return "upstream closed the connection"
            for message_type, body in feed(data):
                for finished in observe(message_type, body):
                    chain.statement_finished(session, to_statement(finished))
            client.write(data)
            await client.drain()

    async def _pump_one_call_to_server(self, gate: OneCallGate) -> str:
        """Client to server for a one-call session: nothing after the call gets through."""
        assert self.upstream_writer is not None
        upstream, observe = self.upstream_writer, self.tracker.client_message
        while True:
            data = await self.reader.read(READ_CHUNK)
            if not data:
                return "client disconnected"
            forward, passed = gate.client_data(data)
            for message_type, body in passed:
                observe(message_type, body)
            if forward:
                upstream.write(forward)
                await upstream.drain()
            if any(message_type == messages.TERMINATE for message_type, _ in passed):
                return "client terminated the session"

    async def _pump_one_call_to_client(self, gate: OneCallGate) -> str:
        """Server to client for a one-call session: once the call's result is complete
        (its ReadyForQuery is passed on), the session ends."""
        assert self.upstream_reader is not None
        chain, session = self.services.chain, self.session
        while True:
            data = await self.upstream_reader.read(READ_CHUNK)
            if not data:
                return "upstream closed the connection"
            complete = False
            for message_type, body in self.to_client.feed(data):
                for finished in self.tracker.server_message(message_type, body):
                    chain.statement_finished(session, to_statement(finished))
                complete = complete or gate.completes_call(message_type)
            self.writer.write(data)
            await self.writer.drain()
            if complete:
                return self._one_call_used(gate)

    def _one_call_used(self, gate: OneCallGate | None) -> str:
        """The one call's result is complete: end the session; returns why it ended."""
        if gate is not None and gate.dropped:
            log.info(
                "one-call session %s: %d pipelined client message(s) held back",
                self.session.id,
                gate.dropped,
            )
        self._terminate(ONE_CALL_USED)
        return f"terminated: {ONE_CALL_USED}"

    def _terminate(self, reason: str) -> None:
        """Called from outside (revocation, expiry): tell the client why and end the session."""
        if self.ended.done():
            return
        self._tell_client(errors.ADMIN_SHUTDOWN, f"terminating connection: {reason}")
        self.ended.set_result(f"terminated: {reason}")

    def _tell_client(self, sqlstate: str, message: str) -> None:
        """A FATAL error to the client, only at a message boundary of the server stream."""
        if self.to_client.buffered == 0 and not self.writer.is_closing():
            self.writer.write(messages.error_response("FATAL", sqlstate, message))

    # -- endings ---------------------------------------------------------------------------------
    async def _refuse(self, refusal: Refusal) -> None:
        log.info(
            "refused %s connection from %s: %s (%s)",
            PROTOCOL,
            self.session.client_address,
            refusal.kind.value,
            refusal.detail or refusal.message,
        )
        self.services.chain.connection_refused(self.session, refusal)
        if not self.writer.is_closing():
            self.writer.write(
                messages.error_response("FATAL", REFUSAL_SQLSTATE[refusal.kind], refusal.message)
            )
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(self.writer.drain(), timeout=5)
        self._close_client()

    async def _close_upstream(self) -> None:
        writer, self.upstream_writer = self.upstream_writer, None
        if writer is None or writer.is_closing():
            return
        try:
            writer.write(messages.terminate())
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), timeout=2)
        except (ConnectionError, TimeoutError, OSError):
            writer.transport.abort()

    def _close_client(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()

    async def _send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()


def _address(peer: object) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer or "")
