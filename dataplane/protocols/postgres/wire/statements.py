"""Which statements ran, and how they ended: an observer of a relayed session, without I/O.

The tracker sees every message of both directions (client messages when they are forwarded,
server messages when they arrive) and reports each executed statement once, as a
StatementFinished. It models the server's response queue: every client message that gets a
response is queued, and server messages complete the message at the head of the queue.

What counts as one statement:

- simple protocol: one Query, however many statements its string holds (all their command
  tags are in one report), finished at ReadyForQuery;
- extended protocol: each Execute, finished by CommandComplete, EmptyQueryResponse,
  PortalSuspended or ErrorResponse; its text is the prepared statement the portal was bound
  to. A failed Parse, and a failed Bind of a known statement, are reported too (with the
  error) so that rejected attempts are audited;
- function call: each FunctionCall, finished at ReadyForQuery.

After an ErrorResponse in the extended protocol the server discards client messages until
the next Sync; Executes discarded that way are NOT reported (they never ran).

The tracker never raises because of what the server sends: a message that fits no pending
request is ignored. Malformed client messages it needs to read raise ProtocolViolation.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, TypeVar

from dataplane.protocols.postgres.wire import messages as m
from dataplane.protocols.postgres.wire.errors import CONNECTION_FAILURE, ProtocolViolation

# Message types whose BODY the tracker reads; pass them as the framers' `wanted` sets. Every
# other message must still be passed to the tracker, with the b"" body the framer yields for
# it: DataRow ('D', b"") for instance is only counted.
CLIENT_TYPES_TRACKED: Final = frozenset(
    {m.QUERY, m.PARSE, m.BIND, m.EXECUTE, m.CLOSE, m.FUNCTION_CALL}
)
SERVER_TYPES_TRACKED: Final = frozenset({m.COMMAND_COMPLETE, m.ERROR_RESPONSE, m.READY_FOR_QUERY})

SIMPLE: Final = "simple"
EXTENDED: Final = "extended"
FUNCTION: Final = "function"

_CLEARS_PREPARED = frozenset({"DEALLOCATE ALL", "DISCARD ALL"})
_T = TypeVar("_T")
_NO_TAG: tuple[str, int | None] = ("", None)


@dataclass(frozen=True, slots=True)
class StatementFinished:
    """One executed statement, as the audit trail records it."""

    text: str
    protocol: str  # SIMPLE | EXTENDED | FUNCTION
    statement_name: str  # prepared statement name; "" when unnamed or simple
    parameter_count: int
    command_tags: tuple[str, ...]
    rows: int | None  # from the tags, or DataRows counted when the tags carry no count
    error_sqlstate: str | None
    error_message: str | None
    duration_s: float


# -- what is waiting for the server -----------------------------------------------------------
@dataclass(slots=True, eq=False)
class _Run:
    """A Query, FunctionCall or Execute in flight: something that runs and gets reported."""

    protocol: str
    started: float
    text: str = ""
    statement_name: str = ""
    parameter_count: int = 0
    portal: str | None = None  # Execute: resolved to its statement when reported
    tags: list[str] = field(default_factory=list)
    rows: int | None = None
    rows_since_tag: int = 0  # DataRows of the command still running
    error: dict[str, str] | None = None

    def command_complete(self, tag: str, rows: int | None) -> None:
        self.tags.append(tag)
        counted = rows if rows is not None else (self.rows_since_tag or None)
        if counted is not None:
            self.rows = (self.rows or 0) + counted
        self.rows_since_tag = 0

    def total_rows(self) -> int | None:
        if self.rows_since_tag:  # suspended, or failed after sending rows
            return (self.rows or 0) + self.rows_since_tag
        return self.rows


@dataclass(slots=True, eq=False)
class _PendingParse:
    parse: m.Parse
    started: float


@dataclass(slots=True, eq=False)
class _PendingBind:
    bind: m.Bind
    started: float


@dataclass(slots=True, eq=False)
class _PendingClose:
    close: m.Close


class _PendingDescribe:
    __slots__ = ()


class _PendingSync:
    __slots__ = ()


class _CopyEnd:
    """A CopyDone/CopyFail the server has not reached yet: it ends a copy-in that starts later
    (a client that pipelines its data) or is ignored by the server outside copy-in."""

    __slots__ = ()


_Pending = (
    _Run | _PendingParse | _PendingBind | _PendingClose | _PendingDescribe | _PendingSync | _CopyEnd
)


@dataclass(frozen=True, slots=True)
class _Portal:
    statement_name: str
    text: str
    parameter_count: int


class StatementTracker:
    """Observes one relayed session and reports each executed statement once."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._queue: deque[_Pending] = deque()
        self._statements: dict[str, str] = {}  # prepared statement name -> query text
        self._portals: dict[str, _Portal] = {}
        self._discarding_until_sync = False  # the server ignores client messages until Sync
        self._client_in_copy = False  # client messages feed a copy-in until CopyDone/CopyFail
        self._transaction_status = m.TRANSACTION_IDLE
        self._on_client: dict[int, Callable[[bytes], None]] = {
            m.QUERY: self._client_query,
            m.PARSE: self._client_parse,
            m.BIND: self._client_bind,
            m.DESCRIBE: self._client_describe,
            m.EXECUTE: self._client_execute,
            m.CLOSE: self._client_close,
            m.SYNC: self._client_sync,
            m.FUNCTION_CALL: self._client_function_call,
            m.COPY_DONE: self._client_copy_end,
            m.COPY_FAIL: self._client_copy_end,
        }
        self._on_server: dict[int, Callable[[bytes], StatementFinished | None]] = {
            m.PARSE_COMPLETE: self._server_parse_complete,
            m.BIND_COMPLETE: self._server_bind_complete,
            m.CLOSE_COMPLETE: self._server_close_complete,
            m.ROW_DESCRIPTION: self._server_description,
            m.NO_DATA: self._server_description,
            m.COMMAND_COMPLETE: self._server_command_complete,
            m.EMPTY_QUERY_RESPONSE: self._server_execute_ended,
            m.PORTAL_SUSPENDED: self._server_execute_ended,
            m.COPY_IN_RESPONSE: self._server_copy_in,
            m.COPY_BOTH_RESPONSE: self._server_copy_in,
            m.ERROR_RESPONSE: self._server_error,
            m.READY_FOR_QUERY: self._server_ready_for_query,
        }

    @property
    def transaction_status(self) -> bytes:
        """The status of the last ReadyForQuery: b"I" idle, b"T" in a block, b"E" failed."""
        return self._transaction_status

    @property
    def in_flight(self) -> int:
        """Client messages still waiting for the server's response."""
        return sum(1 for item in self._queue if type(item) is not _CopyEnd)

    # -- the two directions ------------------------------------------------------------------
    def client_message(self, message_type: int, body: bytes) -> None:
        """A message the client sent (body may be b"" for types not in CLIENT_TYPES_TRACKED)."""
        if self._client_in_copy:
            # The server reads everything as part of the copy and ignores Sync and Flush.
            self._client_in_copy = message_type not in (m.COPY_DONE, m.COPY_FAIL)
            return
        if self._discarding_until_sync and message_type != m.SYNC:
            return
        handle = self._on_client.get(message_type)
        if handle is not None:
            handle(body)

    def server_message(self, message_type: int, body: bytes) -> list[StatementFinished]:
        """A message the server sent; returns the statements it finished (usually none)."""
        if message_type == m.DATA_ROW:  # the hot path: only counted
            if self._queue and type(head := self._queue[0]) is _Run:
                head.rows_since_tag += 1
            return []
        handle = self._on_server.get(message_type)
        finished = handle(body) if handle is not None else None
        return [finished] if finished is not None else []

    def connection_closed(self) -> list[StatementFinished]:
        """The connection is gone: report what was sent but never completed (the server may
        have run it), with the error it got or CONNECTION_FAILURE."""
        lost = [item for item in self._queue if type(item) is _Run]
        self._queue.clear()
        for run in lost:
            run.error = run.error or {"C": CONNECTION_FAILURE, "M": "connection closed first"}
        return [self._report(run) for run in lost]

    # -- client messages -----------------------------------------------------------------------
    def _client_query(self, body: bytes) -> None:
        self._queue.append(_Run(SIMPLE, self._clock(), text=m.parse_query(body)))

    def _client_parse(self, body: bytes) -> None:
        self._queue.append(_PendingParse(m.parse_parse(body), self._clock()))

    def _client_bind(self, body: bytes) -> None:
        self._queue.append(_PendingBind(m.parse_bind(body), self._clock()))

    def _client_describe(self, body: bytes) -> None:
        self._queue.append(_PendingDescribe())

    def _client_execute(self, body: bytes) -> None:
        portal = m.parse_execute(body).portal
        self._queue.append(_Run(EXTENDED, self._clock(), portal=portal))

    def _client_close(self, body: bytes) -> None:
        self._queue.append(_PendingClose(m.parse_close(body)))

    def _client_sync(self, body: bytes) -> None:
        self._discarding_until_sync = False
        self._queue.append(_PendingSync())

    def _client_function_call(self, body: bytes) -> None:
        call = m.parse_function_call(body)
        text = f"FunctionCall(function_oid={call.function_oid})"
        run = _Run(FUNCTION, self._clock(), text=text, parameter_count=call.argument_count)
        self._queue.append(run)

    def _client_copy_end(self, body: bytes) -> None:
        self._queue.append(_CopyEnd())

    # -- server messages -----------------------------------------------------------------------
    def _server_parse_complete(self, body: bytes) -> None:
        if isinstance(head := self._head(), _PendingParse):
            self._queue.popleft()
            self._statements[head.parse.statement] = head.parse.query

    def _server_bind_complete(self, body: bytes) -> None:
        if isinstance(head := self._head(), _PendingBind):
            self._queue.popleft()
            bind = head.bind
            text = self._statements.get(bind.statement, "")
            self._portals[bind.portal] = _Portal(bind.statement, text, bind.parameter_count)

    def _server_close_complete(self, body: bytes) -> None:
        if isinstance(head := self._head(), _PendingClose):
            self._queue.popleft()
            self._apply_close(head.close)

    def _server_description(self, body: bytes) -> None:
        """RowDescription / NoData: ends a Describe (a simple Query's RowDescription does not)."""
        if isinstance(self._head(), _PendingDescribe):
            self._queue.popleft()

    def _server_command_complete(self, body: bytes) -> StatementFinished | None:
        if not isinstance(run := self._head(), _Run):
            return None
        tag, rows = _lenient(m.parse_command_complete, body, _NO_TAG)
        run.command_complete(tag, rows)
        if tag in _CLEARS_PREPARED:
            self._statements.clear()
        return self._finish(run) if run.protocol == EXTENDED else None

    def _server_execute_ended(self, body: bytes) -> StatementFinished | None:
        """EmptyQueryResponse / PortalSuspended: end an Execute (not a simple Query)."""
        run = self._head()
        return self._finish(run) if isinstance(run, _Run) and run.protocol == EXTENDED else None

    def _server_copy_in(self, body: bytes) -> None:
        """CopyInResponse / CopyBothResponse: the server now takes client messages as copy
        data until CopyDone or CopyFail, and ignores Sync and Flush meanwhile. Messages we
        queued behind the COPY were read in that mode, so they get no response of their own."""
        if not isinstance(self._head(), _Run):
            return
        run = self._queue.popleft()
        while self._queue:
            if type(self._queue.popleft()) is _CopyEnd:
                break
        else:
            self._client_in_copy = True
        self._queue.appendleft(run)

    def _server_error(self, body: bytes) -> StatementFinished | None:
        head = self._head()
        if head is None or isinstance(head, _PendingSync):
            return None  # nothing asked (a FATAL at idle) or a failed commit at Sync
        error: dict[str, str] = _lenient(m.parse_error_fields, body, {})
        self._client_in_copy = False
        finished: StatementFinished | None
        if isinstance(head, _Run):
            head.error = error
            if head.protocol != EXTENDED:
                return None  # ReadyForQuery ends it
            finished = self._finish(head)
        else:
            self._queue.popleft()
            finished = self._step_failed(head, error)
        self._discard_until_sync()
        return finished

    def _server_ready_for_query(self, body: bytes) -> StatementFinished | None:
        self._transaction_status = _lenient(m.parse_ready_for_query, body, m.TRANSACTION_IDLE)
        if self._transaction_status == m.TRANSACTION_IDLE:
            self._portals.clear()  # portals do not outlive their transaction
        if not any(_ends_at_ready_for_query(item) for item in self._queue):
            return None  # nothing asked for it: ignore rather than lose track
        while not _ends_at_ready_for_query(item := self._queue.popleft()):
            pass
        if not isinstance(item, _Run):
            return None
        if item.protocol == SIMPLE:  # it replaced the unnamed statement and portal
            self._statements.pop("", None)
            self._portals.pop("", None)
        return self._report(item)

    # -- helpers -------------------------------------------------------------------------------
    def _head(self) -> _Pending | None:
        queue = self._queue
        while queue and type(queue[0]) is _CopyEnd:
            queue.popleft()  # reached outside a copy-in: the server ignores it
        return queue[0] if queue else None

    def _finish(self, run: _Run) -> StatementFinished:
        """Report the Execute at the head of the queue and drop it."""
        self._queue.popleft()
        return self._report(run)

    def _discard_until_sync(self) -> None:
        """After an extended-protocol error the server skips everything up to the next Sync."""
        while self._queue and type(self._queue[0]) is not _PendingSync:
            self._queue.popleft()
        self._discarding_until_sync = not self._queue

    def _step_failed(self, step: _Pending, error: dict[str, str]) -> StatementFinished | None:
        """A failed Parse, or Bind of a known statement, is reported as a failed attempt."""
        if isinstance(step, _PendingParse):
            parse = step.parse
            if not parse.statement:
                self._statements.pop("", None)  # the server dropped it before parsing
            attempt = _Run(EXTENDED, step.started, text=parse.query, statement_name=parse.statement)
            attempt.parameter_count, attempt.error = len(parse.parameter_type_oids), error
            return self._report(attempt)
        if isinstance(step, _PendingBind):
            bind = step.bind
            self._portals.pop(bind.portal, None)
            if (text := self._statements.get(bind.statement)) is None:
                return None
            attempt = _Run(EXTENDED, step.started, text=text, statement_name=bind.statement)
            attempt.parameter_count, attempt.error = bind.parameter_count, error
            return self._report(attempt)
        return None

    def _apply_close(self, close: m.Close) -> None:
        if close.kind == "P":
            self._portals.pop(close.name, None)
            return
        self._statements.pop(close.name, None)
        # Closing a prepared statement closes the portals built from it.
        for name in [n for n, p in self._portals.items() if p.statement_name == close.name]:
            del self._portals[name]

    def _report(self, run: _Run) -> StatementFinished:
        if run.portal is not None and (portal := self._portals.get(run.portal)) is not None:
            run.text, run.statement_name = portal.text, portal.statement_name
            run.parameter_count = portal.parameter_count
        error = run.error
        return StatementFinished(
            text=run.text,
            protocol=run.protocol,
            statement_name=run.statement_name,
            parameter_count=run.parameter_count,
            command_tags=tuple(run.tags),
            rows=run.total_rows(),
            error_sqlstate=error.get("C") if error is not None else None,
            error_message=error.get("M") if error is not None else None,
            duration_s=max(0.0, self._clock() - run.started),
        )


def _ends_at_ready_for_query(item: _Pending) -> bool:
    return type(item) is _PendingSync or (type(item) is _Run and item.protocol != EXTENDED)


def _lenient(parse: Callable[[bytes], _T], body: bytes, default: _T) -> _T:
    """Server bodies: a malformed one must not kill the session, the client will judge it."""
    try:
        return parse(body)
    except ProtocolViolation:
        return default
