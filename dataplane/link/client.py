"""The agent's websocket link to the control plane.

One connection at a time, reconnecting forever with backoff. On each connection::

    agent                               control plane
      hello {agent_version, revision} ->
                                     <- welcome {last_seq}     (or close 4401: bad token)
      (events <= last_seq are acknowledged locally, never resent)
                                     <- snapshot {...}         on connect and on change
      events [seq > cursor]  ...     ->
                                     <- ack {seq}
      heartbeat {...} every few s    ->

Sending does not wait for acks, but within one connection no event is sent twice: a send
cursor remembers the last seq sent and starts again from the acknowledged watermark on every
new connection. The control plane stores each seq once, so the only duplicates a reconnect
can cause (events sent but not yet acknowledged) are harmless.

The agent token is sent in the Authorization header only; it is never logged.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NoReturn

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.frames import CloseCode

from dataplane.contract import (
    WIRE_VERSION,
    ContractError,
    Envelope,
    Snapshot,
    decode_envelope,
    encode_envelope,
)
from dataplane.contract.envelopes import (
    AGENT_TOKEN_HEADER,
    AGENT_WEBSOCKET_PATH,
    SessionTerminate,
)
from dataplane.core.holds import HoldDesk
from dataplane.core.tasks import cancel_and_wait, spawn
from dataplane.exec.desk import ExecDesk
from dataplane.link.spool import Line, Spool

log = logging.getLogger("gatehouse.link")

REJECTED_CLOSE_CODE = 4401  # the control plane refused the agent token
REJECTED_HTTP_STATUSES = frozenset({401, 403})  # ... before accepting the websocket
MAX_FRAME_BYTES = 16 * 1024 * 1024  # incoming: a snapshot with many grants
# Outgoing: an events batch is split to stay below this many bytes (far below servers' usual
# 16 MiB message limit), unless a single event is larger.
EVENTS_FRAME_BYTES = 1024 * 1024
WELCOME_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 2.0  # bounds how long stopping the agent waits for the closing handshake


class LinkState(StrEnum):
    IDLE = "idle"  # run() not called yet
    CONNECTING = "connecting"  # opening the websocket
    HANDSHAKING = "handshaking"  # hello sent, waiting for welcome
    CONNECTED = "connected"  # welcomed: streaming events, receiving snapshots
    BACKOFF = "backoff"  # waiting before the next attempt
    STOPPED = "stopped"  # run() was cancelled


_TRANSITIONS: dict[LinkState, frozenset[LinkState]] = {
    LinkState.IDLE: frozenset({LinkState.CONNECTING}),
    LinkState.CONNECTING: frozenset({LinkState.HANDSHAKING, LinkState.BACKOFF}),
    LinkState.HANDSHAKING: frozenset({LinkState.CONNECTED, LinkState.BACKOFF}),
    LinkState.CONNECTED: frozenset({LinkState.BACKOFF}),
    LinkState.BACKOFF: frozenset({LinkState.CONNECTING}),
    LinkState.STOPPED: frozenset({LinkState.CONNECTING}),
}


class LinkStateError(RuntimeError):
    """An illegal link state transition (a bug, or run() called twice at once)."""


@dataclass(frozen=True)
class Disconnect:
    """Why a connection attempt or connection ended."""

    reason: str
    rejected: bool = False  # the control plane refused the agent token


class _ProtocolViolation(Exception):
    """The control plane sent something the link cannot continue after."""


class Backoff:
    """Exponential backoff with full jitter: uniform(0, min(max, initial * 2**attempt))."""

    def __init__(self, initial_s: float, max_s: float, *, rng: random.Random | None = None) -> None:
        self._initial_s = initial_s
        self._max_s = max_s
        self._rng = rng or random.Random()
        self._attempt = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; each call counts one more failure."""
        ceiling = min(self._max_s, self._initial_s * 2 ** min(self._attempt, 32))
        self._attempt += 1
        return self._rng.uniform(0, ceiling)

    def reset(self) -> None:
        """Start again from ``initial_s`` (after a connection that worked)."""
        self._attempt = 0


class ControlPlaneLink:
    """Keeps the agent connected: snapshots in, spooled audit events out, heartbeats."""

    def __init__(
        self,
        *,
        url: str,
        agent_token: str,
        spool: Spool,
        on_snapshot: Callable[[Snapshot], object],  # e.g. ConfigStore.update
        agent_version: str,
        revision: Callable[[], int],
        sessions: Callable[[], int],
        ssl_context: ssl.SSLContext | None = None,
        batch_max: int = 500,
        batch_linger_s: float = 0.1,
        heartbeat_interval_s: float = 5.0,
        backoff_initial_s: float = 0.2,
        backoff_max_s: float = 5.0,
        holds: HoldDesk | None = None,
        exec_desk: ExecDesk | None = None,
        end_session: Callable[[str, str], bool] | None = None,  # SessionRegistry.terminate
    ) -> None:
        self._endpoint = websocket_url(url)
        if ssl_context is not None and not self._endpoint.startswith("wss://"):
            raise ValueError("an ssl_context needs a wss:// (or https://) control plane URL")
        self._agent_token = agent_token
        self._spool = spool
        self._on_snapshot = on_snapshot
        self._agent_version = agent_version
        self._revision = revision
        self._sessions = sessions
        self._ssl_context = ssl_context
        self._batch_max = batch_max
        self._batch_linger_s = batch_linger_s
        self._heartbeat_interval_s = heartbeat_interval_s
        self._backoff = Backoff(backoff_initial_s, backoff_max_s)
        self._backoff_max_s = backoff_max_s
        self._state = LinkState.IDLE
        self._connected = asyncio.Event()
        self._cursor = 0  # the highest seq sent on the current connection
        self._holds = holds
        self._exec = exec_desk
        self._end_session = end_session

    @property
    def state(self) -> LinkState:
        """Where the link is in its connect / handshake / stream / back-off cycle."""
        return self._state

    @property
    def connected(self) -> bool:
        """Whether the link is welcomed by the control plane right now."""
        return self._state is LinkState.CONNECTED

    async def wait_connected(self) -> None:
        """Return once the link is (or next becomes) connected and welcomed."""
        await self._connected.wait()

    async def run(self) -> None:
        """Connect, stream, and reconnect with backoff, until cancelled."""
        try:
            while True:
                self._transition(LinkState.CONNECTING)
                disconnect = await self._attempt()
                self._transition(LinkState.BACKOFF)
                await asyncio.sleep(self._delay_after(disconnect))
        finally:
            self._state = LinkState.STOPPED
            self._connected.clear()

    async def _attempt(self) -> Disconnect:
        """One connection from opening to closing; never raises except on cancellation."""
        try:
            return await self._connection()
        except Exception as exc:  # every failure means: back off and try again
            disconnect = _describe(exc)
            if disconnect.reason.startswith("unexpected"):
                log.exception("control plane link failed: %s", disconnect.reason)
            return disconnect
        finally:
            self._connected.clear()

    async def _connection(self) -> Disconnect:
        log.info("connecting to the control plane at %s", self._endpoint)
        websocket = await connect(self._endpoint, **self._connect_options())
        close_code = CloseCode.NORMAL_CLOSURE
        try:
            self._transition(LinkState.HANDSHAKING)
            await self._handshake(websocket)
            self._transition(LinkState.CONNECTED)
            self._connected.set()
            self._backoff.reset()
            return await self._stream(websocket)
        except asyncio.CancelledError:
            close_code = CloseCode.GOING_AWAY  # tell the control plane the agent is stopping
            raise
        finally:
            # Not ``async with connect()``: that closes with 1011 (internal error) on any
            # exception, cancellation included. A no-op if the connection is already closed.
            await websocket.close(close_code)

    def _connect_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "additional_headers": {AGENT_TOKEN_HEADER: f"Bearer {self._agent_token}"},
            "max_size": MAX_FRAME_BYTES,
            "user_agent_header": f"gatehouse-agent/{self._agent_version}",
            "close_timeout": CLOSE_TIMEOUT_S,
        }
        if self._ssl_context is not None:
            options["ssl"] = self._ssl_context
        return options

    async def _handshake(self, websocket: ClientConnection) -> None:
        """Say hello, wait for welcome, and forget what the control plane already stores."""
        hello = {"agent_version": self._agent_version, "revision": self._revision()}
        await websocket.send(encode_envelope(Envelope("hello", hello)))
        async with asyncio.timeout(WELCOME_TIMEOUT_S):
            envelope = decode_envelope(await websocket.recv())
        if envelope.type == "error":
            _control_plane_error(envelope)
        if envelope.type != "welcome":
            raise _ProtocolViolation(f"expected welcome, got {envelope.type!r}")
        last_seq = _seq(envelope.body, "last_seq")
        if last_seq < self._spool.acked_seq:
            log.warning(
                "the control plane holds events only through seq %d although it acknowledged "
                "seq %d before; events %d-%d are gone from this spool and cannot be resent",
                last_seq,
                self._spool.acked_seq,
                last_seq + 1,
                self._spool.acked_seq,
            )
        self._spool.acknowledge(last_seq)
        self._cursor = self._spool.acked_seq
        log.info(
            "connected to the control plane: it holds events through seq %d, %d to send",
            last_seq,
            self._spool.backlog,
        )

    async def _stream(self, websocket: ClientConnection) -> Disconnect:
        """Run receiver, sender and heartbeat until the first of them ends the connection."""
        tasks = [
            spawn(self._receive(websocket), name="link-receiver"),
            spawn(self._send_events(websocket), name="link-sender"),
            spawn(self._heartbeat(websocket), name="link-heartbeat"),
        ]
        if self._holds is not None:
            tasks.append(spawn(self._send_holds(websocket, self._holds), name="link-holds"))
        if self._exec is not None:
            outbox = self._exec.outbox
            tasks.append(spawn(self._send_outbox(websocket, outbox), name="link-exec-results"))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cancel_and_wait(*tasks)
        first = next(task for task in tasks if task in done)
        return first.result()

    async def _receive(self, websocket: ClientConnection) -> Disconnect:
        try:
            async for frame in websocket:
                self._dispatch(decode_envelope(frame))
        except (ConnectionClosed, ContractError, _ProtocolViolation) as exc:
            return _describe(exc)
        return _closed(websocket)

    def _dispatch(self, envelope: Envelope) -> None:
        if envelope.type == "snapshot":
            self._apply_snapshot(envelope.body.get("snapshot"))
        elif envelope.type == "ack":
            self._spool.acknowledge(_seq(envelope.body, "seq"))
        elif envelope.type == "hold_decision" and self._holds is not None:
            body = envelope.body
            self._holds.decide(
                str(body.get("id", "")),
                str(body.get("decision", "")),
                by=str(body.get("by", "")),
                at=str(body.get("at", "")),
            )
        elif envelope.type == "exec" and self._exec is not None:
            self._exec.receive(envelope.body)
        elif envelope.type == "session_terminate":
            self._terminate_session(envelope.body)
        elif envelope.type == "error":
            _control_plane_error(envelope)
        else:
            raise _ProtocolViolation(f"unexpected {envelope.type!r} frame after welcome")

    def _terminate_session(self, body: dict[str, Any]) -> None:
        """End a live session the control plane names; anything else is a log line only
        (the session may have ended a moment ago)."""
        try:
            order = SessionTerminate.from_body(body)
        except ContractError as exc:
            log.warning("ignoring a session_terminate frame: %s", exc)
            return
        if self._end_session is not None and self._end_session(order.session, order.end_reason):
            log.info("session %s terminated by %s", order.session, order.by)
        else:
            log.info("session_terminate for %s: no such live session here", order.session)

    def _apply_snapshot(self, document: object) -> None:
        if not isinstance(document, dict):
            raise ContractError("snapshot frame without a snapshot object")
        snapshot = Snapshot.from_dict(document)
        try:
            self._on_snapshot(snapshot)
        except Exception:
            # Applying it is the config store's business; reconnecting would not help.
            log.exception("applying config revision %d failed", snapshot.revision)

    async def _send_events(self, websocket: ClientConnection) -> Disconnect:
        try:
            while True:
                batch = self._spool.durable_pending_lines(self._batch_max, after=self._cursor)
                if not batch:
                    await self._spool.wait_pending(after=self._cursor)
                    continue
                sent = await self._send_batch(websocket, batch)
                self._cursor = batch[sent - 1][0]
                if sent < self._batch_max:
                    # Under load, let the next batch fill up: one control-plane commit per
                    # batch is the cost that counts, and the events are durable here meanwhile.
                    await asyncio.sleep(self._batch_linger_s)
        except ConnectionClosed as exc:
            return _describe(exc)

    async def _send_batch(self, websocket: ClientConnection, batch: list[Line]) -> int:
        """Send a prefix of ``batch`` that fits in one frame; return how many were sent."""
        lines = [line for _, line in batch]
        frame = _events_frame(lines)
        count = len(lines)
        if len(frame) > EVENTS_FRAME_BYTES and count > 1:
            count = _lines_fitting(lines, EVENTS_FRAME_BYTES)
            frame = _events_frame(lines[:count])
        # The spool's lines are UTF-8 already: send the bytes as a text frame, as they are.
        await websocket.send(frame, text=True)
        return count

    async def _send_holds(self, websocket: ClientConnection, holds: HoldDesk) -> Disconnect:
        """Held statements and withdrawals, as they happen; pending ones again first."""
        try:
            for kind, body in holds.resend():
                await websocket.send(encode_envelope(Envelope(kind, body)))
            while True:
                kind, body = await holds.outbox.get()
                await websocket.send(encode_envelope(Envelope(kind, body)))
        except ConnectionClosed as exc:
            return _describe(exc)

    async def _send_outbox(
        self, websocket: ClientConnection, outbox: asyncio.Queue[tuple[str, dict[str, Any]]]
    ) -> Disconnect:
        """Exec results, as calls finish (one taken off the queue but not sent because the
        connection dropped is lost: the control plane has stopped waiting by then)."""
        try:
            while True:
                kind, body = await outbox.get()
                await websocket.send(encode_envelope(Envelope(kind, body)))
        except ConnectionClosed as exc:
            return _describe(exc)

    async def _heartbeat(self, websocket: ClientConnection) -> Disconnect:
        try:
            while True:
                body = {
                    "revision": self._revision(),
                    "spool_backlog": self._spool.backlog,
                    "sessions": self._sessions(),
                }
                await websocket.send(encode_envelope(Envelope("heartbeat", body)))
                await asyncio.sleep(self._heartbeat_interval_s)
        except ConnectionClosed as exc:
            return _describe(exc)

    def _delay_after(self, disconnect: Disconnect) -> float:
        if disconnect.rejected:
            log.error(
                "the control plane rejected this agent's token (%s); check the agent token. "
                "Retrying in %.1fs",
                disconnect.reason,
                self._backoff_max_s,
            )
            return self._backoff_max_s
        delay = self._backoff.next_delay()
        log.warning("control plane link down (%s); reconnecting in %.2fs", disconnect.reason, delay)
        return delay

    def _transition(self, new: LinkState) -> None:
        if new not in _TRANSITIONS[self._state]:
            raise LinkStateError(f"link cannot go from {self._state} to {new}")
        self._state = new


def websocket_url(base_url: str) -> str:
    """The agent websocket endpoint under a control plane base URL (http(s) or ws(s))."""
    schemes = {"http://": "ws://", "https://": "wss://", "ws://": "ws://", "wss://": "wss://"}
    for scheme, websocket_scheme in schemes.items():
        if base_url.startswith(scheme):
            rest = base_url.removeprefix(scheme).rstrip("/")
            return websocket_scheme + rest + AGENT_WEBSOCKET_PATH
    raise ValueError(f"the control plane URL must be http(s):// or ws(s)://, got {base_url!r}")


def _control_plane_error(envelope: Envelope) -> NoReturn:
    message = str(envelope.body.get("message", ""))
    log.error("the control plane reported an error: %s", message)
    raise _ProtocolViolation(f"control plane error: {message}")


# An events envelope, spliced together from the spool's lines (each the compact JSON of an
# AuditEvent.to_dict()) instead of decoding and re-encoding every event: what
# encode_envelope(Envelope("events", {"events": [...]})) gives, byte for byte.
_EVENTS_FRAME_HEAD = b'{"v":%d,"type":"events","events":[' % WIRE_VERSION
_EVENTS_FRAME_TAIL = b"]}"


def _events_frame(lines: list[bytes]) -> bytes:
    return _EVENTS_FRAME_HEAD + b",".join(lines) + _EVENTS_FRAME_TAIL


def _lines_fitting(lines: list[bytes], max_bytes: int) -> int:
    """How many of ``lines`` (at least one) fit in an events frame of at most max_bytes."""
    size = len(_EVENTS_FRAME_HEAD) + len(_EVENTS_FRAME_TAIL) - 1  # n lines, n - 1 commas
    for count, line in enumerate(lines):
        size += len(line) + 1
        if size > max_bytes:
            return max(count, 1)
    return len(lines)


def _seq(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ContractError(f"{key} must be a non-negative integer, got {value!r}")
    return value


def _closed(websocket: ClientConnection) -> Disconnect:
    code = websocket.close_code
    if code == REJECTED_CLOSE_CODE:
        return Disconnect(f"closed with code {code}", rejected=True)
    return Disconnect(f"closed with code {code} {websocket.close_reason or ''}".rstrip())


def _describe(exc: Exception) -> Disconnect:
    """Turn whatever ended a connection into a loggable reason (never containing the token)."""
    if isinstance(exc, ConnectionClosed):
        code = exc.rcvd.code if exc.rcvd is not None else None
        reason = exc.rcvd.reason if exc.rcvd is not None else ""
        text = f"closed with code {code} {reason}".rstrip()
        return Disconnect(text, rejected=code == REJECTED_CLOSE_CODE)
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        return Disconnect(f"HTTP {status}", rejected=status in REJECTED_HTTP_STATUSES)
    if isinstance(exc, ContractError | _ProtocolViolation):
        return Disconnect(f"protocol error: {exc}")
    if isinstance(exc, InvalidHandshake | OSError | TimeoutError):
        return Disconnect(f"{type(exc).__name__}: {exc}")
    return Disconnect(f"unexpected {type(exc).__name__}: {exc}")
