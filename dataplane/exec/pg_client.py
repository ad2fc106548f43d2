"""A minimal PostgreSQL client without I/O: startup with a gateway token, one simple Query,
its result, Terminate. The exec runner speaks it over a socket pair to the agent's own
PostgreSQL driver, so an exec call is a native session in every respect.

    state      server message                               reply / next state
    STARTUP    AuthenticationCleartextPassword              PasswordMessage(token) / STARTUP
               AuthenticationOk, ParameterStatus,           - / STARTUP
               BackendKeyData, NoticeResponse
               ErrorResponse                                - / FAILED (refused)
               ReadyForQuery                                Query / QUERY
    QUERY      RowDescription (a new result set)            - / QUERY
               DataRow (kept up to max_rows)                - / QUERY
               CommandComplete, EmptyQueryResponse,         - / QUERY
               NoticeResponse, ParameterStatus, ...
               CopyInResponse                               CopyFail / QUERY
               ErrorResponse (the first is kept)            - / QUERY
               ReadyForQuery                                Terminate / DONE
    (any)      ErrorResponse FATAL (session ended)          - / FAILED
    (any)      anything else                                IllegalTransition

Several statements in one Query: the last result set is the one reported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from dataplane.exec.values import converter_for, type_name
from dataplane.protocols.postgres.wire import messages as m
from dataplane.protocols.postgres.wire.errors import IllegalTransition, ProtocolViolation
from dataplane.protocols.postgres.wire.result_bodies import parse_row_description
from dataplane.protocols.postgres.wire.simple_query import parse_data_row

EXEC_USER = "gatehouse-exec"  # the driver needs a user name; the token says who it is
COPY_REFUSED = "COPY FROM STDIN is not available through the exec API"

_PASSED = frozenset(
    {
        m.PARAMETER_STATUS,
        m.NOTICE_RESPONSE,
        m.NOTIFICATION_RESPONSE,
        m.COPY_OUT_RESPONSE,
        m.COPY_DATA,
        m.COPY_DONE,
        m.EMPTY_QUERY_RESPONSE,
    }
)


class ClientState(Enum):
    STARTUP = "startup"
    QUERY = "query"
    DONE = "done"
    FAILED = "failed"


@dataclass
class ResultSet:
    """What the exec API returns for SQL: typed columns, JSON rows, the command tag."""

    columns: list[dict[str, str]] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    row_count: int = 0
    command_tag: str = ""
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "rows": self.rows,
            "row_count": self.row_count,
            "command_tag": self.command_tag,
            "truncated": self.truncated,
        }


class SimpleQueryClient:
    """The client side of one exec session; feed it server messages, send what it returns."""

    def __init__(self, *, database: str, token: str, sql: str, max_rows: int,
                 parameters: Mapping[str, str] | None = None) -> None:  # fmt: skip
        self._database = database
        self._token = token
        self._sql = sql
        self._max_rows = max_rows
        self._parameters = dict(parameters or {})
        self._state = ClientState.STARTUP
        self._converters: list[Callable[[str], Any]] = []
        self.result = ResultSet()
        self.error: dict[str, str] | None = None  # the first ErrorResponse's fields
        self.refusal: dict[str, str] | None = None  # a FATAL error: the session ended

    @property
    def state(self) -> ClientState:
        return self._state

    @property
    def finished(self) -> bool:
        return self._state in (ClientState.DONE, ClientState.FAILED)

    def start(self) -> bytes:
        """The StartupMessage: the resource as database, correlation/exec ids as parameters."""
        parameters = {"user": EXEC_USER, "database": self._database, **self._parameters}
        parameters.setdefault("client_encoding", "UTF8")
        parameters.setdefault("application_name", "gatehouse-exec")
        return m.startup_message(parameters)

    def receive(self, message_type: int, body: bytes) -> bytes:
        """One server message in; the bytes to send back (often none)."""
        if self.finished:
            raise IllegalTransition("exec client", self._state.value, chr(message_type))
        if message_type == m.ERROR_RESPONSE:
            return self._error(m.parse_error_fields(body))
        if self._state is ClientState.STARTUP:
            return self._in_startup(message_type, body)
        return self._in_query(message_type, body)

    def _in_startup(self, message_type: int, body: bytes) -> bytes:
        if message_type == m.AUTHENTICATION:
            code, _ = m.parse_authentication(body)
            if code == m.AuthenticationCode.CLEARTEXT_PASSWORD:
                return m.password_message(self._token.encode("utf-8"))
            if code == m.AuthenticationCode.OK:
                return b""
            raise ProtocolViolation(f"the gateway asked for authentication method {code}")
        if message_type == m.READY_FOR_QUERY:
            self._state = ClientState.QUERY
            return m.query(self._sql)
        if message_type in (m.BACKEND_KEY_DATA, m.PARAMETER_STATUS, m.NOTICE_RESPONSE):
            return b""
        raise IllegalTransition("exec client", self._state.value, chr(message_type))

    def _in_query(self, message_type: int, body: bytes) -> bytes:
        if message_type == m.ROW_DESCRIPTION:
            self._describe(body)
        elif message_type == m.DATA_ROW:
            self._row(body)
        elif message_type == m.COMMAND_COMPLETE:
            tag, rows = m.parse_command_complete(body)
            self.result.command_tag = tag
            self.result.row_count = rows if rows is not None else 0
        elif message_type == m.COPY_IN_RESPONSE:
            return m.framed(m.COPY_FAIL, COPY_REFUSED.encode() + b"\x00")
        elif message_type == m.READY_FOR_QUERY:
            m.parse_ready_for_query(body)
            self._state = ClientState.DONE
            return m.terminate()
        elif message_type not in _PASSED:
            raise IllegalTransition("exec client", self._state.value, chr(message_type))
        return b""

    def _describe(self, body: bytes) -> None:
        columns = parse_row_description(body)
        self.result = ResultSet(
            columns=[{"name": name, "type": type_name(oid)} for name, oid, _ in columns]
        )
        self._converters = [converter_for(oid) for _, oid, _ in columns]

    def _row(self, body: bytes) -> None:
        if len(self.result.rows) >= self._max_rows:
            self.result.truncated = True
            return
        values = parse_data_row(body)
        if len(values) != len(self._converters):
            raise ProtocolViolation("a DataRow does not match its RowDescription")
        self.result.rows.append(
            [None if v is None else c(v) for v, c in zip(values, self._converters, strict=True)]
        )

    def _error(self, fields: dict[str, str]) -> bytes:
        if fields.get("S") in ("FATAL", "PANIC") or self._state is ClientState.STARTUP:
            self.refusal = fields
            self._state = ClientState.FAILED
            return b""
        self.error = self.error or fields
        return b""

    def connection_closed(self) -> None:
        """The gateway closed the connection; fine only once the call is complete."""
        if not self.finished:
            self._state = ClientState.FAILED
            self.refusal = self.refusal or {
                "S": "FATAL",
                "C": "08006",
                "M": "the gateway closed the connection before the call completed",
            }
