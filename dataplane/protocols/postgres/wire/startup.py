"""The packets of the untyped startup phase: SSLRequest, GSSENCRequest, CancelRequest and
StartupMessage, as the "Message Formats" chapter names them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from dataplane.protocols.postgres.wire.errors import (
    INVALID_AUTHORIZATION,
    ProtocolViolation,
    UnsupportedProtocol,
)
from dataplane.protocols.postgres.wire.messages import (
    CANCEL_REQUEST_CODE,
    GSSENC_REQUEST_CODE,
    SSL_REQUEST_CODE,
)

_CODE = struct.Struct("!I")
_CANCEL_KEY = struct.Struct("!II")
_REQUEST_MAJOR = 1234  # the fake "major version" of SSLRequest, GSSENCRequest, CancelRequest


@dataclass(frozen=True, slots=True)
class SSLRequest:
    """The client asks for TLS; the server answers one byte, 'S' or 'N'."""


@dataclass(frozen=True, slots=True)
class GSSENCRequest:
    """The client asks for GSSAPI encryption; the server answers 'G' or 'N'."""


@dataclass(frozen=True, slots=True)
class CancelRequest:
    """Cancel the query running in the backend identified by (pid, secret)."""

    pid: int
    secret: int


@dataclass(frozen=True, slots=True)
class StartupMessage:
    """Open a session. `protocol_version` is (major << 16 | minor); major is always 3 here,
    a minor above 0 is for the caller to negotiate down (NegotiateProtocolVersion)."""

    protocol_version: int
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def minor_version(self) -> int:
        return self.protocol_version & 0xFFFF


def parse_startup_packet(
    packet: bytes,
) -> SSLRequest | GSSENCRequest | CancelRequest | StartupMessage:
    """A startup packet's contents (after its Int32 length, as StartupFramer returns them)."""
    if len(packet) < 4:
        raise ProtocolViolation("startup packet too short")
    (code,) = _CODE.unpack_from(packet)
    if code == SSL_REQUEST_CODE:
        _expect_size(packet, 4, "SSLRequest")
        return SSLRequest()
    if code == GSSENC_REQUEST_CODE:
        _expect_size(packet, 4, "GSSENCRequest")
        return GSSENCRequest()
    if code == CANCEL_REQUEST_CODE:
        _expect_size(packet, 12, "CancelRequest")
        return CancelRequest(*_CANCEL_KEY.unpack_from(packet, 4))
    major, minor = code >> 16, code & 0xFFFF
    if major != 3:
        what = "request code" if major == _REQUEST_MAJOR else "frontend protocol"
        raise UnsupportedProtocol(f"unsupported {what} {major}.{minor}: server supports 3.0")
    return StartupMessage(code, _parse_parameters(packet[4:]))


def _expect_size(packet: bytes, size: int, what: str) -> None:
    if len(packet) != size:
        raise ProtocolViolation(f"invalid {what}: {len(packet) + 4} bytes long")


def _parse_parameters(data: bytes) -> dict[str, str]:
    """Name/value String pairs followed by a single NUL, which must be the last byte.

    Stricter than the server on two points: names and values must be UTF-8, and a repeated
    name is refused (the gateway and the server must never disagree on who is logging in).
    """
    if not data.endswith(b"\x00"):
        raise ProtocolViolation("invalid startup packet layout: expected terminator as last byte")
    fields = data[:-1].split(b"\x00")
    if len(fields) % 2 != 1 or fields[-1] != b"":
        raise ProtocolViolation("invalid startup packet layout: a parameter without a value")
    parameters: dict[str, str] = {}
    for raw_name, raw_value in zip(fields[:-1:2], fields[1:-1:2], strict=True):
        name, value = _utf8(raw_name), _utf8(raw_value)
        if not name or name in parameters:
            raise ProtocolViolation(f"invalid startup packet: empty or repeated parameter {name!r}")
        parameters[name] = value
    if not parameters.get("user"):
        raise ProtocolViolation(
            "no PostgreSQL user name specified in startup packet", sqlstate=INVALID_AUTHORIZATION
        )
    return parameters


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolViolation("invalid startup packet: parameters must be UTF-8") from exc
