"""The gateway's own statements on an upstream connection: the simple query protocol and
safe quoting, without I/O.

    state      server message                                   next state
    NEW        (start() sends Query)                            SENT
    SENT       RowDescription, DataRow, CommandComplete,        SENT
               EmptyQueryResponse, NoticeResponse,
               ParameterStatus, NotificationResponse
               ErrorResponse (kept in `error`)                  SENT
               ReadyForQuery                                    DONE
    (any)      anything else (e.g. CopyInResponse)              FAILED (IllegalTransition)

The gateway only ever sends statements it built itself, so the SQL text is assembled from
`quote_identifier` and `quote_literal`: no name or comment from the control plane can end a
quoted string or identifier early.
"""

from __future__ import annotations

from enum import Enum

from dataplane.protocols.postgres.wire import messages
from dataplane.protocols.postgres.wire.errors import IllegalTransition
from dataplane.protocols.postgres.wire.reader import BodyReader

# PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes; a longer name would silently
# refer to a different role.
IDENTIFIER_MAX_BYTES = 63

_IGNORED = frozenset(
    {
        messages.ROW_DESCRIPTION,
        messages.COMMAND_COMPLETE,
        messages.EMPTY_QUERY_RESPONSE,
        messages.PARAMETER_STATUS,
        messages.NOTIFICATION_RESPONSE,
    }
)

Row = tuple[str | None, ...]


class QueryFailed(Exception):
    """The server answered a gateway statement with an ErrorResponse."""

    def __init__(self, sqlstate: str, message: str) -> None:
        super().__init__(f"{message} ({sqlstate})")
        self.sqlstate = sqlstate
        self.message = message


def quote_identifier(name: str) -> str:
    """`name` as a double-quoted SQL identifier; ValueError if PostgreSQL could not hold it
    unchanged (empty, a NUL, or longer than 63 bytes)."""
    if not name or "\x00" in name or len(name.encode("utf-8")) > IDENTIFIER_MAX_BYTES:
        raise ValueError(f"not a valid PostgreSQL identifier: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """`text` as an SQL string literal, safe whatever standard_conforming_strings says.

    Like libpq's PQescapeLiteral: quotes are doubled, and a text with a backslash becomes an
    E'' literal with the backslashes doubled too.
    """
    if "\x00" in text:
        raise ValueError("a NUL cannot appear in a PostgreSQL string")
    quoted = text.replace("'", "''")
    if "\\" in text:
        return " E'" + quoted.replace("\\", "\\\\") + "'"
    return "'" + quoted + "'"


class QueryState(Enum):
    NEW = "new"
    SENT = "query sent"  # awaiting results up to ReadyForQuery
    DONE = "done"
    FAILED = "failed"


class SimpleQuery:
    """One Query message (one or more statements) and everything the server answers to it."""

    def __init__(self, sql: str) -> None:
        self._sql = sql
        self._state = QueryState.NEW
        self.rows: list[Row] = []
        self.command_tags: list[str] = []
        self.notices: list[dict[str, str]] = []
        self.error: dict[str, str] | None = None  # the ErrorResponse fields, if any

    @property
    def state(self) -> QueryState:
        return self._state

    @property
    def done(self) -> bool:
        return self._state is QueryState.DONE

    def start(self) -> bytes:
        """The Query message to send."""
        if self._state is not QueryState.NEW:
            raise IllegalTransition("simple query", self._state.value, "start()")
        self._state = QueryState.SENT
        return messages.query(self._sql)

    def receive(self, message_type: int, body: bytes) -> None:
        """Feed one server message (ProtocolViolation on anything a simple query can't get)."""
        if self._state is not QueryState.SENT:
            raise IllegalTransition("simple query", self._state.value, chr(message_type))
        try:
            self._in_sent(message_type, body)
        except Exception:
            self._state = QueryState.FAILED
            raise

    def raise_for_error(self) -> None:
        """Raise QueryFailed if the server refused the statement."""
        if self.error is not None:
            raise QueryFailed(self.error.get("C", "XX000"), self.error.get("M", "query failed"))

    def _in_sent(self, message_type: int, body: bytes) -> None:
        if message_type == messages.DATA_ROW:
            self.rows.append(parse_data_row(body))
        elif message_type == messages.COMMAND_COMPLETE:
            self.command_tags.append(messages.parse_command_complete(body)[0])
        elif message_type == messages.ERROR_RESPONSE:
            # The first error aborts the rest of the query string; ReadyForQuery follows.
            self.error = self.error or messages.parse_error_fields(body)
        elif message_type == messages.NOTICE_RESPONSE:
            self.notices.append(messages.parse_error_fields(body))
        elif message_type == messages.READY_FOR_QUERY:
            messages.parse_ready_for_query(body)
            self._state = QueryState.DONE
        elif message_type not in _IGNORED:
            raise IllegalTransition("simple query", self._state.value, chr(message_type))


def parse_data_row(body: bytes) -> Row:
    """A DataRow's columns as text (the simple protocol sends text); None for SQL NULL."""
    reader = BodyReader(body, "DataRow")
    count = reader.count()
    columns: list[str | None] = []
    for _ in range(count):
        size = reader.int32()
        if size == -1:
            columns.append(None)
        elif size < 0:
            raise reader.violation(f"column length {size}")
        else:
            columns.append(reader.take(size).decode("utf-8", errors="replace"))
    reader.end()
    return tuple(columns)
