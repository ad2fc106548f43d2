"""The relay of a session that is masked, guarded, or both: whole messages, inspected.

An ordinary session relays raw bytes and only observes message boundaries (proxy.py). A
session whose grant has a masking or guardrail profile takes this path instead.

Client → server (guardrails). Each Query and Parse is judged before it is forwarded:
- allowed: forwarded as it came;
- denied: replaced by a statement that raises the guardrail's error inside the server
  (wire/guarded.py), so the client's pipeline and transaction behave as after any error;
- held: everything before it is forwarded, then the pump waits for the approvers'
  decision (the client may pipeline more meanwhile: it is kept, in order; a client that
  leaves or cancels withdraws the hold), then forwards it or refuses it as above.
A prepared statement is judged once, at its Parse; if the session's policy changes
afterwards, its next Execute judges it again, and one that is no longer allowed ends the
session (the server already holds the statement; the client reconnects and prepares it
again, which is then refused at Parse).

Server → client. Each message passes through the wire layer's ResultMasker (masked
sessions: DataRow, COPY data, error and notice fields, function results) and the row limit
(guarded sessions with max_rows); re-encoded messages go to the client, so nothing
unmasked ever leaves the agent. Results stream: each read of the upstream socket is
handled and written before the next is read.

A one-call grant's gate applies here too. The statement audit event carries the
statement's masking tally and its result shape: the columns, and in a masked session the
first rows as the client got them (masked), at each statement text's first run in the
session; a guarded session without masking records columns only, never values.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from dataplane.contract import Action
from dataplane.core.addons import AddonChain, GuardrailEvent, Statement
from dataplane.core.guard import SessionGuard
from dataplane.core.holds import HoldDecision, HoldOutcome, new_hold
from dataplane.core.server import READ_CHUNK
from dataplane.core.session import Session
from dataplane.core.tasks import spawn
from dataplane.guardrails.engine import Verdict
from dataplane.guardrails.rules import Decision
from dataplane.masking.values import MaskingTally, ValueMasker
from dataplane.protocols.postgres.wire import guarded, messages
from dataplane.protocols.postgres.wire.errors import ProtocolViolation
from dataplane.protocols.postgres.wire.framing import MessageFramer
from dataplane.protocols.postgres.wire.one_call import OneCallGate
from dataplane.protocols.postgres.wire.result_bodies import parse_row_description
from dataplane.protocols.postgres.wire.result_masking import ResultMasker
from dataplane.protocols.postgres.wire.result_sample import NO_SHAPE, ResultSample, ResultShape
from dataplane.protocols.postgres.wire.statements import StatementFinished, StatementTracker

REJUDGED_AWAY = "the guardrail policy changed and a prepared statement of this session is no "
REJUDGED_AWAY += "longer allowed; reconnect"
ROW_LIMIT_NOW = "a guardrail row limit now applies to this access; reconnect"
Refuse = Callable[[str, str], bytes]  # (sqlstate, message) -> the message to send instead


class ClientLeft(Exception):
    """The client closed its side while a statement of it was held."""


class SessionEnded(Exception):
    """The relay ended the session itself; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Sockets:
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter]
    upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter]


class InspectingRelay:
    """The two pumps of one masked and/or guarded session."""

    def __init__(
        self,
        *,
        session: Session,
        chain: AddonChain,
        tracker: StatementTracker,
        sockets: Sockets,
        to_client: MessageFramer,
        client_max_message: int,
        gate: OneCallGate | None,
        call_used: Callable[[], str],
        terminate: Callable[[str], None],
    ) -> None:
        self.session = session
        self.masker: ValueMasker | None = session.masker
        self.guard: SessionGuard | None = session.guard
        self.chain = chain
        self.tracker = tracker
        self.client_reader, self.client_writer = sockets.client
        self.upstream_reader, self.upstream_writer = sockets.upstream
        self.to_client = to_client  # whole bodies: results are rewritten
        self.to_server = MessageFramer(client_max_message)
        self.results = ResultMasker(self.masker) if self.masker is not None else None
        # Masked: the ResultMasker samples rows after masking. Otherwise columns only.
        self.sample = self.results.sample if self.results is not None else ResultSample(0)
        self.gate = gate
        self.call_used = call_used  # ends a one-call session; returns why
        self.terminate = terminate
        self.portals: dict[str, str] = {}  # portal -> prepared statement name
        self.backlog: list[bytes] = []  # client data read while a statement was held
        self.row_limit = guarded.RowLimit(0)

    # -- client → server -------------------------------------------------------------------
    async def client_to_server(self) -> str:
        try:
            return await self._client_to_server()
        except ClientLeft:
            return "client disconnected"
        except SessionEnded as ended:
            self.terminate(ended.reason)
            return f"terminated: {ended.reason}"

    async def _client_to_server(self) -> str:
        upstream = self.upstream_writer
        while True:
            data = (
                self.backlog.pop(0) if self.backlog else await self.client_reader.read(READ_CHUNK)
            )
            if not data:
                return "client disconnected"
            if self.gate is not None:
                data, passed = self.gate.client_data(data)
            else:
                passed = self.to_server.feed(data)
            if self.guard is not None:
                data = await self._judged(passed)
            else:
                self._observe(passed)
            if data:
                upstream.write(data)
                await upstream.drain()
            if any(message_type == messages.TERMINATE for message_type, _ in passed):
                return "client terminated the session"

    def _observe(self, passed: list[tuple[int, bytes]]) -> None:
        for message_type, body in passed:
            self.tracker.client_message(message_type, body)
            if self.results is not None:
                self.results.client_message(message_type, body)

    async def _judged(self, passed: list[tuple[int, bytes]]) -> bytes:
        """The bytes to forward for `passed`, each statement judged (held ones waited for:
        what comes before a held statement is forwarded first)."""
        out: list[bytes] = []
        for message_type, body in passed:
            forward = await self._judge_message(message_type, body, out)
            self.tracker.client_message(message_type, body)  # the audit names the original
            if self.results is not None:
                self.results.client_message(forward[0], forward[5:])
            out.append(forward)
        return b"".join(out)

    async def _judge_message(self, message_type: int, body: bytes, before: list[bytes]) -> bytes:
        """The framed message to forward in place of (message_type, body)."""
        original = messages.framed(message_type, body)
        if message_type == messages.QUERY:
            sql = messages.parse_query(body)
            return await self._decide(sql, original, guarded.refused_query, before)
        if message_type == messages.PARSE:
            parse = messages.parse_parse(body)
            forward = await self._decide(
                parse.query,
                original,
                lambda code, text: guarded.refused_parse(parse, code, text),
                before,
            )
            assert self.guard is not None
            judged_under = self.guard.revision if forward is original else -1
            self.guard.prepared[parse.statement] = (parse.query, judged_under)
            return forward
        if message_type == messages.BIND:
            bind = messages.parse_bind(body)
            self.portals[bind.portal] = bind.statement
        elif message_type == messages.EXECUTE:
            self._recheck(messages.parse_execute(body).portal)
        elif message_type == messages.CLOSE:
            close = messages.parse_close(body)
            if close.kind == "S" and self.guard is not None:
                self.guard.prepared.pop(close.name, None)
        return original

    def _recheck(self, portal: str) -> None:
        """A statement prepared under an older policy is judged again before it runs."""
        guard = self.guard
        assert guard is not None
        entry = guard.prepared.get(self.portals.get(portal, ""))
        if entry is None or entry[1] in (-1, guard.revision):
            return
        sql, _ = entry
        verdict = guard.verdict(sql)
        if verdict.decision is not Decision.ALLOW:
            self._event(Action.GUARDRAIL_DENIED, sql, verdict)
            raise SessionEnded(REJUDGED_AWAY)
        guard.prepared[self.portals[portal]] = (sql, guard.revision)

    async def _decide(
        self, sql: str, original: bytes, refuse: Refuse, before: list[bytes]
    ) -> bytes:
        assert self.guard is not None
        verdict = self.guard.verdict(sql)
        if verdict.decision is Decision.ALLOW:
            return original
        if verdict.decision is Decision.DENY:
            self._event(Action.GUARDRAIL_DENIED, sql, verdict)
            return refuse(guarded.INSUFFICIENT_PRIVILEGE, verdict.reason)
        await self._flush(before)
        decision = await self._hold(sql, verdict)
        if decision.outcome is HoldOutcome.APPROVED:
            return original
        return refuse(*_refusal(decision, verdict))

    async def _flush(self, before: list[bytes]) -> None:
        if before:
            self.upstream_writer.write(b"".join(before))
            before.clear()
            await self.upstream_writer.drain()

    async def _hold(self, sql: str, verdict: Verdict) -> HoldDecision:
        guard, session = self.guard, self.session
        assert guard is not None
        hold = new_hold(
            timeout_s=guard.hold_timeout_s,
            session=session.id,
            grant=session.grant.id if session.grant else "",
            identity=session.actor.sub,
            identity_name=session.actor.name,
            resource=session.resource_name,
            statement=sql,
            rule=verdict.rule or "",
            reason=verdict.reason,
        )
        self._event(Action.GUARDRAIL_HELD, sql, verdict, hold_id=hold.id)
        decision = await self._wait(guard.holds.request(hold, guard.hold_timeout_s))
        self.chain.guardrail_acted(
            session,
            GuardrailEvent(
                action=Action.GUARDRAIL_HOLD_RESOLVED,
                statement=sql,
                rule=verdict.rule or "",
                reason=verdict.reason,
                hold_id=hold.id,
                outcome=decision.outcome.value,
                decided_by=decision.by,
                decided_at=decision.at,
            ),
        )
        return decision

    async def _wait(self, request: Coroutine[Any, Any, HoldDecision]) -> HoldDecision:
        """The decision, reading the client meanwhile: what it pipelines is kept in order;
        if it leaves, the hold is withdrawn (cancelling the request withdraws it)."""
        decision = spawn(request, name=f"hold-{self.session.id}")
        try:
            while True:
                reading = spawn(self.client_reader.read(READ_CHUNK), name="hold-read")
                done, _ = await asyncio.wait(
                    {decision, reading}, return_when=asyncio.FIRST_COMPLETED
                )
                if reading in done:
                    data = reading.result()
                    if not data:
                        raise ClientLeft
                    self.backlog.append(data)
                    continue
                reading.cancel()
                await asyncio.gather(reading, return_exceptions=True)
                return decision.result()
        finally:
            if not decision.done():
                decision.cancel()
                await asyncio.gather(decision, return_exceptions=True)

    def _event(self, action: Action, sql: str, verdict: Verdict, *, hold_id: str = "") -> None:
        self.chain.guardrail_acted(
            self.session,
            GuardrailEvent(
                action=action,
                statement=sql,
                rule=verdict.rule or "",
                reason=verdict.reason,
                hold_id=hold_id,
            ),
        )

    # -- server → client -------------------------------------------------------------------
    async def server_to_client(self) -> str:
        if self.results is None and self.guard is not None and self.guard.max_rows is None:
            return await self._server_passthrough(self.guard)
        return await self._server_rewriting()

    async def _server_passthrough(self, guard: SessionGuard) -> str:
        """Guarded without masking or a row limit: the server's bytes pass as read (the
        framer, built by the driver, skips DataRow bodies); only observed. A row limit a
        later policy brings ends the session: this pump cannot cut rows."""
        read, client = self.upstream_reader.read, self.client_writer
        feed, observe = self.to_client.feed, self.tracker.server_message
        completes = self._completes_call
        while True:
            data = await read(READ_CHUNK)
            if not data:
                return "upstream closed the connection"
            complete = False
            for message_type, body in feed(data):
                if message_type == messages.PARAMETER_STATUS:
                    self._guard_result(message_type, body, b"")
                elif message_type == messages.ROW_DESCRIPTION:
                    self._describe(body)
                for finished in observe(message_type, body):
                    self._statement_finished(finished)
                complete = complete or completes(message_type)
            client.write(data)
            await client.drain()
            if guard.max_rows is not None:
                self.terminate(ROW_LIMIT_NOW)
                return f"terminated: {ROW_LIMIT_NOW}"
            if complete:
                return self.call_used()

    async def _server_rewriting(self) -> str:
        read, client = self.upstream_reader.read, self.client_writer
        feed, observe = self.to_client.feed, self.tracker.server_message
        mask = self.results.server_message if self.results is not None else None
        completes = self._completes_call
        while True:
            data = await read(READ_CHUNK)
            if not data:
                return "upstream closed the connection"
            out: list[bytes] = []
            complete = False
            for message_type, body in feed(data):
                if mask is not None:
                    encoded = mask(message_type, body)
                else:
                    encoded = messages.framed(message_type, body)
                    if message_type == messages.ROW_DESCRIPTION:
                        self._describe(body)
                if self.guard is not None:
                    encoded = self._guard_result(message_type, body, encoded)
                out.append(encoded)
                for finished in observe(message_type, body):
                    self._statement_finished(finished)
                complete = complete or completes(message_type)
            client.write(b"".join(out))
            await client.drain()
            if complete:
                return self.call_used()

    def _guard_result(self, message_type: int, body: bytes, encoded: bytes) -> bytes:
        guard = self.guard
        assert guard is not None
        if message_type == messages.PARAMETER_STATUS:
            name, value = messages.parse_parameter_status(body)
            if name == "standard_conforming_strings":
                guard.judge.standard_conforming_strings = value == "on"
            return encoded
        if guard.max_rows is None or not encoded:
            return encoded
        self.row_limit.max_rows = guard.max_rows
        encoded, cut = self.row_limit.server_message(message_type, encoded)
        if cut:
            self.chain.guardrail_acted(
                self.session,
                GuardrailEvent(
                    action=Action.GUARDRAIL_ROW_LIMIT,
                    statement="",
                    rule="max_rows",
                    reason=self.row_limit.message(),
                ),
            )
        return encoded

    def _describe(self, body: bytes) -> None:
        """An unmasked session's RowDescription: its columns for the audit, never rows."""
        # A malformed one reaches the client as the server sent it; the audit lacks columns.
        with contextlib.suppress(ProtocolViolation):
            self.sample.describe(parse_row_description(body))

    def _completes_call(self, message_type: int) -> bool:
        return self.gate is not None and self.gate.completes_call(message_type)

    def _statement_finished(self, finished: StatementFinished) -> None:
        tally: MaskingTally | None = None
        if self.masker is not None and self.results is not None:
            tally = self.masker.statement_finished()
            for reason in self.results.take_failures():
                # The wire layer ended the statement (its own reasons, e.g. a binary type it
                # cannot inspect, or the masker's MaskingFailed, already counted by it).
                tally.statement_ended = True
                if reason not in tally.failures:
                    tally.failures[reason] = 1
                    tally.failed += 1
        shape = self.sample.take(finished.text)
        self.chain.statement_finished(self.session, to_statement(finished, tally, shape))


def _refusal(decision: HoldDecision, verdict: Verdict) -> tuple[str, str]:
    """The error a client gets for a held statement that is not approved."""
    if decision.outcome is HoldOutcome.WITHDRAWN:
        return guarded.QUERY_CANCELED, "canceling statement due to user request"
    if decision.outcome is HoldOutcome.EXPIRED:
        return guarded.INSUFFICIENT_PRIVILEGE, f"{verdict.reason}: no approval in time"
    who = f" by {decision.by}" if decision.by else ""
    return guarded.INSUFFICIENT_PRIVILEGE, f"{verdict.reason}: approval refused{who}"


def to_statement(
    finished: StatementFinished,
    masking: MaskingTally | None = None,
    shape: ResultShape = NO_SHAPE,
) -> Statement:
    """The protocol-neutral statement the addons see, with its masking tally if masked and
    its result shape when the relay inspected it."""
    return Statement(
        text=finished.text,
        kind=finished.protocol,
        parameter_count=finished.parameter_count,
        command_tags=finished.command_tags,
        rows=finished.rows,
        error_code=finished.error_sqlstate,
        error_message=finished.error_message,
        duration_s=finished.duration_s,
        masking=masking,
        columns=tuple((column.name, column.type_name, column.type_oid) for column in shape.columns),
        sample_rows=shape.rows,
    )
