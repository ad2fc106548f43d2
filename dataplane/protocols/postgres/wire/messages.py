"""PostgreSQL protocol v3 messages: type codes, builders and body parsers.

Names follow the "Message Formats" chapter of the PostgreSQL documentation. A message on the
wire is `Byte1 type, Int32 length (counting itself, not the type), body`; the framers split a
stream into (type, body) pairs, the parsers here read bodies, and the builders return whole
messages ready to write.

Frontend and backend reuse some letters ('D' is Describe from a client, DataRow from a
server), so a type code only has a meaning together with the direction it travels in.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from dataplane.protocols.postgres.wire.errors import ProtocolViolation
from dataplane.protocols.postgres.wire.reader import BodyReader

# -- frontend (client -> server) message types ------------------------------------------------
BIND: Final = ord("B")
CLOSE: Final = ord("C")
COPY_DATA: Final = ord("d")  # both directions
COPY_DONE: Final = ord("c")  # both directions
COPY_FAIL: Final = ord("f")
DESCRIBE: Final = ord("D")
EXECUTE: Final = ord("E")
FLUSH: Final = ord("H")
FUNCTION_CALL: Final = ord("F")
PARSE: Final = ord("P")
QUERY: Final = ord("Q")
SYNC: Final = ord("S")
TERMINATE: Final = ord("X")
# 'p' is all of these; which one it is follows from the authentication request it answers.
PASSWORD_MESSAGE: Final = ord("p")
GSS_RESPONSE: Final = ord("p")
SASL_INITIAL_RESPONSE: Final = ord("p")
SASL_RESPONSE: Final = ord("p")

# -- backend (server -> client) message types -------------------------------------------------
AUTHENTICATION: Final = ord("R")  # every Authentication* message; see AuthenticationCode
BACKEND_KEY_DATA: Final = ord("K")
BIND_COMPLETE: Final = ord("2")
CLOSE_COMPLETE: Final = ord("3")
COMMAND_COMPLETE: Final = ord("C")
COPY_IN_RESPONSE: Final = ord("G")
COPY_OUT_RESPONSE: Final = ord("H")
COPY_BOTH_RESPONSE: Final = ord("W")
DATA_ROW: Final = ord("D")
EMPTY_QUERY_RESPONSE: Final = ord("I")
ERROR_RESPONSE: Final = ord("E")
FUNCTION_CALL_RESPONSE: Final = ord("V")
NEGOTIATE_PROTOCOL_VERSION: Final = ord("v")
NO_DATA: Final = ord("n")
NOTICE_RESPONSE: Final = ord("N")
NOTIFICATION_RESPONSE: Final = ord("A")
PARAMETER_DESCRIPTION: Final = ord("t")
PARAMETER_STATUS: Final = ord("S")
PARSE_COMPLETE: Final = ord("1")
PORTAL_SUSPENDED: Final = ord("s")
READY_FOR_QUERY: Final = ord("Z")
ROW_DESCRIPTION: Final = ord("T")

# -- untyped startup-phase packets: the Int32 that follows the length ---------------------------
PROTOCOL_VERSION_3_0: Final = 3 << 16  # 196608
CANCEL_REQUEST_CODE: Final = 80877102  # 1234 << 16 | 5678
SSL_REQUEST_CODE: Final = 80877103  # 1234 << 16 | 5679
GSSENC_REQUEST_CODE: Final = 80877104  # 1234 << 16 | 5680

# -- ReadyForQuery transaction status indicators ----------------------------------------------
TRANSACTION_IDLE: Final = b"I"
TRANSACTION_IN_BLOCK: Final = b"T"
TRANSACTION_FAILED: Final = b"E"
_TRANSACTION_STATUSES = frozenset({TRANSACTION_IDLE, TRANSACTION_IN_BLOCK, TRANSACTION_FAILED})


class AuthenticationCode(IntEnum):
    """The Int32 that opens every Authentication* ('R') message."""

    OK = 0
    KERBEROS_V5 = 2
    CLEARTEXT_PASSWORD = 3
    MD5_PASSWORD = 5
    GSS = 7
    GSS_CONTINUE = 8
    SSPI = 9
    SASL = 10
    SASL_CONTINUE = 11
    SASL_FINAL = 12


_TYPE_AND_LENGTH = struct.Struct("!BI")
_LENGTH = struct.Struct("!I")
_TWO_UINT32 = struct.Struct("!II")


# ============================================================================================
# Message bodies the gateway reads, as frozen dataclasses named as in the documentation
# ============================================================================================
@dataclass(frozen=True, slots=True)
class Parse:
    statement: str  # "" is the unnamed prepared statement
    query: str
    parameter_type_oids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Bind:
    portal: str  # "" is the unnamed portal
    statement: str
    parameter_count: int


@dataclass(frozen=True, slots=True)
class Execute:
    portal: str
    max_rows: int  # 0 means no limit


@dataclass(frozen=True, slots=True)
class Close:
    kind: str  # "S" prepared statement, "P" portal
    name: str


@dataclass(frozen=True, slots=True)
class Describe:
    kind: str  # "S" prepared statement, "P" portal
    name: str


@dataclass(frozen=True, slots=True)
class FunctionCall:
    function_oid: int
    argument_count: int


# ============================================================================================
# Builders
# ============================================================================================
def _message(message_type: int, body: bytes) -> bytes:
    return _TYPE_AND_LENGTH.pack(message_type, len(body) + 4) + body


def framed(message_type: int, body: bytes) -> bytes:
    """Any typed message from its type and body (e.g. to re-emit a framed message)."""
    return _message(message_type, body)


def _cstring(text: str | bytes) -> bytes:
    encoded = text.encode("utf-8") if isinstance(text, str) else text
    if b"\x00" in encoded:
        raise ValueError("a protocol String cannot contain a NUL byte")
    return encoded + b"\x00"


def _notice_fields(
    severity: str, sqlstate: str, message: str, detail: str | None, hint: str | None
) -> bytes:
    fields = [(b"S", severity), (b"V", severity), (b"C", sqlstate), (b"M", message)]
    fields += [(b"D", detail)] if detail is not None else []
    fields += [(b"H", hint)] if hint is not None else []
    return b"".join(code + _cstring(value) for code, value in fields) + b"\x00"


def error_response(
    severity: str,
    sqlstate: str,
    message: str,
    *,
    detail: str | None = None,
    hint: str | None = None,
) -> bytes:
    """ErrorResponse with fields S and V (severity), C, M and optionally D and H."""
    return _message(ERROR_RESPONSE, _notice_fields(severity, sqlstate, message, detail, hint))


def notice_response(
    severity: str,
    sqlstate: str,
    message: str,
    *,
    detail: str | None = None,
    hint: str | None = None,
) -> bytes:
    """NoticeResponse, laid out like ErrorResponse."""
    return _message(NOTICE_RESPONSE, _notice_fields(severity, sqlstate, message, detail, hint))


def authentication_ok() -> bytes:
    return _message(AUTHENTICATION, _LENGTH.pack(AuthenticationCode.OK))


def authentication_cleartext_password() -> bytes:
    return _message(AUTHENTICATION, _LENGTH.pack(AuthenticationCode.CLEARTEXT_PASSWORD))


def backend_key_data(pid: int, secret: int) -> bytes:
    """BackendKeyData; pid and secret are 32-bit values, sent unsigned."""
    return _message(BACKEND_KEY_DATA, _TWO_UINT32.pack(pid, secret))


def parameter_status(name: str, value: str) -> bytes:
    return _message(PARAMETER_STATUS, _cstring(name) + _cstring(value))


def ready_for_query(status: bytes) -> bytes:
    """ReadyForQuery; status is TRANSACTION_IDLE, TRANSACTION_IN_BLOCK or TRANSACTION_FAILED."""
    if status not in _TRANSACTION_STATUSES:
        raise ValueError(f"invalid transaction status {status!r}")
    return _message(READY_FOR_QUERY, status)


def negotiate_protocol_version(newest_minor: int, unrecognized_options: list[str]) -> bytes:
    """NegotiateProtocolVersion: the newest 3.x minor we speak, and options we ignored."""
    body = struct.pack("!ii", newest_minor, len(unrecognized_options))
    return _message(
        NEGOTIATE_PROTOCOL_VERSION, body + b"".join(map(_cstring, unrecognized_options))
    )


def startup_message(params: Mapping[str, str]) -> bytes:
    """StartupMessage for protocol 3.0 with the given parameters, in order."""
    pairs = b"".join(_cstring(name) + _cstring(value) for name, value in params.items())
    body = _LENGTH.pack(PROTOCOL_VERSION_3_0) + pairs + b"\x00"
    return _LENGTH.pack(len(body) + 4) + body


def ssl_request() -> bytes:
    return _TWO_UINT32.pack(8, SSL_REQUEST_CODE)


def cancel_request(pid: int, secret: int) -> bytes:
    return _TWO_UINT32.pack(16, CANCEL_REQUEST_CODE) + _TWO_UINT32.pack(pid, secret)


def password_message(password: bytes) -> bytes:
    """PasswordMessage: a cleartext password or an md5 response (see auth.md5_password)."""
    return _message(PASSWORD_MESSAGE, _cstring(password))


def sasl_initial_response(mechanism: str, data: bytes) -> bytes:
    return _message(SASL_INITIAL_RESPONSE, _cstring(mechanism) + _LENGTH.pack(len(data)) + data)


def sasl_response(data: bytes) -> bytes:
    return _message(SASL_RESPONSE, data)


def query(sql: str) -> bytes:
    """Query: one or more SQL statements by the simple query protocol."""
    return _message(QUERY, _cstring(sql))


def terminate() -> bytes:
    return _message(TERMINATE, b"")


# ============================================================================================
# Parsers: each takes a body as the framer returns it and raises ProtocolViolation if malformed
# ============================================================================================
def parse_error_fields(body: bytes) -> dict[str, str]:
    """ErrorResponse / NoticeResponse fields, keyed by their one-letter codes ("C", "M", ...)."""
    reader = BodyReader(body, "ErrorResponse")
    fields: dict[str, str] = {}
    while (code := reader.byte()) != 0:
        fields[chr(code)] = reader.cstring()
    reader.end()
    return fields


# Commands whose tag ends in a row count ("SELECT 3"); INSERT is "INSERT oid rows".
_COUNTED_COMMANDS = frozenset({"SELECT", "UPDATE", "DELETE", "MOVE", "FETCH", "MERGE", "COPY"})


def parse_command_complete(body: bytes) -> tuple[str, int | None]:
    """CommandComplete: (tag, rows); rows is None for commands whose tag carries no count."""
    reader = BodyReader(body, "CommandComplete")
    tag = reader.cstring()
    reader.end()
    words = tag.split(" ")
    if words[0] == "INSERT" and len(words) == 3:
        count = words[2]
    elif words[0] in _COUNTED_COMMANDS and len(words) == 2:
        count = words[1]
    else:
        return tag, None
    return tag, int(count) if count.isascii() and count.isdigit() else None


def parse_query(body: bytes) -> str:
    """Query: the query string (possibly several statements)."""
    reader = BodyReader(body, "Query")
    query = reader.cstring()
    reader.end()
    return query


def parse_parse(body: bytes) -> Parse:
    reader = BodyReader(body, "Parse")
    statement, query = reader.cstring(), reader.cstring()
    oids = tuple(reader.uint32() for _ in range(reader.count()))
    reader.end()
    return Parse(statement, query, oids)


def parse_bind(body: bytes) -> Bind:
    """Bind: names and parameter count; the whole layout is checked, values are not copied."""
    reader = BodyReader(body, "Bind")
    portal, statement = reader.cstring(), reader.cstring()
    reader.skip(2 * reader.count())  # parameter format codes
    parameter_count = reader.skip_values("parameter")
    reader.skip(2 * reader.count())  # result format codes
    reader.end()
    return Bind(portal, statement, parameter_count)


def parse_execute(body: bytes) -> Execute:
    reader = BodyReader(body, "Execute")
    portal, max_rows = reader.cstring(), reader.int32()
    reader.end()
    return Execute(portal, max_rows)


def _statement_or_portal(reader: BodyReader) -> tuple[str, str]:
    kind = reader.byte()
    if kind not in (ord("S"), ord("P")):
        raise reader.violation(f"target must be 'S' or 'P', not {kind!r}")
    name = reader.cstring()
    reader.end()
    return chr(kind), name


def parse_close(body: bytes) -> Close:
    return Close(*_statement_or_portal(BodyReader(body, "Close")))


def parse_describe(body: bytes) -> Describe:
    return Describe(*_statement_or_portal(BodyReader(body, "Describe")))


def parse_function_call(body: bytes) -> FunctionCall:
    reader = BodyReader(body, "FunctionCall")
    function_oid = reader.uint32()
    reader.skip(2 * reader.count())  # argument format codes
    argument_count = reader.skip_values("argument")
    reader.int16()  # result format code
    reader.end()
    return FunctionCall(function_oid, argument_count)


def parse_password(body: bytes) -> str:
    """PasswordMessage: the password (for the gateway, the client's token)."""
    reader = BodyReader(body, "PasswordMessage")
    password = reader.cstring()
    reader.end()
    return password


def parse_authentication(body: bytes) -> tuple[int, bytes]:
    """Authentication*: (code, payload after the code); see AuthenticationCode."""
    reader = BodyReader(body, "Authentication")
    return reader.int32(), reader.rest()


def parse_sasl_mechanisms(payload: bytes) -> list[str]:
    """AuthenticationSASL payload: mechanism names, terminated by an empty name."""
    reader = BodyReader(payload, "AuthenticationSASL")
    mechanisms = []
    while mechanism := reader.cstring():
        mechanisms.append(mechanism)
    reader.end()
    return mechanisms


def parse_backend_key_data(body: bytes) -> tuple[int, int]:
    """BackendKeyData: (pid, secret) as unsigned 32-bit values (protocol 3.0 keys)."""
    if len(body) != 8:
        raise ProtocolViolation(f"invalid BackendKeyData message: {len(body)} bytes, not 8")
    pid, secret = _TWO_UINT32.unpack(body)
    return pid, secret


def parse_parameter_status(body: bytes) -> tuple[str, str]:
    reader = BodyReader(body, "ParameterStatus")
    name, value = reader.cstring(), reader.cstring()
    reader.end()
    return name, value


def parse_ready_for_query(body: bytes) -> bytes:
    """ReadyForQuery: the transaction status byte, b"I", b"T" or b"E"."""
    if body not in _TRANSACTION_STATUSES:
        raise ProtocolViolation(f"invalid ReadyForQuery message: status {body!r}")
    return bytes(body)


def parse_negotiate_protocol_version(body: bytes) -> tuple[int, list[str]]:
    """NegotiateProtocolVersion: (newest minor version supported, unrecognized options)."""
    reader = BodyReader(body, "NegotiateProtocolVersion")
    newest_minor, count = reader.int32(), reader.int32()
    if count < 0:
        raise reader.violation(f"negative option count {count}")
    options = [reader.cstring() for _ in range(count)]
    reader.end()
    return newest_minor, options
