"""The HTTP driver: one listener for every resource whose protocol is "http" or "llm".

    client ──TLS ClientHello (or plaintext, if allowed)──▶ agent
    client ──GET /<resource>/<rest>, Authorization: Bearer <gateway token>──▶ agent
                 addons.authorize (token, resource, grant) once per session
                 checks: path, rules, size, budget (exchange.py)
                 agent ──<scheme>://<host>:<port><base_path>/<rest> + credential──▶ upstream
    client ◀══════════ the response, relayed chunk by chunk (masked / model call) ═══════

Sessions: one per (connection, gateway token, resource). A kept-alive connection that goes
on with the same token and resource stays in its session; another token or resource ends
it and starts the next. A session starts once its first request is admitted and ends when
the connection closes; a one-call grant's session ends after its one request.

The protocol work (HTTP/1.1 parsing and framing) is in the sans-I/O ``layer``; this module
only moves bytes and calls the addon chain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import h11

from dataplane.contract import GrantScope, ResourceSpec
from dataplane.core.addons import ConnectRequest, Refusal, RefusalKind
from dataplane.core.server import READ_CHUNK, GatewayServices
from dataplane.core.session import Session
from dataplane.core.tasks import spawn
from dataplane.core.tokens import InvalidToken
from dataplane.protocols.http import errors
from dataplane.protocols.http.channel import (
    Channel,
    ClientGone,
    PlainChannel,
    TlsChannel,
    starts_tls,
)
from dataplane.protocols.http.client_io import IDLE_TIMEOUT_S, ClientIO
from dataplane.protocols.http.errors import GatewayAnswer
from dataplane.protocols.http.exchange import Exchange
from dataplane.protocols.http.gateway import HttpGateway
from dataplane.protocols.http.layer import HttpServerLayer, Phase, RequestHead, plain_response
from dataplane.protocols.http.routing import resource_of

log = logging.getLogger("gatehouse.http")

PROTOCOL = "http"
HTTP_PROTOCOLS = frozenset({"http", "llm"})
TLS_HANDSHAKE_TIMEOUT_S = 30.0
CORRELATION_ID_MAX = 128
ONE_CALL_USED = "the one-call access grant was used"
TLS_REQUIRED = "TLS required"

REFUSAL_STATUS = {
    RefusalKind.PROTOCOL_VIOLATION: 400,
    RefusalKind.TLS_REQUIRED: 400,
    RefusalKind.BAD_CREDENTIALS: 401,
    RefusalKind.UNKNOWN_RESOURCE: 404,
    RefusalKind.NO_GRANT: 403,
    RefusalKind.UPSTREAM_FAILED: 502,
    RefusalKind.NOT_READY: 503,
    RefusalKind.ADDON_FAILURE: 403,
}


class HttpProxy:
    """One per HTTP listener."""

    def __init__(self, services: GatewayServices) -> None:
        self.gateway = HttpGateway(services)

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await HttpConnection(self.gateway, reader, writer).run()

    async def aclose(self) -> None:
        """At agent shutdown, after the sessions ended: the upstream connections close."""
        await self.gateway.aclose()


class HttpConnection:
    """One client connection, from the first byte to the last."""

    def __init__(
        self, gateway: HttpGateway, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.gateway = gateway
        self.services = gateway.services
        self.reader = reader
        self.writer = writer
        self.client_address = _address(writer.get_extra_info("peername"))
        self.io: ClientIO | None = None
        self.session: Session | None = None
        self._session_key: tuple[str, str] = ("", "")
        self._serving: asyncio.Task[str] | None = None
        self.terminated = ""  # why the session was ended from outside, if it was

    # -- the whole life of a connection ------------------------------------------------------
    async def run(self) -> None:
        channel = await self._open_channel()
        if channel is None:
            self._close()
            return
        self.io = ClientIO(channel, HttpServerLayer())
        serving = self._serving = spawn(self._serve(self.io), name="http-serve")
        reason = "connection closed"
        try:
            await asyncio.wait({serving})
        finally:
            if not serving.done():  # we were cancelled (agent stopping)
                serving.cancel()
                await asyncio.wait({serving})
            if serving.cancelled():
                await self._finish_after_termination(self.io)
                reason = f"terminated: {self.terminated or 'the gateway is stopping'}"
            elif serving.exception() is None:
                reason = serving.result()
            else:
                reason = "internal error"  # spawn logged it
            self._end_session(reason)
            channel.close()

    async def _serve(self, io: ClientIO) -> str:
        """Requests one after the other until the connection ends; returns why it ended."""
        try:
            while True:
                head = await io.next_head()
                if head is None:
                    return await self._after_last_request(io)
                keep = await self._request(io, head)
                if keep:
                    await io.drain_request(head)
                if not keep or not io.layer.keeps_alive:
                    return "connection closed after the response"
                io.layer.start_next_request()
        except (ClientGone, ConnectionError, OSError) as exc:
            return f"client disconnected ({exc or type(exc).__name__})"

    async def _after_last_request(self, io: ClientIO) -> str:
        if io.malformed is None:
            return "client disconnected"
        status, reason = io.malformed.status, io.malformed.reason
        log.info("malformed HTTP from %s: %s", self.client_address, reason)
        if self.session is None:
            self._refused(RefusalKind.PROTOCOL_VIOLATION, f"malformed HTTP request: {reason}")
        message = "request headers too large" if status == 431 else f"malformed request: {reason}"
        answer = GatewayAnswer(status, message, "bad_request")
        headers, content = errors.render(None, answer)
        headers.append(("connection", "close"))
        with contextlib.suppress(h11.LocalProtocolError):
            await io.send(io.layer.whole_response(status, headers, content))
        return f"protocol violation: {reason}"

    # -- one request -------------------------------------------------------------------------
    async def _request(self, io: ClientIO, head: RequestHead) -> bool:
        """Admit and answer one request; False when the connection must close after it."""
        name = resource_of(head.target)
        resource = self.services.config.resource(name)
        token = _gateway_token(head, resource)
        session = await self._admitted(io, head, name, resource, token)
        if session is None:
            return True  # refused and answered; the connection may go on
        one_call = session.grant is not None and session.grant.scope == GrantScope.CALL
        exchange = Exchange(self.gateway, io, session, head, close_after=one_call)
        try:
            await exchange.run()
        finally:
            if self.terminated:
                exchange.record.error = f"session terminated: {self.terminated}"
                exchange.record.status = exchange.record.status or 403
            self.services.chain.exchange_finished(session, exchange.record.finished())
        if one_call:
            self._end_session(f"terminated: {ONE_CALL_USED}")
            return False
        return not exchange.cut

    async def _admitted(
        self,
        io: ClientIO,
        head: RequestHead,
        name: str,
        resource: ResourceSpec | None,
        token: str,
    ) -> Session | None:
        """The session this request runs in (the current one, or a new one the addons
        admitted); None after answering a refusal."""
        kept = self.session
        if kept is not None and self._session_key == (token, name) and self._token_valid(token):
            _note_correlation_id(kept, head)
            return kept
        self._end_session("the client went on with another gateway token or resource")
        session = Session(
            protocol=resource.protocol if resource is not None else PROTOCOL,
            client_address=self.client_address,
            tls=io.channel.tls,
            requested_resource=name,
        )
        session.client_parameters = {"application_name": (head.header("user-agent") or "")[:128]}
        _note_correlation_id(session, head)
        refusal = await self._authorize(session, resource, token)
        if refusal is not None:
            await self._refuse(io, session, refusal, resource)
            return None
        self._start_session(session, (token, name))
        return session

    async def _authorize(
        self, session: Session, resource: ResourceSpec | None, token: str
    ) -> Refusal | None:
        if not token:
            return Refusal(
                RefusalKind.BAD_CREDENTIALS,
                "a gateway token is required: Authorization: Bearer <token>",
            )
        if resource is not None and resource.protocol not in HTTP_PROTOCOLS:
            # Not ours to serve; told apart from an unknown name only with a valid token.
            if not self._token_valid(token):
                return Refusal(RefusalKind.BAD_CREDENTIALS, "invalid gateway token")
            return Refusal(
                RefusalKind.UNKNOWN_RESOURCE,
                f'resource "{resource.name}" is not an HTTP resource',
            )
        request = ConnectRequest(resource=session.requested_resource, token=token)
        return await self.services.chain.authorize(session, request)

    def _token_valid(self, token: str) -> bool:
        """A kept session's token is checked again on every request (it may have expired)."""
        try:
            self.services.config.token_verifier.verify(token)
        except InvalidToken:
            return False
        return True

    def _start_session(self, session: Session, key: tuple[str, str]) -> None:
        self.session, self._session_key = session, key
        self.services.sessions.add(session)
        session.on_terminate(lambda reason: self._terminate(session, reason))
        self.services.chain.session_started(session)

    def _end_session(self, reason: str) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        self.services.sessions.remove(session)
        self.services.chain.session_ended(session, reason)

    def _terminate(self, session: Session, reason: str) -> None:
        """Called from outside (revocation, expiry): end the connection, cutting a request
        in flight (its upstream call is aborted)."""
        if session is not self.session or self.terminated:
            return
        self.terminated = reason
        if self._serving is not None and not self._serving.done():
            self._serving.cancel()

    async def _finish_after_termination(self, io: ClientIO) -> None:
        """Tell the client, where HTTP still allows it: a request waiting for its response
        gets a 403; a response under way ends where it is (a stream just ends)."""
        with contextlib.suppress(ConnectionError, OSError, TimeoutError, h11.LocalProtocolError):
            async with asyncio.timeout(5):
                if io.layer.phase is Phase.NOT_STARTED:
                    resource = self.session.resource if self.session else None
                    message = f"terminated: {self.terminated or 'the gateway is stopping'}"
                    headers, content = errors.render(resource, GatewayAnswer(403, message))
                    headers.append(("connection", "close"))
                    await io.send(io.layer.whole_response(403, headers, content))
                elif io.layer.phase is Phase.SENDING_BODY:
                    await io.send(io.layer.end())

    # -- refusals ----------------------------------------------------------------------------
    async def _refuse(
        self, io: ClientIO, session: Session, refusal: Refusal, resource: ResourceSpec | None
    ) -> None:
        log.info(
            "refused %s request from %s: %s (%s)",
            PROTOCOL,
            self.client_address,
            refusal.kind.value,
            refusal.detail or refusal.message,
        )
        self.services.chain.connection_refused(session, refusal)
        status = REFUSAL_STATUS.get(refusal.kind, 403)
        answer = GatewayAnswer(status, refusal.message, challenge=status == 401)
        shape = resource if resource is not None and resource.protocol in HTTP_PROTOCOLS else None
        headers, content = errors.render(shape, answer)
        await io.respond_whole(status, headers, content)

    def _refused(self, kind: RefusalKind, message: str) -> None:
        """Audit a refusal before any request could be read (no session exists)."""
        session = Session(protocol=PROTOCOL, client_address=self.client_address)
        self.services.chain.connection_refused(session, Refusal(kind, message))

    # -- the byte channel --------------------------------------------------------------------
    async def _open_channel(self) -> Channel | None:
        """TLS when the client starts with a ClientHello; plaintext only if allowed."""
        try:
            async with asyncio.timeout(IDLE_TIMEOUT_S):
                first = await self.reader.read(READ_CHUNK)
        except (TimeoutError, ConnectionError, OSError):
            return None
        if not first:
            return None
        if starts_tls(first) and self.services.tls is not None:
            return await self._tls_channel(first)
        if not self.services.allow_plaintext or starts_tls(first):
            self._refused(RefusalKind.TLS_REQUIRED, "this gateway requires TLS (https)")
            with contextlib.suppress(ConnectionError, OSError, TimeoutError):
                self.writer.write(plain_response(400, TLS_REQUIRED))
                await asyncio.wait_for(self.writer.drain(), timeout=5)
            return None
        return PlainChannel(self.reader, self.writer, first)

    async def _tls_channel(self, first: bytes) -> Channel | None:
        assert self.services.tls is not None
        channel = TlsChannel(self.reader, self.writer, self.services.tls, first)
        try:
            async with asyncio.timeout(TLS_HANDSHAKE_TIMEOUT_S):
                await channel.handshake()
        except (ClientGone, TimeoutError, ConnectionError, OSError) as exc:
            log.info("TLS handshake with %s failed: %s", self.client_address, exc)
            return None
        return channel

    def _close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()


def _gateway_token(head: RequestHead, resource: ResourceSpec | None) -> str:
    """The caller's gateway token: a bearer token, or (Anthropic-style llm resources,
    whose SDK sends its key there) the x-api-key header."""
    scheme, _, value = (head.header("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    settings = resource.http if resource is not None else None
    if settings is not None and settings.llm_api == "anthropic":
        return (head.header("x-api-key") or "").strip()
    return ""


def _note_correlation_id(session: Session, head: RequestHead) -> None:
    """X-Correlation-Id ties the calls of one agent run together in the audit trail; a
    value that is too long or not printable is ignored."""
    value = head.header("x-correlation-id")
    if value and len(value) <= CORRELATION_ID_MAX and value.isprintable() and value.isascii():
        session.correlation_id = value


def _address(peer: object) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer or "")
