"""PostgreSQL protocol v3, sans I/O: framing, messages, startup, authentication, upstream login,
statement tracking and result masking. Nothing here touches a socket; the proxy feeds bytes in
and writes the bytes it gets back."""

from dataplane.protocols.postgres.wire.auth import ScramSha256Client, md5_password
from dataplane.protocols.postgres.wire.errors import (
    AuthenticationFailed,
    IllegalTransition,
    ProtocolViolation,
    UnsupportedProtocol,
    UpstreamLoginFailed,
)
from dataplane.protocols.postgres.wire.framing import MessageFramer, StartupFramer
from dataplane.protocols.postgres.wire.login import LoginState, UpstreamLogin
from dataplane.protocols.postgres.wire.result_masking import ResultMasker
from dataplane.protocols.postgres.wire.startup import (
    CancelRequest,
    GSSENCRequest,
    SSLRequest,
    StartupMessage,
    parse_startup_packet,
)
from dataplane.protocols.postgres.wire.statements import (
    CLIENT_TYPES_TRACKED,
    SERVER_TYPES_TRACKED,
    StatementFinished,
    StatementTracker,
)

__all__ = [
    "CLIENT_TYPES_TRACKED",
    "SERVER_TYPES_TRACKED",
    "AuthenticationFailed",
    "CancelRequest",
    "GSSENCRequest",
    "IllegalTransition",
    "LoginState",
    "MessageFramer",
    "ProtocolViolation",
    "ResultMasker",
    "SSLRequest",
    "ScramSha256Client",
    "StartupFramer",
    "StartupMessage",
    "StatementFinished",
    "StatementTracker",
    "UnsupportedProtocol",
    "UpstreamLogin",
    "UpstreamLoginFailed",
    "md5_password",
    "parse_startup_packet",
]
