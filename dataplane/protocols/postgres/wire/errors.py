"""Errors of the PostgreSQL wire layer, and the SQLSTATE codes the gateway answers with.

Every exception here carries what the gateway needs to tell the client in an ErrorResponse:
a SQLSTATE and a human message.
"""

from __future__ import annotations

# SQLSTATE codes the gateway sends itself (PostgreSQL docs, Appendix A "Error Codes").
PROTOCOL_VIOLATION = "08P01"
CONNECTION_FAILURE = "08006"
INVALID_PASSWORD = "28P01"
INVALID_AUTHORIZATION = "28000"
INVALID_CATALOG_NAME = "3D000"
FEATURE_NOT_SUPPORTED = "0A000"
ADMIN_SHUTDOWN = "57P01"
CANNOT_CONNECT_NOW = "57P03"
INSUFFICIENT_PRIVILEGE = "42501"


class ProtocolViolation(Exception):
    """A peer sent a malformed, truncated, oversized or out-of-place message.

    The stream cannot be trusted past this point: the connection should be closed, after an
    ErrorResponse with `sqlstate` when the peer is a client.
    """

    def __init__(self, message: str, *, sqlstate: str = PROTOCOL_VIOLATION) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate


class UnsupportedProtocol(ProtocolViolation):
    """A startup packet asked for a protocol version the gateway does not speak."""

    def __init__(self, message: str) -> None:
        super().__init__(message, sqlstate=FEATURE_NOT_SUPPORTED)


class IllegalTransition(ProtocolViolation):
    """A state machine received a message (or call) its current state does not allow."""

    def __init__(self, machine: str, state: str, event: str) -> None:
        super().__init__(f"{machine}: {event} is not allowed in state {state}")
        self.state = state
        self.event = event


class UpstreamLoginFailed(Exception):
    """The upstream server refused the gateway's login (or the login cannot proceed)."""

    def __init__(
        self, sqlstate: str, message: str, *, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{message} (SQLSTATE {sqlstate})")
        self.sqlstate = sqlstate
        self.message = message
        self.fields = fields or {}


class AuthenticationFailed(UpstreamLoginFailed):
    """The SCRAM exchange failed: a malformed server message or a wrong server signature.

    A wrong server signature means the server could not prove it knows the password, so the
    gateway must not trust it with the session.
    """

    def __init__(self, message: str) -> None:
        super().__init__(INVALID_AUTHORIZATION, message)
