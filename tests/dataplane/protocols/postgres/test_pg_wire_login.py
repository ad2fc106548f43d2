"""UpstreamLogin: the gateway logging in to PostgreSQL with trust, cleartext, md5 and SCRAM.

The server side of each exchange is hand-built; for SCRAM it is computed here from the RFC
5802 formulas (a tiny SCRAM server), independently of the client under test. A real trust
login is also replayed from every recorded transcript (test_pg_wire_transcripts.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from dataplane.protocols.postgres.wire.errors import (
    AuthenticationFailed,
    IllegalTransition,
    ProtocolViolation,
    UpstreamLoginFailed,
)
from dataplane.protocols.postgres.wire.framing import MessageFramer, StartupFramer
from dataplane.protocols.postgres.wire.login import LoginState, UpstreamLogin
from dataplane.protocols.postgres.wire.startup import StartupMessage, parse_startup_packet
from tests.dataplane.protocols.postgres import pgbytes as pg

AFTER_AUTHENTICATION = [
    pg.parameter_status("server_version", "15.20"),
    pg.parameter_status("client_encoding", "UTF8"),
    pg.backend_key_data(4242, 3_000_000_000),
    pg.ready_for_query("I"),
]


def new_login(password: str | None = "secret") -> UpstreamLogin:
    login = UpstreamLogin(
        user="postgres", database="appdb", password=password, parameters={"TimeZone": "UTC"}
    )
    login.start()
    return login


def send(login: UpstreamLogin, *server_messages: bytes) -> list[tuple[int, bytes]]:
    """Feed server messages; returns what the login answered, framed."""
    framer = MessageFramer()
    answer = b"".join(login.receive(t, body) for t, body in framer.feed(b"".join(server_messages)))
    return MessageFramer().feed(answer)


def finish(login: UpstreamLogin) -> None:
    assert send(login, *AFTER_AUTHENTICATION) == []
    assert login.done


def sasl_mechanisms(*names: str) -> bytes:
    return pg.authentication(10, b"".join(pg.s(n) for n in names) + b"\x00")


class ScramServer:
    """The server half of SCRAM-SHA-256, straight from RFC 5802 section 3."""

    def __init__(self, password: str, salt: bytes = b"pepper", iterations: int = 4096) -> None:
        self.salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
        self.salt, self.iterations = salt, iterations

    def first(self, client_first: bytes) -> bytes:
        self.client_first_bare = client_first.decode().removeprefix("n,,")
        client_nonce = self.client_first_bare.split("r=", 1)[1]
        salt = base64.b64encode(self.salt).decode()
        self.server_first = f"r={client_nonce}SERVERPART,s={salt},i={self.iterations}"
        return self.server_first.encode()

    def final(self, client_final: bytes) -> bytes:
        without_proof, proof = client_final.decode().rsplit(",p=", 1)
        auth = f"{self.client_first_bare},{self.server_first},{without_proof}".encode()
        client_key = _hmac(self.salted, b"Client Key")
        signature = _hmac(hashlib.sha256(client_key).digest(), auth)
        recovered = bytes(a ^ b for a, b in zip(base64.b64decode(proof), signature, strict=True))
        assert recovered == client_key, "the client proved it knows the password"
        server_signature = _hmac(_hmac(self.salted, b"Server Key"), auth)
        return b"v=" + base64.b64encode(server_signature)


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def sasl_initial_response(answer: tuple[int, bytes]) -> tuple[str, bytes]:
    message_type, body = answer
    assert message_type == ord("p")
    mechanism, rest = body.split(b"\x00", 1)
    length = int.from_bytes(rest[:4], "big")
    assert length == len(rest) - 4
    return mechanism.decode(), rest[4:]


# -- the startup message --------------------------------------------------------------------------
def test_start_sends_a_startup_message_with_user_database_and_parameters():
    login = UpstreamLogin(
        user="app", database="appdb", password=None, parameters={"TimeZone": "UTC"}
    )
    [packet] = StartupFramer().feed(login.start())
    startup = parse_startup_packet(packet)
    assert startup == StartupMessage(
        196608, {"user": "app", "database": "appdb", "TimeZone": "UTC"}
    )
    assert login.state is LoginState.STARTUP_SENT


def test_user_and_database_cannot_be_overridden_by_parameters():
    with pytest.raises(ValueError):
        UpstreamLogin(user="app", database="db", password=None, parameters={"user": "root"})


# -- methods --------------------------------------------------------------------------------------
def test_trust_needs_no_answer_and_collects_what_the_server_announces():
    login = new_login()
    assert send(login, pg.authentication(0), pg.notice("welcome")) == []
    assert login.state is LoginState.AUTHENTICATED
    finish(login)
    assert login.parameter_statuses == [("server_version", "15.20"), ("client_encoding", "UTF8")]
    assert (login.backend_pid, login.backend_secret) == (4242, 3_000_000_000)
    assert login.transaction_status == b"I"
    assert login.notices[0]["M"] == "welcome"


def test_cleartext_password_is_sent_as_a_password_message():
    login = new_login()
    assert send(login, pg.authentication(3)) == [(ord("p"), b"secret\x00")]
    assert login.state is LoginState.PASSWORD_SENT
    send(login, pg.authentication(0))
    finish(login)


def test_md5_answers_with_the_salted_hash_postgresql_expects():
    login = new_login()
    [answer] = send(login, pg.authentication(5, b"\x01\x02\x03\x04"))
    # The same value as PostgreSQL's own md5() gives; see test_pg_wire_auth.py.
    assert answer == (ord("p"), b"md5bb41a296aab6baccb36ff243a562abff\x00")
    send(login, pg.authentication(0))
    finish(login)


def test_scram_sha_256_completes_against_a_server_that_checks_the_proof():
    server = ScramServer("secret")
    login = new_login()
    [initial] = send(login, sasl_mechanisms("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"))
    mechanism, client_first = sasl_initial_response(initial)
    assert (mechanism, login.state) == ("SCRAM-SHA-256", LoginState.SASL_CONTINUE)
    assert client_first.startswith(b"n,,n=,r=")
    [(message_type, client_final)] = send(login, pg.authentication(11, server.first(client_first)))
    assert (message_type, login.state) == (ord("p"), LoginState.SASL_FINAL)
    assert send(login, pg.authentication(12, server.final(client_final))) == []
    assert login.state is LoginState.SASL_COMPLETE
    send(login, pg.authentication(0))
    finish(login)


def test_a_scram_server_with_a_wrong_signature_is_not_trusted():
    impostor = ScramServer("a guessed password")
    login = new_login()
    [initial] = send(login, sasl_mechanisms("SCRAM-SHA-256"))
    send(login, pg.authentication(11, impostor.first(sasl_initial_response(initial)[1])))
    wrong_signature = b"v=" + base64.b64encode(_hmac(impostor.salted, b"forged"))
    with pytest.raises(AuthenticationFailed, match="server signature"):
        send(login, pg.authentication(12, wrong_signature))
    assert login.state is LoginState.FAILED


def test_authentication_ok_before_the_server_proved_itself_is_refused():
    server = ScramServer("secret")
    login = new_login()
    [initial] = send(login, sasl_mechanisms("SCRAM-SHA-256"))
    send(login, pg.authentication(11, server.first(sasl_initial_response(initial)[1])))
    with pytest.raises(IllegalTransition, match="AuthenticationOk"):
        send(login, pg.authentication(0))
    assert login.state is LoginState.FAILED


def test_a_server_offering_only_channel_binding_fails_clearly():
    login = new_login()
    with pytest.raises(UpstreamLoginFailed, match="SCRAM-SHA-256-PLUS") as raised:
        send(login, sasl_mechanisms("SCRAM-SHA-256-PLUS"))
    assert raised.value.sqlstate == "0A000"


def test_an_unsupported_authentication_method_fails_clearly():
    with pytest.raises(UpstreamLoginFailed, match="unsupported authentication") as raised:
        send(new_login(), pg.authentication(7))  # GSSAPI
    assert raised.value.sqlstate == "0A000"


def test_a_password_request_without_a_configured_password_fails_with_28P01():
    with pytest.raises(UpstreamLoginFailed, match="none is configured") as raised:
        send(new_login(password=None), pg.authentication(3))
    assert raised.value.sqlstate == "28P01"


def test_negotiate_protocol_version_is_accepted_and_the_login_goes_on():
    login = new_login()
    assert send(login, pg.negotiate_protocol_version(0, ["_pq_.x"]), pg.authentication(0)) == []
    finish(login)


# -- refusals and violations ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "before",
    [[], [pg.authentication(3)], [pg.authentication(0)]],
    ids=["startup", "password", "ok"],
)
def test_an_error_response_fails_the_login_with_the_servers_sqlstate_and_message(before):
    login = new_login()
    send(login, *before)
    with pytest.raises(UpstreamLoginFailed) as raised:
        send(
            login, pg.error("28P01", 'password authentication failed for user "postgres"', "FATAL")
        )
    assert raised.value.sqlstate == "28P01"
    assert raised.value.message == 'password authentication failed for user "postgres"'
    assert login.state is LoginState.FAILED


def test_an_unexpected_message_is_a_protocol_violation():
    with pytest.raises(ProtocolViolation):
        send(new_login(), pg.data_row(b"1"))
    login = new_login()
    send(login, pg.authentication(0))
    with pytest.raises(ProtocolViolation):
        send(login, pg.authentication(3))


def test_the_login_refuses_use_out_of_order():
    login = UpstreamLogin(user="u", database="d", password=None)
    with pytest.raises(IllegalTransition):
        login.receive(ord("R"), b"\x00\x00\x00\x00")
    login.start()
    with pytest.raises(IllegalTransition):
        login.start()
    with pytest.raises(IllegalTransition):
        _ = login.backend_pid
    with pytest.raises(UpstreamLoginFailed):
        send(login, pg.error("3D000", 'database "d" does not exist', "FATAL"))
    with pytest.raises(IllegalTransition):
        send(login, pg.authentication(0))
