"""Client side of PostgreSQL password authentication: SCRAM-SHA-256 and md5, without I/O.

SCRAM follows RFC 5802 / RFC 7677 the way PostgreSQL uses it: no channel binding (gs2
header "n,,"), and an empty user name in the client-first-message because the server takes
the user from the StartupMessage.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import stringprep
import unicodedata
from enum import Enum

from dataplane.protocols.postgres.wire.errors import AuthenticationFailed, IllegalTransition

SCRAM_SHA_256 = "SCRAM-SHA-256"
SCRAM_SHA_256_PLUS = "SCRAM-SHA-256-PLUS"
MAX_ITERATIONS = 10_000_000  # more is a server trying to burn our CPU
_GS2_HEADER = "n,,"  # no channel binding, no authzid


def md5_password(user: str, password: str, salt: bytes) -> bytes:
    """The PasswordMessage payload for AuthenticationMD5Password.

    "md5" + md5(md5(password + user) as hex + salt) as hex.
    """
    inner = hashlib.md5((password + user).encode("utf-8")).hexdigest()
    return b"md5" + hashlib.md5(inner.encode("ascii") + salt).hexdigest().encode("ascii")


class ScramState(Enum):
    INITIAL = "initial"
    FIRST_SENT = "client-first sent"
    FINAL_SENT = "client-final sent"
    VERIFIED = "server verified"


class ScramSha256Client:
    """One SCRAM-SHA-256 exchange: client-first, client-final, then check the server.

    Each step is a method; calling one out of order raises IllegalTransition. Any malformed
    server message, a server nonce that does not extend ours, or a wrong server signature
    raises AuthenticationFailed.
    """

    mechanism = SCRAM_SHA_256

    def __init__(self, password: str, nonce: str | None = None, *, username: str = "") -> None:
        self._password = saslprep(password).encode("utf-8")
        self._nonce = nonce if nonce is not None else _random_nonce()
        if not self._nonce or not all(0x21 <= ord(c) <= 0x7E and c != "," for c in self._nonce):
            raise ValueError("a SCRAM nonce is printable ASCII without ','")
        # PostgreSQL ignores the name and libpq sends it empty; RFC test vectors need one.
        self._first_bare = f"n={_sasl_name(username)},r={self._nonce}"
        self._state = ScramState.INITIAL
        self._expected_server_signature = b""

    @property
    def state(self) -> ScramState:
        return self._state

    def client_first_message(self) -> bytes:
        self._advance(ScramState.INITIAL, ScramState.FIRST_SENT, "client_first_message")
        return (_GS2_HEADER + self._first_bare).encode("ascii")

    def client_final_message(self, server_first: bytes) -> bytes:
        """The answer to server-first-message: proof that we know the password."""
        self._advance(ScramState.FIRST_SENT, ScramState.FINAL_SENT, "client_final_message")
        server_first_text = _ascii(server_first, "server-first-message")
        server_nonce, salt, iterations = self._read_server_first(server_first_text)
        salted = hashlib.pbkdf2_hmac("sha256", self._password, salt, iterations)
        client_key = _hmac(salted, b"Client Key")
        channel_binding = base64.b64encode(_GS2_HEADER.encode("ascii")).decode("ascii")
        final_without_proof = f"c={channel_binding},r={server_nonce}"
        auth_message = f"{self._first_bare},{server_first_text},{final_without_proof}".encode()
        client_signature = _hmac(hashlib.sha256(client_key).digest(), auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, client_signature, strict=True))
        self._expected_server_signature = _hmac(_hmac(salted, b"Server Key"), auth_message)
        return f"{final_without_proof},p={base64.b64encode(proof).decode('ascii')}".encode()

    def verify_server_final(self, server_final: bytes) -> None:
        """Check server-final-message; returns only if the server proved it knows the password."""
        self._advance(ScramState.FINAL_SENT, ScramState.VERIFIED, "verify_server_final")
        attributes = _ascii(server_final, "server-final-message").split(",")
        if attributes[0].startswith("e="):
            raise AuthenticationFailed(f"SCRAM error from server: {attributes[0][2:]}")
        if not attributes[0].startswith("v="):
            raise AuthenticationFailed("malformed SCRAM server-final-message: no verifier")
        signature = _b64decode(attributes[0][2:], "server signature")
        if not hmac.compare_digest(signature, self._expected_server_signature):
            raise AuthenticationFailed("SCRAM server signature is wrong: server not trusted")

    def _read_server_first(self, message: str) -> tuple[str, bytes, int]:
        attributes = message.split(",")
        if attributes[0].startswith("m="):
            raise AuthenticationFailed("SCRAM server requires an unsupported extension")
        if len(attributes) < 3 or [a[:2] for a in attributes[:3]] != ["r=", "s=", "i="]:
            raise AuthenticationFailed("malformed SCRAM server-first-message")
        nonce, salt, iterations = (a[2:] for a in attributes[:3])
        if not nonce.startswith(self._nonce) or len(nonce) == len(self._nonce):
            raise AuthenticationFailed("SCRAM server nonce does not extend the client nonce")
        if not iterations.isascii() or not iterations.isdigit():
            raise AuthenticationFailed(f"malformed SCRAM iteration count {iterations!r}")
        if not 1 <= int(iterations) <= MAX_ITERATIONS:
            raise AuthenticationFailed(f"SCRAM iteration count {iterations} out of range")
        return nonce, _b64decode(salt, "salt"), int(iterations)

    def _advance(self, expected: ScramState, new: ScramState, event: str) -> None:
        if self._state is not expected:
            raise IllegalTransition("SCRAM client", self._state.value, event)
        self._state = new


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (as in pg_authid).

    Giving the server this instead of the password keeps the password itself out of the
    server's statement logs and out of pg_stat_activity.
    """
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", saslprep(password).encode("utf-8"), salt, iterations)
    stored_key = hashlib.sha256(_hmac(salted, b"Client Key")).digest()
    server_key = _hmac(salted, b"Server Key")
    b64 = base64.b64encode
    return (
        f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}"
        f"${b64(stored_key).decode()}:{b64(server_key).decode()}"
    )


def saslprep(password: str) -> str:
    """SASLprep (RFC 4013) exactly as PostgreSQL's pg_saslprep applies it to passwords.

    Servers store SCRAM verifiers for the prepared password, so the client must prepare it the
    same way, quirks included: ASCII passes unchanged, the prohibited/bidi checks look at the
    mapped string, and a password that fails them (or maps to nothing) is used as it is.
    """
    if password.isascii():
        return password
    mapped = "".join(
        " " if stringprep.in_table_c12(ch) else ch
        for ch in password
        if not stringprep.in_table_b1(ch)
    )
    if not mapped or any(_prohibited(ch) for ch in mapped) or not _bidi_ok(mapped):
        return password
    return unicodedata.normalize("NFKC", mapped)


def _prohibited(ch: str) -> bool:
    return (
        stringprep.in_table_a1(ch)  # unassigned in Unicode 3.2
        or stringprep.in_table_c12(ch)
        or stringprep.in_table_c21_c22(ch)
        or stringprep.in_table_c3(ch)
        or stringprep.in_table_c4(ch)
        or stringprep.in_table_c5(ch)
        or stringprep.in_table_c6(ch)
        or stringprep.in_table_c7(ch)
        or stringprep.in_table_c8(ch)
        or stringprep.in_table_c9(ch)
    )


def _bidi_ok(text: str) -> bool:
    """RFC 3454 section 6: right-to-left text has no left-to-right characters and starts and
    ends with a right-to-left character."""
    if not any(stringprep.in_table_d1(ch) for ch in text):
        return True
    if any(stringprep.in_table_d2(ch) for ch in text):
        return False
    return stringprep.in_table_d1(text[0]) and stringprep.in_table_d1(text[-1])


def _sasl_name(name: str) -> str:
    return name.replace("=", "=3D").replace(",", "=2C")


def _random_nonce() -> str:
    return base64.b64encode(secrets.token_bytes(18)).decode("ascii")


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _ascii(message: bytes, what: str) -> str:
    try:
        return message.decode("ascii")
    except UnicodeDecodeError as exc:
        raise AuthenticationFailed(f"malformed SCRAM {what}: not ASCII") from exc


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AuthenticationFailed(f"malformed SCRAM {what}: not base64") from exc
