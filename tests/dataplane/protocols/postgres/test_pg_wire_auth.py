"""SCRAM-SHA-256 client (RFC 5802 / RFC 7677) and md5 password hashing."""

from __future__ import annotations

import pytest

from dataplane.protocols.postgres.wire.auth import ScramSha256Client, md5_password, saslprep
from dataplane.protocols.postgres.wire.errors import AuthenticationFailed, IllegalTransition

# RFC 7677, section 3: user "user", password "pencil".
RFC_CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO"
RFC_SERVER_FIRST = (
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
RFC_CLIENT_FINAL = (
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
RFC_SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def rfc_client() -> ScramSha256Client:
    return ScramSha256Client("pencil", nonce=RFC_CLIENT_NONCE, username="user")


def test_the_rfc_7677_exchange_produces_the_rfc_messages_and_verifies_the_server():
    client = rfc_client()
    assert client.client_first_message() == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    assert client.client_final_message(RFC_SERVER_FIRST) == RFC_CLIENT_FINAL
    client.verify_server_final(RFC_SERVER_FINAL)


def test_like_libpq_the_client_first_message_names_no_user_and_uses_no_channel_binding():
    client = ScramSha256Client("pw", nonce="abc")
    assert client.client_first_message() == b"n,,n=,r=abc"


def test_a_random_nonce_is_used_when_none_is_given():
    first = ScramSha256Client("pw").client_first_message()
    other = ScramSha256Client("pw").client_first_message()
    assert first.startswith(b"n,,n=,r=") and len(first) > len(b"n,,n=,r=") + 20
    assert first != other


def test_a_wrong_server_signature_means_the_server_is_not_trusted():
    client = rfc_client()
    client.client_first_message()
    client.client_final_message(RFC_SERVER_FIRST)
    with pytest.raises(AuthenticationFailed, match="server signature is wrong"):
        client.verify_server_final(b"v=" + b"A" * 43 + b"=")


def test_a_server_error_in_server_final_fails_the_exchange():
    client = rfc_client()
    client.client_first_message()
    client.client_final_message(RFC_SERVER_FIRST)
    with pytest.raises(AuthenticationFailed, match="invalid-proof"):
        client.verify_server_final(b"e=invalid-proof")


@pytest.mark.parametrize(
    ("server_first", "reason"),
    [
        (b"r=someoneelse123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "nonce"),
        (b"r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "nonce"),
        (b"r=rOprNGfwEbeRWgbNEkqOx,s=not base64!,i=4096", "base64"),
        (b"r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0", "out of range"),
        (b"r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=10000001", "out of range"),
        (b"r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1", "iteration"),
        (b"r=rOprNGfwEbeRWgbNEkqOx,i=4096", "malformed"),
        (b"m=ext,r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "extension"),
        (b"r=rOprNGfwEbeRWgbNEkqO\xff,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "ASCII"),
    ],
)
def test_malformed_or_hostile_server_first_messages_fail_the_exchange(server_first, reason):
    client = rfc_client()
    client.client_first_message()
    with pytest.raises(AuthenticationFailed, match=reason):
        client.client_final_message(server_first)


def test_steps_out_of_order_are_illegal_transitions():
    client = rfc_client()
    with pytest.raises(IllegalTransition):
        client.client_final_message(RFC_SERVER_FIRST)
    client.client_first_message()
    with pytest.raises(IllegalTransition):
        client.client_first_message()
    with pytest.raises(IllegalTransition):
        client.verify_server_final(RFC_SERVER_FINAL)


def test_md5_password_matches_what_postgresql_computes():
    # SELECT 'md5' || md5(convert_to(md5('secret' || 'postgres'), 'UTF8') || '\x01020304'::bytea)
    expected = b"md5bb41a296aab6baccb36ff243a562abff"
    assert md5_password("postgres", "secret", b"\x01\x02\x03\x04") == expected


@pytest.mark.parametrize(
    ("password", "prepared"),
    [
        ("pencil", "pencil"),  # ASCII passes unchanged, even control characters
        ("pa\x07ss", "pa\x07ss"),
        ("I\u00adX", "IX"),  # soft hyphen maps to nothing
        ("a\u00a0b", "a b"),  # non-ASCII space maps to space
        ("\u2168", "IX"),  # NFKC: ROMAN NUMERAL NINE
        ("\u00aa", "a"),  # NFKC: FEMININE ORDINAL INDICATOR
        ("\u00ad", "\u00ad"),  # maps to nothing at all: used as it is
        ("a\u0007\u00e9", "a\u0007\u00e9"),  # prohibited control character: used as it is
        ("\u0627\u0031", "\u0627\u0031"),  # RandALCat not last: used as it is
    ],
)
def test_saslprep_prepares_passwords_the_way_postgresql_does(password, prepared):
    assert saslprep(password) == prepared
