"""TokenVerifier: only EdDSA tokens signed by a pushed key, with every claim, in time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from dataplane.contract import TOKEN_AUDIENCE, TOKEN_ISSUER, TokenKey
from dataplane.core.tokens import MAX_TOKEN_BYTES, InvalidToken, TokenVerifier

NOW = 1_750_000_000.0
SIGNING_KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()


def public_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def verifier(**kwargs: Any) -> TokenVerifier:
    keys = [TokenKey(kid="k1", alg="EdDSA", public_key_pem=public_pem(SIGNING_KEY))]
    return TokenVerifier(keys, issuer=TOKEN_ISSUER, audience=TOKEN_AUDIENCE, **kwargs)


def claims(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "iss": TOKEN_ISSUER,
        "aud": TOKEN_AUDIENCE,
        "sub": "id-alice",
        "kind": "user",
        "name": "alice",
        "iat": int(NOW) - 10,
        "exp": int(NOW) + 300,
        "jti": "jti-1",
    }
    document.update(overrides)
    return {key: value for key, value in document.items() if value is not None}


def mint(key: Ed25519PrivateKey = SIGNING_KEY, kid: str = "k1", **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), key, algorithm="EdDSA", headers={"kid": kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], secret: bytes | None) -> str:
    """A token assembled by hand, as an attacker would (PyJWT refuses to mint these)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims()).encode())}"
    signature = b""
    if secret is not None:
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def rejection(token: str, **kwargs: Any) -> str:
    with pytest.raises(InvalidToken) as caught:
        verifier(**kwargs).verify(token, now=NOW)
    return caught.value.reason


def test_a_valid_token_yields_the_identity() -> None:
    identity = verifier().verify(mint(), now=NOW)

    assert (identity.sub, identity.kind, identity.name, identity.jti) == (
        "id-alice",
        "user",
        "alice",
        "jti-1",
    )
    assert identity.expires_at == datetime.fromtimestamp(int(NOW) + 300, tz=UTC)


def test_a_service_account_token_is_accepted() -> None:
    identity = verifier().verify(mint(kind="service_account", name="ai-agent"), now=NOW)

    assert identity.kind == "service_account"


def test_the_wall_clock_is_used_without_now() -> None:
    token = mint(iat=int(time.time()), exp=int(time.time()) + 60)

    assert verifier().verify(token).sub == "id-alice"


def test_an_unknown_kid_is_rejected() -> None:
    assert rejection(mint(kid="k2")) == "token signed with an unknown key"


def test_a_missing_kid_is_rejected() -> None:
    token = jwt.encode(claims(), SIGNING_KEY, algorithm="EdDSA")

    assert rejection(token) == "token signed with an unknown key"


def test_a_known_kid_with_another_keys_signature_is_rejected() -> None:
    assert rejection(mint(key=OTHER_KEY)) == "token signature is invalid"


def test_alg_none_is_rejected() -> None:
    token = hand_made({"alg": "none", "typ": "JWT", "kid": "k1"}, secret=None)

    assert rejection(token) == "token algorithm not accepted"


def test_hs256_signed_with_the_public_key_as_secret_is_rejected() -> None:
    """The classic algorithm-confusion attack: the public key is no secret."""
    token = hand_made({"alg": "HS256", "typ": "JWT", "kid": "k1"}, public_pem(SIGNING_KEY).encode())

    assert rejection(token) == "token algorithm not accepted"


def test_an_eddsa_header_over_an_hmac_signature_is_rejected() -> None:
    token = hand_made({"alg": "EdDSA", "kid": "k1"}, public_pem(SIGNING_KEY).encode())

    assert rejection(token) in {"token signature is invalid", "token is malformed"}


def test_an_expired_token_is_rejected() -> None:
    assert rejection(mint(exp=int(NOW) - 6)) == "token expired"


def test_a_token_verified_before_still_expires() -> None:
    checker, token = verifier(), mint(exp=int(NOW) + 60)
    checker.verify(token, now=NOW)  # remembered: a kept-alive connection presents it again

    assert checker.verify(token, now=NOW + 30).sub == "id-alice"
    with pytest.raises(InvalidToken, match="token expired"):
        checker.verify(token, now=NOW + 66)


def test_a_rejected_token_is_rejected_every_time() -> None:
    checker, token = verifier(), mint(key=OTHER_KEY)
    for _ in range(2):
        with pytest.raises(InvalidToken, match="signature is invalid"):
            checker.verify(token, now=NOW)


def test_expiry_within_the_leeway_is_tolerated() -> None:
    assert verifier().verify(mint(exp=int(NOW) - 3), now=NOW).sub == "id-alice"


def test_a_token_issued_in_the_future_is_rejected() -> None:
    assert rejection(mint(iat=int(NOW) + 60)) == "token issued in the future"


def test_a_token_not_valid_yet_is_rejected() -> None:
    assert rejection(mint(nbf=int(NOW) + 60)) == "token not valid yet"


def test_the_wrong_audience_is_rejected() -> None:
    assert rejection(mint(aud="someone-else")) == "token is for another audience"


def test_the_wrong_issuer_is_rejected() -> None:
    assert rejection(mint(iss="evil")) == "token from an unknown issuer"


@pytest.mark.parametrize("claim", ["iss", "aud", "sub", "kind", "name", "exp", "iat", "jti"])
def test_every_required_claim_must_be_present(claim: str) -> None:
    without: dict[str, Any] = {claim: None}

    assert rejection(mint(**without)) == f"token lacks the {claim!r} claim"


def test_an_unknown_identity_kind_is_rejected() -> None:
    assert rejection(mint(kind="admin")) == "token identity kind not accepted"


def test_non_string_identity_claims_are_rejected() -> None:
    assert rejection(mint(name=42)) == "token identity claims are malformed"


def test_an_oversized_token_is_rejected_before_parsing() -> None:
    token = mint(name="x" * MAX_TOKEN_BYTES)

    assert rejection(token) == "token too large"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "....", "e30.e30.e30"])
def test_garbage_is_rejected(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        verifier().verify(garbage, now=NOW)


def test_keys_that_are_not_ed25519_eddsa_are_ignored() -> None:
    keys = [
        TokenKey(kid="rs", alg="RS256", public_key_pem=public_pem(SIGNING_KEY)),
        TokenKey(kid="junk", alg="EdDSA", public_key_pem="not a pem"),
    ]

    built = TokenVerifier(keys, issuer=TOKEN_ISSUER, audience=TOKEN_AUDIENCE)

    assert built.key_ids == frozenset()


def test_the_token_never_reaches_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = mint(exp=int(NOW) - 100)

    with pytest.raises(InvalidToken) as caught:
        verifier().verify(token, now=NOW)

    assert token not in caplog.text
    assert token not in str(caught.value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(
    header=st.dictionaries(st.sampled_from(["alg", "kid", "typ", "crit", "b64"]), json_values),
    payload=json_values,
    signature=st.binary(max_size=80),
)
def test_forged_tokens_only_ever_raise_invalid_token(
    header: dict[str, Any], payload: Any, signature: bytes
) -> None:
    header = {"alg": "EdDSA", "kid": "k1", **header}
    token = ".".join(
        b64(part) for part in (json.dumps(header).encode(), json.dumps(payload).encode(), signature)
    )

    with pytest.raises(InvalidToken):
        verifier().verify(token, now=NOW)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_only_ever_raises_invalid_token(text: str) -> None:
    with pytest.raises(InvalidToken):
        verifier().verify(text, now=NOW)
