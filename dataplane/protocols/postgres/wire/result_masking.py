"""Masking a PostgreSQL session's results on their way to the client, without I/O.

The ResultMasker sees every message of both directions, in order: the client's (observed,
never changed) so it knows the shape of every row the server will send, and the server's,
which it returns re-encoded with their values masked.

    results = ResultMasker(masker)
    results.client_message(message_type, body)          # each client message, as forwarded
    out = results.server_message(message_type, body)    # bytes to send instead (maybe b"")
    results.take_failures()                             # statements it ended, since last call

What is masked (see pgtypes for the per-type rules):

- DataRow: each value by its column's type and format. The shape of a row comes from the
  RowDescription of a simple Query, of a Describe of the portal, or of a Describe of the
  prepared statement combined with the result formats of Bind (a statement described once
  and executed many times, as asyncpg and pgbench -M prepared do, gets no new
  RowDescription). Per shape, a list of column functions is built once; a row none of
  whose values change is sent as it came.
- COPY TO STDOUT in text and CSV format (copy_rows); binary COPY cannot be inspected.
- ErrorResponse / NoticeResponse fields M, D, H and W (a unique violation echoes the value:
  `Key (email)=(alice@example.com) already exists.`), NotificationResponse payloads, and a
  FunctionCallResponse in text format.

Failing closed. A row whose shape is unknown (tracking lost, a statement executed without
ever being described), a binary value or binary COPY that cannot be decoded, or a masker
that raises MaskingFailed (on_failure "error") ends the statement for the client: it gets an
ErrorResponse (SQLSTATE XX000, "the gateway could not mask this result: <reason>") in place
of the message that failed, every later message of the statement is dropped (rows, COPY
data, command tags, and in the extended protocol everything up to the Sync, as the server
itself skips to Sync after an error) until ReadyForQuery, whose status 'T' becomes 'E' so the
client believes its transaction failed, as after a real error. ParameterStatus, notices,
notifications and CopyInResponse still pass (the client must see them to keep its state and
to answer a copy-in). A CopyBothResponse (a replication stream) cannot be inspected and is
replaced by the error. A failure outside any statement (an asynchronous notice or
notification) drops only that message.

Unchanged messages are re-framed from their type and body (the same bytes); a held COPY row
makes a CopyData return b"".

Tallies: the ResultMasker never calls masker.statement_finished(); the proxy does, when the
StatementTracker reports a statement finished. `take_failures()` returns the reasons of the
statements this layer ended with an error since the last call, so the proxy can mark that
statement's audit event (the masker knows only about failures it raised itself). `sample`
(result_sample) keeps each statement's columns and first rows as sent, masked, for the same
event; the proxy takes it when the statement finishes.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from dataplane.masking.values import MaskingFailed, ValueMasker
from dataplane.protocols.postgres.wire import messages as m
from dataplane.protocols.postgres.wire.copy_rows import TEXT_DEFAULTS, CopyRows, copy_format
from dataplane.protocols.postgres.wire.pgtypes import ColumnFunction, column_function
from dataplane.protocols.postgres.wire.reader import BodyReader, decode_text
from dataplane.protocols.postgres.wire.result_bodies import (
    BindFormats,
    Column,
    ValueChange,
    function_result_format,
    mask_error_fields,
    parse_bind_formats,
    parse_execute_portal,
    parse_row_description,
    with_changes,
)
from dataplane.protocols.postgres.wire.result_sample import SAMPLE_ROWS, ResultSample

MASKING_FAILED_SQLSTATE: Final = "XX000"  # internal_error: nothing the client did wrong
# Server messages that still reach the client after a failure ended the statement.
_KEPT_AFTER_FAILURE: Final = frozenset(
    {m.PARAMETER_STATUS, m.NOTICE_RESPONSE, m.NOTIFICATION_RESPONSE, m.COPY_IN_RESPONSE}
    | {m.READY_FOR_QUERY}
)
_CLEARS_PREPARED = frozenset({b"DEALLOCATE ALL\x00", b"DISCARD ALL\x00"})
_MAX_CACHED_SHAPES = 256

_INT16 = struct.Struct("!h")
_INT32 = struct.Struct("!i")
_HEADER = struct.Struct("!BI")  # a message's type and length


@dataclass(frozen=True, slots=True)
class RowPlan:
    """How each value of a row shape is masked; None entries pass untouched."""

    functions: tuple[ColumnFunction | None, ...]
    passthrough: bool
    columns: tuple[Column, ...]  # what the audit's result sample names


@dataclass(slots=True)
class _Prepared:
    query: str
    columns: tuple[Column, ...] | None = None  # from Describe('S'); formats not yet known
    plans: dict[tuple[int, ...], RowPlan] = field(default_factory=dict)  # by Bind's formats


@dataclass(slots=True)
class _Portal:
    statement: _Prepared
    formats: tuple[int, ...]
    columns: tuple[Column, ...] | None = None  # from Describe('P'), formats included


# -- what is waiting for the server ----------------------------------------------------------
@dataclass(slots=True, eq=False)
class _Query:
    text: str
    copies: int = 0  # COPY TO STDOUT results seen so far (their options are in the text)


@dataclass(slots=True, eq=False)
class _Parse:
    name: str
    query: str


@dataclass(slots=True, eq=False)
class _Describe:
    kind: str
    name: str


@dataclass(slots=True, eq=False)
class _Execute:
    portal: str


@dataclass(slots=True, eq=False)
class _Close:
    kind: str
    name: str


@dataclass(slots=True, eq=False)
class _FunctionCall:
    result_format: int


class _Sync:
    __slots__ = ()


class _CopyEnd:
    """A client CopyDone/CopyFail the server has not reached yet (see StatementTracker)."""

    __slots__ = ()


_SYNC: Final = _Sync()  # stateless: one instance serves every Sync
_COPY_END: Final = _CopyEnd()
_Pending = (
    _Query | _Parse | BindFormats | _Describe | _Execute | _Close | _FunctionCall | _Sync | _CopyEnd
)


@dataclass(slots=True)
class _Shapes:
    """Row plans by shape, so a statement executed many times builds its plan once."""

    masker: ValueMasker
    plans: dict[tuple[Column, ...], RowPlan] = field(default_factory=dict)

    def plan(self, columns: tuple[Column, ...]) -> RowPlan:
        plan = self.plans.get(columns)
        if plan is None:
            functions = tuple(column_function(self.masker, *column) for column in columns)
            plan = RowPlan(functions, all(f is None for f in functions), columns)
            if len(self.plans) >= _MAX_CACHED_SHAPES:
                self.plans.clear()
            self.plans[columns] = plan
        return plan


class ResultMasker:
    """Masks one session's server messages; observes its client messages for their shape."""

    def __init__(self, masker: ValueMasker) -> None:
        self._masker = masker
        self._shapes = _Shapes(masker)
        self._descriptions: dict[bytes, tuple[Column, ...]] = {}  # RowDescription body -> columns
        self._queue: deque[_Pending] = deque()
        self._statements: dict[str, _Prepared] = {}
        self._portals: dict[str, _Portal] = {}
        self._plan: RowPlan | None = None  # rows of the result now streaming
        self._copy: CopyRows | None = None  # a COPY TO STDOUT now streaming
        self._failed = False  # a failure ended the statement: drop until ReadyForQuery
        self._failures: list[str] = []
        # The first rows of each statement as sent (masked), for its audit event.
        self.sample = ResultSample(SAMPLE_ROWS)
        self._discarding_until_sync = False
        self._client_in_copy = False
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
        # Each returns the body to send, or None to send the message unchanged.
        self._on_server: dict[int, Callable[[bytes], bytes | None]] = {
            m.PARSE_COMPLETE: self._server_parse_complete,
            m.BIND_COMPLETE: self._server_bind_complete,
            m.CLOSE_COMPLETE: self._server_close_complete,
            m.ROW_DESCRIPTION: self._server_row_description,
            m.NO_DATA: self._server_no_data,
            m.COMMAND_COMPLETE: self._server_command_complete,
            m.EMPTY_QUERY_RESPONSE: self._server_execute_ended,
            m.PORTAL_SUSPENDED: self._server_execute_ended,
            m.COPY_OUT_RESPONSE: self._server_copy_out,
            m.COPY_IN_RESPONSE: self._server_copy_in,
            m.COPY_BOTH_RESPONSE: self._server_copy_both,
            m.ERROR_RESPONSE: self._server_error,
            m.NOTICE_RESPONSE: self._server_notice,
            m.NOTIFICATION_RESPONSE: self._server_notification,
            m.FUNCTION_CALL_RESPONSE: self._server_function_result,
            m.READY_FOR_QUERY: self._server_ready_for_query,
        }

    def take_failures(self) -> list[str]:
        """Reasons of the statements ended with an error since the last call."""
        failures, self._failures = self._failures, []
        return failures

    # -- the two directions ------------------------------------------------------------------
    def client_message(self, message_type: int, body: bytes) -> None:
        """A message the client sent (whole body), in the order it is forwarded."""
        if self._client_in_copy:
            self._client_in_copy = message_type not in (m.COPY_DONE, m.COPY_FAIL)
            return
        if self._discarding_until_sync and message_type != m.SYNC:
            return
        handle = self._on_client.get(message_type)
        if handle is not None:
            handle(body)

    def server_message(self, message_type: int, body: bytes) -> bytes:
        """The bytes to send the client for one server message (b"" to send nothing)."""
        try:
            if message_type == m.DATA_ROW:  # the hot path
                if self._failed:
                    return b""
                row = self._data_row(body)
                return _HEADER.pack(m.DATA_ROW, len(row) + 4) + row
            if message_type == m.COPY_DATA:
                return self._server_copy_data(body)
            if message_type == m.COPY_DONE:
                return self._server_copy_done()
            handle = self._on_server.get(message_type)
            out = handle(body) if handle is not None else None
        except MaskingFailed as failure:
            return self._fail(failure.reason)
        if self._failed and message_type not in _KEPT_AFTER_FAILURE:
            return b""
        if out is not None:
            body = out
        return _HEADER.pack(message_type, len(body) + 4) + body

    # -- failing closed ----------------------------------------------------------------------
    def _fail(self, reason: str) -> bytes:
        """End the running statement with an error; outside a statement drop the message."""
        self._plan = self._copy = None
        if self._failed:
            return b""
        self._failures.append(reason)
        if not any(type(item) is not _CopyEnd for item in self._queue):
            return b""
        self._failed = True
        return _masking_error(reason)

    # -- DataRow -----------------------------------------------------------------------------
    def _data_row(self, body: bytes) -> bytes:
        plan = self._plan or self._execute_plan()
        if plan.passthrough:
            row = body
        else:
            try:
                changes = self._masked_values(plan.functions, body)
            except (struct.error, IndexError) as error:
                raise MaskingFailed("a malformed DataRow cannot be inspected") from error
            row = with_changes(body, changes) if changes else body
        if self.sample.open:
            self.sample.row(plan.columns, row)
        return row

    @staticmethod
    def _masked_values(
        functions: tuple[ColumnFunction | None, ...], body: bytes
    ) -> list[ValueChange]:
        """(start of the value's length, end of the value, new value) of changed values."""
        unpack = _INT32.unpack_from
        if _INT16.unpack_from(body)[0] != len(functions):
            raise MaskingFailed("a row does not match its description")
        changes: list[ValueChange] = []
        offset = 2
        for function in functions:
            (size,) = unpack(body, offset)
            offset += 4
            if size <= 0:
                continue
            if function is not None:
                value = body[offset : offset + size]
                masked = function(value)
                if masked is not value:
                    changes.append((offset - 4, offset + size, masked))
            offset += size
        if offset != len(body):
            raise MaskingFailed("a malformed DataRow cannot be inspected")
        return changes

    def _execute_plan(self) -> RowPlan:
        """The plan of the rows of the Execute at the head of the queue."""
        head = self._head()
        portal = self._portals.get(head.portal) if isinstance(head, _Execute) else None
        if portal is None:
            raise MaskingFailed("the shape of this result is unknown")
        if portal.columns is not None:  # described as a portal: formats included
            self._plan = self._shapes.plan(portal.columns)
            return self._plan
        plans = portal.statement.plans
        plan = plans.get(portal.formats)
        if plan is None:
            plan = plans[portal.formats] = self._shapes.plan(_bound_columns(portal))
        self._plan = plan
        return plan

    # -- client messages -----------------------------------------------------------------------
    def _client_query(self, body: bytes) -> None:
        self._queue.append(_Query(m.parse_query(body)))

    def _client_parse(self, body: bytes) -> None:
        parse = m.parse_parse(body)
        self._queue.append(_Parse(parse.statement, parse.query))

    def _client_bind(self, body: bytes) -> None:
        self._queue.append(parse_bind_formats(body))

    def _client_describe(self, body: bytes) -> None:
        describe = m.parse_describe(body)
        self._queue.append(_Describe(describe.kind, describe.name))

    def _client_execute(self, body: bytes) -> None:
        self._queue.append(_Execute(parse_execute_portal(body)))

    def _client_close(self, body: bytes) -> None:
        close = m.parse_close(body)
        self._queue.append(_Close(close.kind, close.name))

    def _client_sync(self, body: bytes) -> None:
        self._discarding_until_sync = False
        self._queue.append(_SYNC)

    def _client_function_call(self, body: bytes) -> None:
        self._queue.append(_FunctionCall(function_result_format(body)))

    def _client_copy_end(self, body: bytes) -> None:
        self._queue.append(_COPY_END)

    # -- server messages: the extended protocol's steps ----------------------------------------
    def _server_parse_complete(self, body: bytes) -> None:
        if isinstance(head := self._head(), _Parse):
            self._queue.popleft()
            self._statements[head.name] = _Prepared(head.query)

    def _server_bind_complete(self, body: bytes) -> None:
        if isinstance(head := self._head(), BindFormats):
            self._queue.popleft()
            statement = self._statements.get(head.statement)
            if statement is None:
                self._portals.pop(head.portal, None)  # its rows will fail closed
            else:
                self._portals[head.portal] = _Portal(statement, head.formats)

    def _server_close_complete(self, body: bytes) -> None:
        if not isinstance(head := self._head(), _Close):
            return
        self._queue.popleft()
        if head.kind == "P":
            self._portals.pop(head.name, None)
            return
        closed = self._statements.pop(head.name, None)
        for name in [n for n, p in self._portals.items() if p.statement is closed]:
            del self._portals[name]

    def _server_row_description(self, body: bytes) -> None:
        columns = self._columns_of(body)
        self.sample.describe(columns)
        head = self._head()
        if isinstance(head, _Describe):
            self._queue.popleft()
            self._described(head, columns)
        elif isinstance(head, _Query):
            self._plan = self._shapes.plan(columns)  # a simple query's next result set

    def _columns_of(self, body: bytes) -> tuple[Column, ...]:
        """A RowDescription's columns, parsed once per distinct body: a statement run
        again and again (pgbench, an ORM's lookups) describes its rows in the same bytes."""
        columns = self._descriptions.get(body)
        if columns is None:
            columns = parse_row_description(body)
            if len(self._descriptions) >= _MAX_CACHED_SHAPES:
                self._descriptions.clear()
            self._descriptions[body] = columns
        return columns

    def _server_no_data(self, body: bytes) -> None:
        if isinstance(head := self._head(), _Describe):
            self._queue.popleft()
            self._described(head, ())

    def _described(self, describe: _Describe, columns: tuple[Column, ...]) -> None:
        if describe.kind == "S":
            if (statement := self._statements.get(describe.name)) is not None:
                statement.columns = columns
                statement.plans.clear()
        elif (portal := self._portals.get(describe.name)) is not None:
            portal.columns = columns

    def _server_command_complete(self, body: bytes) -> None:
        self._plan = None
        if body in _CLEARS_PREPARED:
            self._statements.clear()
        self._server_execute_ended(body)

    def _server_execute_ended(self, body: bytes) -> None:
        """CommandComplete / EmptyQueryResponse / PortalSuspended end an Execute."""
        self._plan = None
        if isinstance(self._head(), _Execute):
            self._queue.popleft()

    # -- server messages: errors and the end of a cycle ---------------------------------------
    def _server_error(self, body: bytes) -> bytes | None:
        self._plan = self._copy = None
        self._client_in_copy = False
        head = self._head()
        if head is not None and not isinstance(head, (_Sync, _Query, _FunctionCall)):
            self._queue.popleft()
            self._step_failed(head)
            self._discard_until_sync()
        if self._failed:
            return None
        try:
            return mask_error_fields(body, self._masker.mask_text)
        except MaskingFailed as failure:  # the error is replaced by ours, not dropped
            self._failures.append(failure.reason)
            return _masking_error(failure.reason)[5:]

    def _step_failed(self, step: _Pending) -> None:
        if isinstance(step, _Parse) and not step.name:
            self._statements.pop("", None)
        elif isinstance(step, BindFormats):
            self._portals.pop(step.portal, None)

    def _discard_until_sync(self) -> None:
        """After an extended-protocol error the server skips everything up to the next Sync."""
        while self._queue and type(self._queue[0]) is not _Sync:
            self._queue.popleft()
        self._discarding_until_sync = not self._queue

    def _server_ready_for_query(self, body: bytes) -> bytes | None:
        self._plan = self._copy = None
        if body == m.TRANSACTION_IDLE:
            self._portals.clear()  # portals do not outlive their transaction
        while self._queue:
            item = self._queue.popleft()
            if isinstance(item, _Query):  # it replaced the unnamed statement and portal
                self._statements.pop("", None)
                self._portals.pop("", None)
            if isinstance(item, (_Sync, _Query, _FunctionCall)):
                break
        if not self._failed:
            return None
        self._failed = False
        return m.TRANSACTION_FAILED if body == m.TRANSACTION_IN_BLOCK else None

    # -- server messages: COPY ---------------------------------------------------------------
    def _server_copy_out(self, body: bytes) -> None:
        if not body or body[0] != 0:
            raise MaskingFailed("binary COPY cannot be inspected")
        head = self._head()
        if isinstance(head, _Query):
            fmt = copy_format(head.text, head.copies)
            head.copies += 1
        elif isinstance(head, _Execute) and (portal := self._portals.get(head.portal)):
            fmt = copy_format(portal.statement.query)
        else:
            fmt = TEXT_DEFAULTS
        self._copy = CopyRows(fmt, self._masker.mask_text)

    def _server_copy_data(self, body: bytes) -> bytes:
        """CopyData with the complete rows it brings, masked; nothing while a row is held."""
        if self._failed:
            return b""
        if self._copy is None:
            raise MaskingFailed("COPY data outside a known COPY cannot be inspected")
        rows = self._copy.feed(body)
        return m.framed(m.COPY_DATA, rows) if rows else b""

    def _server_copy_done(self) -> bytes:
        """CopyDone, after the COPY's unterminated last row if one was held."""
        copy, self._copy = self._copy, None
        if self._failed:
            return b""
        rest = copy.finish() if copy is not None else b""
        done = m.framed(m.COPY_DONE, b"")
        return m.framed(m.COPY_DATA, rest) + done if rest else done

    def _server_copy_in(self, body: bytes) -> None:
        """CopyInResponse: the server takes client messages as copy data until CopyDone or
        CopyFail; what the client queued behind the COPY was read as copy data."""
        if not isinstance(self._head(), (_Query, _Execute)):
            return
        running = self._queue.popleft()
        while self._queue:
            if type(self._queue.popleft()) is _CopyEnd:
                break
        else:
            self._client_in_copy = True
        self._queue.appendleft(running)

    def _server_copy_both(self, body: bytes) -> None:
        self._server_copy_in(body)
        raise MaskingFailed("a replication stream cannot be inspected")

    # -- server messages: text outside rows ----------------------------------------------------
    def _server_notice(self, body: bytes) -> bytes:
        return mask_error_fields(body, self._masker.mask_text)

    def _server_notification(self, body: bytes) -> bytes:
        reader = BodyReader(body, "NotificationResponse")
        reader.skip(4)
        channel = reader.cstring_bytes()
        payload = reader.cstring()
        masked = self._masker.mask_text("", payload)
        if masked == payload:
            return body
        return body[:4] + channel + b"\x00" + masked.encode("utf-8") + b"\x00"

    def _server_function_result(self, body: bytes) -> bytes | None:
        head = self._head()
        result_format = head.result_format if isinstance(head, _FunctionCall) else -1
        (size,) = _INT32.unpack_from(body)
        if size < 0 or self._failed:
            return None
        if result_format != 0:
            raise MaskingFailed("a binary function result cannot be inspected")
        text = decode_text(body[4:])
        masked = self._masker.mask_text("", text)
        if masked == text:
            return None
        encoded = masked.encode("utf-8")
        return _INT32.pack(len(encoded)) + encoded

    def _head(self) -> _Pending | None:
        queue = self._queue
        while queue and type(queue[0]) is _CopyEnd:
            queue.popleft()  # reached outside a copy-in: the server ignores it
        return queue[0] if queue else None


def _bound_columns(portal: _Portal) -> tuple[Column, ...]:
    """The statement's columns with Bind's result formats (none: all text; one: for all;
    else one each)."""
    columns = portal.statement.columns
    if columns is None:
        raise MaskingFailed("the shape of this result is unknown")
    formats = portal.formats
    if len(formats) <= 1:
        code = formats[0] if formats else 0
        return tuple((name, oid, code) for name, oid, _ in columns)
    if len(formats) != len(columns):
        raise MaskingFailed("result formats do not match the columns")
    return tuple((name, oid, code) for (name, oid, _), code in zip(columns, formats, strict=True))


def _masking_error(reason: str) -> bytes:
    message = f"the gateway could not mask this result: {reason}"
    return m.error_response("ERROR", MASKING_FAILED_SQLSTATE, message)
