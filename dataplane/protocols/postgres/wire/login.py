"""The gateway's login to the upstream server, as an explicit state machine without I/O.

    state            server message                      answer               next state
    NEW              (start() sends StartupMessage)                           STARTUP_SENT
    STARTUP_SENT     NegotiateProtocolVersion            -                    STARTUP_SENT
                     AuthenticationOk                    -                    AUTHENTICATED
                     AuthenticationCleartextPassword     PasswordMessage      PASSWORD_SENT
                     AuthenticationMD5Password           PasswordMessage      PASSWORD_SENT
                     AuthenticationSASL                  SASLInitialResponse  SASL_CONTINUE
    PASSWORD_SENT    AuthenticationOk                    -                    AUTHENTICATED
    SASL_CONTINUE    AuthenticationSASLContinue          SASLResponse         SASL_FINAL
    SASL_FINAL       AuthenticationSASLFinal (verified)  -                    SASL_COMPLETE
    SASL_COMPLETE    AuthenticationOk                    -                    AUTHENTICATED
    AUTHENTICATED    ParameterStatus, BackendKeyData     -                    AUTHENTICATED
                     ReadyForQuery                       -                    DONE
    (any)            ErrorResponse                       raises               FAILED
    (any)            NoticeResponse                      - (kept in notices)  (same)

Anything else raises IllegalTransition (a ProtocolViolation) and the state becomes FAILED.
In particular AuthenticationOk is refused until a started SCRAM exchange has verified the
server's signature: a server that skips SASLFinal has not proven it knows the password.

The caller writes start(), then feeds every server message to receive() and writes what it
returns, until `done`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum

from dataplane.protocols.postgres.wire import messages
from dataplane.protocols.postgres.wire.auth import (
    SCRAM_SHA_256,
    SCRAM_SHA_256_PLUS,
    ScramSha256Client,
    md5_password,
)
from dataplane.protocols.postgres.wire.errors import (
    FEATURE_NOT_SUPPORTED,
    INVALID_PASSWORD,
    PROTOCOL_VIOLATION,
    IllegalTransition,
    UpstreamLoginFailed,
)
from dataplane.protocols.postgres.wire.messages import AuthenticationCode

__all__ = ["LoginState", "UpstreamLogin", "UpstreamLoginFailed"]

_Receive = Callable[[int, bytes], bytes]


class LoginState(Enum):
    NEW = "new"
    STARTUP_SENT = "startup sent"  # awaiting an authentication request
    PASSWORD_SENT = "password sent"  # awaiting AuthenticationOk
    SASL_CONTINUE = "awaiting SASLContinue"
    SASL_FINAL = "awaiting SASLFinal"
    SASL_COMPLETE = "server verified"  # awaiting AuthenticationOk
    AUTHENTICATED = "authenticated"  # awaiting ParameterStatus*, BackendKeyData, ReadyForQuery
    DONE = "done"
    FAILED = "failed"


class UpstreamLogin:
    """Logs in to a PostgreSQL server as `user` on `database` with the stored `password`."""

    def __init__(
        self,
        *,
        user: str,
        database: str,
        password: str | None,
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        extra = dict(parameters or {})
        if {"user", "database"} & extra.keys():
            raise ValueError("user and database are set by their own arguments")
        self._startup_parameters = {"user": user, "database": database, **extra}
        self._user = user
        self._password = password
        self._state = LoginState.NEW
        self._scram: ScramSha256Client | None = None
        self._key: tuple[int, int] = (0, 0)
        self._transaction_status = b""
        self._parameter_statuses: list[tuple[str, str]] = []
        self.notices: list[dict[str, str]] = []  # NoticeResponse fields, in order
        self._states: dict[LoginState, _Receive] = {
            LoginState.STARTUP_SENT: self._in_startup_sent,
            LoginState.PASSWORD_SENT: self._in_awaiting_ok,
            LoginState.SASL_CONTINUE: self._in_sasl_continue,
            LoginState.SASL_FINAL: self._in_sasl_final,
            LoginState.SASL_COMPLETE: self._in_awaiting_ok,
            LoginState.AUTHENTICATED: self._in_authenticated,
        }

    # -- driving the machine ---------------------------------------------------------------
    @property
    def state(self) -> LoginState:
        return self._state

    @property
    def done(self) -> bool:
        return self._state is LoginState.DONE

    def start(self) -> bytes:
        """The StartupMessage to send first."""
        self._require(LoginState.NEW, "start()")
        self._state = LoginState.STARTUP_SENT
        return messages.startup_message(self._startup_parameters)

    def receive(self, message_type: int, body: bytes) -> bytes:
        """Feed one server message; returns bytes to send upstream (often b"").

        Raises UpstreamLoginFailed (server said no, or the login cannot proceed),
        AuthenticationFailed (the server failed SCRAM) or ProtocolViolation (malformed or
        unexpected message); after any of these the state is FAILED.
        """
        receive = self._states.get(self._state)
        if receive is None:
            raise IllegalTransition("upstream login", self._state.value, _describe(message_type))
        try:
            if message_type == messages.ERROR_RESPONSE:
                raise _refused(body)
            if message_type == messages.NOTICE_RESPONSE:
                self.notices.append(messages.parse_error_fields(body))
                return b""
            return receive(message_type, body)
        except Exception:
            self._state = LoginState.FAILED
            raise

    # -- results, once DONE ----------------------------------------------------------------
    @property
    def backend_pid(self) -> int:
        """The upstream backend's process id (0 if the server sent no BackendKeyData)."""
        self._require(LoginState.DONE, "backend_pid")
        return self._key[0]

    @property
    def backend_secret(self) -> int:
        self._require(LoginState.DONE, "backend_secret")
        return self._key[1]

    @property
    def parameter_statuses(self) -> list[tuple[str, str]]:
        """ParameterStatus (name, value) pairs in the order the server sent them."""
        self._require(LoginState.DONE, "parameter_statuses")
        return list(self._parameter_statuses)

    @property
    def transaction_status(self) -> bytes:
        """The status byte of the final ReadyForQuery (b"I" for a fresh session)."""
        self._require(LoginState.DONE, "transaction_status")
        return self._transaction_status

    # -- one method per state --------------------------------------------------------------
    def _in_startup_sent(self, message_type: int, body: bytes) -> bytes:
        if message_type == messages.NEGOTIATE_PROTOCOL_VERSION:
            messages.parse_negotiate_protocol_version(body)  # we asked for 3.0: nothing to do
            return b""
        code, payload = self._authentication(message_type, body)
        if code == AuthenticationCode.OK:
            self._state = LoginState.AUTHENTICATED
            return b""
        if code == AuthenticationCode.CLEARTEXT_PASSWORD:
            self._state = LoginState.PASSWORD_SENT
            return messages.password_message(self._required_password().encode("utf-8"))
        if code == AuthenticationCode.MD5_PASSWORD:
            return self._answer_md5(payload)
        if code == AuthenticationCode.SASL:
            return self._start_sasl(messages.parse_sasl_mechanisms(payload))
        raise UpstreamLoginFailed(
            FEATURE_NOT_SUPPORTED, f"upstream asks for an unsupported authentication ({code})"
        )

    def _in_awaiting_ok(self, message_type: int, body: bytes) -> bytes:
        self._expect_authentication(message_type, body, AuthenticationCode.OK)
        self._state = LoginState.AUTHENTICATED
        return b""

    def _in_sasl_continue(self, message_type: int, body: bytes) -> bytes:
        payload = self._expect_authentication(message_type, body, AuthenticationCode.SASL_CONTINUE)
        assert self._scram is not None
        self._state = LoginState.SASL_FINAL
        return messages.sasl_response(self._scram.client_final_message(payload))

    def _in_sasl_final(self, message_type: int, body: bytes) -> bytes:
        payload = self._expect_authentication(message_type, body, AuthenticationCode.SASL_FINAL)
        assert self._scram is not None
        self._scram.verify_server_final(payload)
        self._state = LoginState.SASL_COMPLETE
        return b""

    def _in_authenticated(self, message_type: int, body: bytes) -> bytes:
        if message_type == messages.PARAMETER_STATUS:
            self._parameter_statuses.append(messages.parse_parameter_status(body))
        elif message_type == messages.BACKEND_KEY_DATA:
            self._key = messages.parse_backend_key_data(body)
        elif message_type == messages.READY_FOR_QUERY:
            self._transaction_status = messages.parse_ready_for_query(body)
            self._state = LoginState.DONE
        else:
            raise self._unexpected(message_type)
        return b""

    # -- steps -----------------------------------------------------------------------------
    def _answer_md5(self, salt: bytes) -> bytes:
        if len(salt) != 4:
            raise UpstreamLoginFailed(PROTOCOL_VIOLATION, "AuthenticationMD5Password without salt")
        self._state = LoginState.PASSWORD_SENT
        payload = md5_password(self._user, self._required_password(), salt)
        return messages.password_message(payload)

    def _start_sasl(self, mechanisms: list[str]) -> bytes:
        if SCRAM_SHA_256 not in mechanisms:
            plus_only = SCRAM_SHA_256_PLUS in mechanisms
            raise UpstreamLoginFailed(
                FEATURE_NOT_SUPPORTED,
                "upstream requires SCRAM-SHA-256-PLUS (channel binding), which the gateway "
                "does not support"
                if plus_only
                else f"upstream offers no supported SASL mechanism: {', '.join(mechanisms)}",
            )
        self._scram = ScramSha256Client(self._required_password())
        self._state = LoginState.SASL_CONTINUE
        return messages.sasl_initial_response(SCRAM_SHA_256, self._scram.client_first_message())

    def _required_password(self) -> str:
        if self._password is None:
            raise UpstreamLoginFailed(
                INVALID_PASSWORD, "upstream asks for a password but none is configured"
            )
        return self._password

    def _authentication(self, message_type: int, body: bytes) -> tuple[int, bytes]:
        if message_type != messages.AUTHENTICATION:
            raise self._unexpected(message_type)
        return messages.parse_authentication(body)

    def _expect_authentication(
        self, message_type: int, body: bytes, expected: AuthenticationCode
    ) -> bytes:
        code, payload = self._authentication(message_type, body)
        if code != expected:
            raise IllegalTransition("upstream login", self._state.value, _describe_code(code))
        return payload

    def _unexpected(self, message_type: int) -> IllegalTransition:
        return IllegalTransition("upstream login", self._state.value, _describe(message_type))

    def _require(self, state: LoginState, what: str) -> None:
        if self._state is not state:
            raise IllegalTransition("upstream login", self._state.value, what)


def _refused(body: bytes) -> UpstreamLoginFailed:
    fields = messages.parse_error_fields(body)
    return UpstreamLoginFailed(
        fields.get("C", PROTOCOL_VIOLATION), fields.get("M", "upstream refused"), fields=fields
    )


def _describe(message_type: int) -> str:
    return f"message {chr(message_type)!r}"


def _describe_code(code: int) -> str:
    try:
        return f"Authentication{AuthenticationCode(code).name.title().replace('_', '')}"
    except ValueError:
        return f"authentication request {code}"
