"""The relay of a masked session: every server message is parsed and results re-encoded.

An unmasked session relays raw bytes and only observes message boundaries (proxy.py). A
session whose grant has a masking profile takes this path instead: the server's stream is
split into whole messages, each passes through the wire layer's ResultMasker (DataRow,
COPY data, error and notice fields, function results) and the re-encoded messages go to
the client, so nothing unmasked ever leaves the agent. Results stream: each read of the
upstream socket is masked and written before the next is read; a result set is never
held whole.

The client's messages are forwarded unchanged; the ResultMasker only observes them to know
each result's columns and formats (prepared statements, portals, Bind's result formats).
A one-call grant's gate applies here too.

The statement audit event carries the statement's masking tally: the session's masker
counts what it masked since the previous statement finished.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from dataplane.core.addons import AddonChain, Statement
from dataplane.core.server import READ_CHUNK
from dataplane.core.session import Session
from dataplane.masking.values import MaskingTally, ValueMasker
from dataplane.protocols.postgres.wire import messages
from dataplane.protocols.postgres.wire.framing import MessageFramer
from dataplane.protocols.postgres.wire.one_call import OneCallGate
from dataplane.protocols.postgres.wire.result_masking import ResultMasker
from dataplane.protocols.postgres.wire.statements import StatementFinished, StatementTracker


class MaskedRelay:
    """The two pumps of one masked session."""

    def __init__(
        self,
        *,
        session: Session,
        masker: ValueMasker,
        chain: AddonChain,
        tracker: StatementTracker,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        to_client: MessageFramer,
        client_max_message: int,
        gate: OneCallGate | None,
        call_used: Callable[[], str],
    ) -> None:
        self.session = session
        self.masker = masker
        self.chain = chain
        self.tracker = tracker
        self.client_reader, self.client_writer = client
        self.upstream_reader, self.upstream_writer = upstream
        # Whole bodies both ways: the ResultMasker reads every message it relays.
        self.to_client = to_client
        self.to_server = MessageFramer(client_max_message)
        self.results = ResultMasker(masker)
        self.gate = gate
        self.call_used = call_used  # ends a one-call session; returns why

    async def client_to_server(self) -> str:
        read, upstream = self.client_reader.read, self.upstream_writer
        observe, results = self.tracker.client_message, self.results.client_message
        while True:
            data = await read(READ_CHUNK)
            if not data:
                return "client disconnected"
            if self.gate is not None:
                data, passed = self.gate.client_data(data)
            else:
                passed = self.to_server.feed(data)
            for message_type, body in passed:
                observe(message_type, body)
                results(message_type, body)
            if data:
                upstream.write(data)
                await upstream.drain()
            if any(message_type == messages.TERMINATE for message_type, _ in passed):
                return "client terminated the session"

    async def server_to_client(self) -> str:
        read, client = self.upstream_reader.read, self.client_writer
        feed, mask = self.to_client.feed, self.results.server_message
        observe, completes = self.tracker.server_message, self._completes_call
        while True:
            data = await read(READ_CHUNK)
            if not data:
                return "upstream closed the connection"
            out: list[bytes] = []
            complete = False
            for message_type, body in feed(data):
                out.append(mask(message_type, body))
                for finished in observe(message_type, body):
                    self._statement_finished(finished)
                complete = complete or completes(message_type)
            client.write(b"".join(out))
            await client.drain()
            if complete:
                return self.call_used()

    def _completes_call(self, message_type: int) -> bool:
        return self.gate is not None and self.gate.completes_call(message_type)

    def _statement_finished(self, finished: StatementFinished) -> None:
        tally = self.masker.statement_finished()
        for reason in self.results.take_failures():
            # The wire layer ended the statement (its own reasons, e.g. a binary type it
            # cannot inspect, or the masker's MaskingFailed, already counted by the masker).
            tally.statement_ended = True
            if reason not in tally.failures:
                tally.failures[reason] = 1
                tally.failed += 1
        self.chain.statement_finished(self.session, to_statement(finished, tally))


def to_statement(finished: StatementFinished, masking: MaskingTally | None = None) -> Statement:
    """The protocol-neutral statement the addons see, with its masking tally if masked."""
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
    )
