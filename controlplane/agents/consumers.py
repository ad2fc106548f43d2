"""The agent websocket. Thin: it authenticates, parses frames, calls services and
selectors, and sends what they return. The frame vocabulary is dataplane.contract's."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from controlplane.agents import inbound
from controlplane.agents.models import Agent
from controlplane.agents.revision import ALL_AGENTS_GROUP, agent_group, config_revision_current
from controlplane.agents.selectors import agent_by_token
from controlplane.agents.services import (
    agent_connected_record,
    agent_disconnected_record,
    agent_heartbeat_record,
    agent_hello_record,
)
from controlplane.agents.snapshot import agent_snapshot_build
from controlplane.audit.selectors import audit_last_seq_for
from controlplane.audit.services import audit_events_ingest
from controlplane.guardrails.holds import statement_hold_receive, statement_hold_withdraw
from controlplane.guardrails.selectors import hold_decisions_for
from controlplane.sessions.services import sessions_lost_end
from dataplane.contract import ContractError, Envelope, decode_envelope, encode_envelope
from dataplane.contract.exec_call import ExecResult

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_OFF_CONTRACT = 4400
HTTP_RESPONSE_EXTENSION = "websocket.http.response"


def bearer_token(scope: dict[str, Any]) -> str:
    """The token of an ``Authorization: Bearer <token>`` header, or ""."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""


class AgentConsumer(AsyncWebsocketConsumer):
    agent: Agent | None = None
    revision_poll: asyncio.Task[None] | None = None
    closing_unauthorized = False

    async def connect(self) -> None:
        self.agent = await database_sync_to_async(agent_by_token)(token=bearer_token(self.scope))
        if self.agent is None:
            logger.warning("agent websocket refused: missing or invalid agent token")
            await self.refuse_unauthorized()
            return
        self.sent_revision = -1
        # Holds this agent waits on: the revision poll also looks for their decisions.
        self.holds_awaited: set[str] = set()
        self.snapshot_lock = asyncio.Lock()
        # Exec calls sent to this agent: call id -> the reply channel waiting for the result.
        self.exec_replies: dict[str, str] = {}
        await self.accept()
        # Join the groups before the first snapshot, so no change can fall in between.
        for group in (agent_group(self.agent.pk), ALL_AGENTS_GROUP):
            await self.channel_layer.group_add(group, self.channel_name)
        await database_sync_to_async(agent_connected_record)(agent=self.agent)
        logger.info("agent %s connected", self.agent.name)
        last_seq = await database_sync_to_async(audit_last_seq_for)(agent=self.agent)
        await self.send_envelope("welcome", last_seq=last_seq)
        await self.push_snapshot()
        self.revision_poll = asyncio.create_task(
            self.poll_revision(), name=f"agent-revision-poll:{self.agent.name}"
        )

    async def refuse_unauthorized(self) -> None:
        """Refuse the handshake. A close code sent before accepting never reaches the
        client (servers answer HTTP 403), so where the server can send a real HTTP
        response (uvicorn can), answer 401; elsewhere close with 4401."""
        if HTTP_RESPONSE_EXTENSION not in self.scope.get("extensions", {}):
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
        await self.base_send(
            {"type": "websocket.http.response.start", "status": 401, "headers": headers}
        )
        await self.base_send(
            {"type": "websocket.http.response.body", "body": b'{"error":"invalid agent token"}'}
        )

    async def disconnect(self, code: int) -> None:
        if self.agent is None:
            return
        if self.revision_poll is not None:
            self.revision_poll.cancel()
            await asyncio.wait([self.revision_poll])
        for group in (agent_group(self.agent.pk), ALL_AGENTS_GROUP):
            await self.channel_layer.group_discard(group, self.channel_name)
        await database_sync_to_async(agent_disconnected_record)(agent=self.agent, code=code)
        logger.info("agent %s disconnected (code %s)", self.agent.name, code)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            envelope = decode_envelope(text_data if text_data is not None else bytes_data or b"")
            await self.handle_envelope(envelope)
        except ContractError as exc:
            await self.refuse(exc)

    async def handle_envelope(self, envelope: Envelope) -> None:
        if envelope.type == "hello":
            hello = inbound.hello_from(envelope.body)
            await database_sync_to_async(agent_hello_record)(
                agent=self.agent, version=hello.agent_version, revision=hello.revision
            )
            if hello.revision == 0:  # a fresh process: the sessions its predecessor left
                await database_sync_to_async(sessions_lost_end)(agent=self.agent)
        elif envelope.type == "events":
            events = inbound.events_from(envelope.body)
            seq = await database_sync_to_async(audit_events_ingest)(agent=self.agent, events=events)
            await self.send_envelope("ack", seq=seq)
        elif envelope.type == "heartbeat":
            beat = inbound.heartbeat_from(envelope.body)
            await database_sync_to_async(agent_heartbeat_record)(
                agent=self.agent, revision=beat.revision, spool_backlog=beat.spool_backlog
            )
        elif envelope.type == "hold":
            await self.hold_received(inbound.hold_from(envelope.body))
        elif envelope.type == "exec_result":
            await self.exec_result_received(ExecResult.from_dict(envelope.body))
        elif envelope.type == "hold_withdrawn":
            withdrawn = inbound.hold_withdrawn_from(envelope.body)
            self.holds_awaited.discard(str(withdrawn.id))
            await database_sync_to_async(statement_hold_withdraw)(
                agent=self.agent, withdrawn=withdrawn
            )
        else:
            raise ContractError(f"agents do not send {envelope.type!r} frames")

    async def hold_received(self, request: inbound.HoldRequest) -> None:
        """Store a held statement; a hold already decided (or refused) is answered at once."""
        decision = await database_sync_to_async(statement_hold_receive)(
            agent=self.agent, request=request
        )
        if decision is not None:
            await self.send_envelope("hold_decision", **decision)
        else:
            self.holds_awaited.add(str(request.id))

    async def hold_decided(self, message: dict[str, Any]) -> None:
        """Channel-layer message: a hold this agent keeps was decided or expired."""
        self.holds_awaited.discard(message["decision"]["id"])
        await self.send_envelope("hold_decision", **message["decision"])

    async def session_terminate(self, message: dict[str, Any]) -> None:
        """Channel-layer message: end one of this agent's sessions (sessions.services)."""
        await self.send_envelope("session_terminate", **message["terminate"])

    async def poll_hold_decisions(self) -> None:
        """Fallback for decisions made by other processes without a shared channel layer
        (a repeated decision is harmless: the agent ignores one it no longer waits for)."""
        if not self.holds_awaited:
            return
        decisions = await database_sync_to_async(hold_decisions_for)(
            agent=self.agent, hold_ids=set(self.holds_awaited)
        )
        for decision in decisions:
            self.holds_awaited.discard(decision["id"])
            await self.send_envelope("hold_decision", **decision)

    async def exec_call(self, message: dict[str, Any]) -> None:
        """Channel-layer message: run one exec call on this agent (controlplane.execution).
        The snapshot goes first, so a grant made for this very call is at the agent before
        the call is; then the caller hears that an agent has it."""
        call_id, reply = str(message["exec"]["id"]), str(message["reply"])
        self.exec_replies[call_id] = reply
        # Forget the reply address once the caller has stopped waiting.
        asyncio.get_running_loop().call_later(
            float(message["wait_s"]), self.exec_replies.pop, call_id, None
        )
        await self.push_snapshot()
        await self.send_envelope("exec", **message["exec"])
        await self.channel_layer.send(reply, {"type": "exec.accepted", "id": call_id})

    async def exec_result_received(self, result: ExecResult) -> None:
        """The agent's answer to an exec call: to whoever waits for it (no one, if late)."""
        reply = self.exec_replies.pop(result.id, None)
        if reply is None:
            logger.info("agent %s: exec result %s nobody waits for", self.agent, result.id)
            return
        await self.channel_layer.send(reply, {"type": "exec.result", "result": result.to_dict()})

    async def config_changed(self, message: dict[str, Any]) -> None:
        """Channel-layer message: something in this agent's snapshot may have changed."""
        await self.push_snapshot()

    async def credentials_changed(self, message: dict[str, Any]) -> None:
        """Channel-layer message: this agent's token was rotated or revoked."""
        await self.still_authorized()

    async def still_authorized(self) -> bool:
        """Whether the token this socket was opened with is still the agent's and not
        revoked; if not, close it (4401): the agent must reconnect with its new token."""
        if self.closing_unauthorized:
            return False
        current = await database_sync_to_async(agent_by_token)(token=bearer_token(self.scope))
        if current is not None and self.agent is not None and current.pk == self.agent.pk:
            return True
        # Both the credentials message and the revision push lead here: close only once.
        self.closing_unauthorized = True
        logger.warning("agent %s: its token was rotated or revoked, closing", self.agent)
        await self.close(code=CLOSE_UNAUTHORIZED)
        return False

    async def poll_revision(self) -> None:
        """Fallback for changes made by other processes without a shared channel layer."""
        while True:
            await asyncio.sleep(settings.GATEHOUSE_CONFIG_POLL_SECONDS)
            try:
                if await database_sync_to_async(config_revision_current)() > self.sent_revision:
                    await self.push_snapshot()
                await self.poll_hold_decisions()
            except Exception:
                logger.exception("agent %s: revision poll failed; retrying", self.agent)

    async def push_snapshot(self) -> None:
        """Send a snapshot unless this socket already has one at least as new, and never
        on a socket whose token is no longer valid (secrets travel in snapshots)."""
        if not await self.still_authorized():
            return
        async with self.snapshot_lock:
            snapshot = await database_sync_to_async(agent_snapshot_build)(agent=self.agent)
            if snapshot.revision <= self.sent_revision:
                return
            await self.send_envelope("snapshot", snapshot=snapshot.to_dict())
            self.sent_revision = snapshot.revision

    async def refuse(self, error: ContractError) -> None:
        # The reason only: frames carry audit payloads, which are no business of a log.
        logger.warning("agent %s sent an off-contract frame, closing: %s", self.agent, error)
        await self.send_envelope("error", message=str(error))
        await self.close(code=CLOSE_OFF_CONTRACT)

    async def send_envelope(self, kind: str, **body: Any) -> None:
        await self.send(text_data=encode_envelope(Envelope(type=kind, body=body)))
