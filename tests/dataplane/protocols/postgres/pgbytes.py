"""Hand-built protocol v3 messages for tests, written independently of the code under test
(straight from the "Message Formats" chapter), so the tests do not check the wire layer
against itself."""

from __future__ import annotations

import struct


def message(kind: str | int, body: bytes = b"") -> bytes:
    type_byte = bytes([kind]) if isinstance(kind, int) else kind.encode("ascii")
    return type_byte + struct.pack("!i", len(body) + 4) + body


def s(text: str) -> bytes:
    """A String field."""
    return text.encode("utf-8") + b"\x00"


def i16(value: int) -> bytes:
    return struct.pack("!h", value)


def i32(value: int) -> bytes:
    return struct.pack("!i", value)


def _values(values: list[bytes | None]) -> bytes:
    out = i16(len(values))
    for value in values:
        out += i32(-1) if value is None else i32(len(value)) + value
    return out


# -- frontend ---------------------------------------------------------------------------------
def query(text: str) -> bytes:
    return message("Q", s(text))


def parse(name: str, text: str, oids: tuple[int, ...] = ()) -> bytes:
    return message(
        "P", s(name) + s(text) + i16(len(oids)) + b"".join(struct.pack("!I", o) for o in oids)
    )


def bind(portal: str, statement: str, values: list[bytes | None] | None = None) -> bytes:
    body = s(portal) + s(statement) + i16(1) + i16(0) + _values(values or []) + i16(1) + i16(0)
    return message("B", body)


def describe(kind: str, name: str) -> bytes:
    return message("D", kind.encode() + s(name))


def execute(portal: str = "", max_rows: int = 0) -> bytes:
    return message("E", s(portal) + i32(max_rows))


def close(kind: str, name: str) -> bytes:
    return message("C", kind.encode() + s(name))


def sync() -> bytes:
    return message("S")


def flush() -> bytes:
    return message("H")


def function_call(oid: int, arguments: list[bytes | None]) -> bytes:
    return message("F", struct.pack("!I", oid) + i16(0) + _values(arguments) + i16(0))


def copy_data(data: bytes) -> bytes:
    return message("d", data)


def copy_done() -> bytes:
    return message("c")


def copy_fail(reason: str) -> bytes:
    return message("f", s(reason))


def terminate() -> bytes:
    return message("X")


# -- backend ----------------------------------------------------------------------------------
def authentication(code: int, payload: bytes = b"") -> bytes:
    return message("R", i32(code) + payload)


def parameter_status(name: str, value: str) -> bytes:
    return message("S", s(name) + s(value))


def backend_key_data(pid: int, secret: int) -> bytes:
    return message("K", struct.pack("!II", pid, secret))


def ready_for_query(status: str = "I") -> bytes:
    return message("Z", status.encode())


def error(sqlstate: str, text: str, severity: str = "ERROR") -> bytes:
    fields = b"S" + s(severity) + b"V" + s(severity) + b"C" + s(sqlstate) + b"M" + s(text)
    return message("E", fields + b"\x00")


def notice(text: str) -> bytes:
    return message("N", b"S" + s("NOTICE") + b"C" + s("00000") + b"M" + s(text) + b"\x00")


def command_complete(tag: str) -> bytes:
    return message("C", s(tag))


def row_description(*names: str) -> bytes:
    fields = b"".join(s(n) + i32(0) + i16(0) + i32(25) + i16(-1) + i32(-1) + i16(0) for n in names)
    return message("T", i16(len(names)) + fields)


def data_row(*values: bytes | None) -> bytes:
    return message("D", _values(list(values)))


def parse_complete() -> bytes:
    return message("1")


def bind_complete() -> bytes:
    return message("2")


def close_complete() -> bytes:
    return message("3")


def no_data() -> bytes:
    return message("n")


def parameter_description(*oids: int) -> bytes:
    return message("t", i16(len(oids)) + b"".join(struct.pack("!I", o) for o in oids))


def portal_suspended() -> bytes:
    return message("s")


def empty_query_response() -> bytes:
    return message("I")


def copy_in_response() -> bytes:
    return message("G", b"\x00" + i16(1) + i16(0))


def copy_out_response() -> bytes:
    return message("H", b"\x00" + i16(1) + i16(0))


def function_call_response(value: bytes | None) -> bytes:
    return message("V", i32(-1) if value is None else i32(len(value)) + value)


def negotiate_protocol_version(minor: int, options: list[str]) -> bytes:
    return message("v", i32(minor) + i32(len(options)) + b"".join(s(o) for o in options))


# -- startup ----------------------------------------------------------------------------------
def startup_packet(code: int, payload: bytes = b"") -> bytes:
    """A whole untyped packet: Int32 length (counting itself), Int32 code, payload."""
    return struct.pack("!iI", len(payload) + 8, code) + payload


def startup_parameters(**parameters: str) -> bytes:
    return b"".join(s(k) + s(v) for k, v in parameters.items()) + b"\x00"
