"""Guardrails on the wire, without I/O: refusing a statement so that the server says so,
and cutting a result at the row limit.

Refusing by rewriting. A denied Query or Parse is not dropped: it is replaced by a `DO`
block that raises the guardrail's error (SQLSTATE 42501) inside the server. So the client
gets a genuine ErrorResponse at exactly the place in its pipeline where the statement
was, the server skips the rest of an extended-protocol batch up to Sync as it would after
any error, a transaction in progress is aborted as PostgreSQL aborts it, and the session
stays usable. A replaced Parse keeps the statement name and declares as many parameters
as the original uses (unspecified ones as text), so the client's Bind still fits; the
error comes at Execute.

Cutting at the row limit. Past `max_rows` DataRows of one statement, rows are dropped and
its CommandComplete becomes an ErrorResponse (54000). The server still runs the statement
to its end; rows beyond the limit never leave the agent. Known limit: inside an explicit
transaction the server does not see an error, so a following COMMIT commits (the client
was told the statement failed); a cursor fetched in batches (FETCH) is counted per FETCH.
"""

from __future__ import annotations

import struct

from pglast import parser

from dataplane.protocols.postgres.wire import messages as m
from dataplane.protocols.postgres.wire.messages import Parse

INSUFFICIENT_PRIVILEGE = "42501"
QUERY_CANCELED = "57014"
PROGRAM_LIMIT_EXCEEDED = "54000"
TEXT_OID = 25
_INT16 = struct.Struct("!h")
_UINT32 = struct.Struct("!I")


def raising_sql(sqlstate: str, message: str) -> str:
    """A DO block that raises `message` with `sqlstate` (an E'' literal: it reads the same
    whatever standard_conforming_strings is)."""
    literal = "E'" + message.replace("\\", "\\\\").replace("'", "''") + "'"
    body = f"BEGIN RAISE EXCEPTION USING ERRCODE = '{sqlstate}', MESSAGE = {literal}; END"
    tag = "$gatehouse$"
    while tag in body:
        tag = tag[:-1] + "_$"
    return f"DO {tag}{body}{tag}"


def refused_query(sqlstate: str, message: str) -> bytes:
    """A Query message to send instead of a refused one."""
    return m.query(raising_sql(sqlstate, message))


def refused_parse(original: Parse, sqlstate: str, message: str) -> bytes:
    """A Parse message to send instead of a refused one: same name, same parameter count."""
    oids = list(original.parameter_type_oids)
    oids += [TEXT_OID] * (parameter_count(original.query) - len(oids))
    oids = [oid or TEXT_OID for oid in oids]
    body = b"".join(
        [
            original.statement.encode() + b"\x00",
            raising_sql(sqlstate, message).encode() + b"\x00",
            _INT16.pack(len(oids)),
            *(_UINT32.pack(oid) for oid in oids),
        ]
    )
    return m.framed(m.PARSE, body)


def parameter_count(sql: str) -> int:
    """The highest $n the text uses (0 if none, or if it does not even scan)."""
    try:
        tokens = parser.scan(sql)
    except Exception:
        return 0
    numbers = [int(sql[t.start + 1 : t.end + 1]) for t in tokens if t.name == "PARAM"]
    return max(numbers, default=0)


class RowLimit:
    """Server → client: rows of one statement beyond `max_rows` never reach the client."""

    __slots__ = ("cut", "max_rows", "rows")

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self.rows = 0  # DataRows of the statement in progress
        self.cut = False  # this statement went past the limit

    def server_message(self, message_type: int, encoded: bytes) -> tuple[bytes, bool]:
        """The bytes to send for one server message, and whether a result was just cut."""
        if message_type == m.DATA_ROW:
            self.rows += 1
            if self.rows > self.max_rows:
                self.cut = True
                return b"", False
            return encoded, False
        if message_type in (m.COMMAND_COMPLETE, m.ERROR_RESPONSE, m.READY_FOR_QUERY):
            cut, self.cut, self.rows = self.cut, False, 0
            if cut and message_type == m.COMMAND_COMPLETE:
                return m.error_response("ERROR", PROGRAM_LIMIT_EXCEEDED, self.message()), True
            return encoded, cut
        return encoded, False

    def message(self) -> str:
        return f"the result exceeds the guardrail limit of {self.max_rows} rows"
