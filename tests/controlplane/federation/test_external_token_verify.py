"""Tokens from a trusted IdP are verified strictly; every attack is refused with a reason."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from controlplane.federation.models import TrustedIssuer
from controlplane.federation.verification import (
    MAX_TOKEN_BYTES,
    ExternalTokenRejected,
    external_token_verify,
)
from tests.controlplane.federation.local_idp import CLIENT_ID, LocalIdP, private_key_new


def refused(token: str) -> str:
    with pytest.raises(ExternalTokenRejected) as caught:
        external_token_verify(token=token)
    return caught.value.reason


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    """A token assembled by hand, as an attacker would (PyJWT refuses to mint these)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = b""
    if secret is not None:
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1", "ed25519-1"])
def test_a_token_signed_by_a_published_key_verifies(
    trusted: TrustedIssuer, idp: LocalIdP, kid: str
) -> None:
    issuer, claims = external_token_verify(token=idp.token(kid=kid))
    assert issuer == trusted
    assert claims["sub"] == CLIENT_ID


def test_a_forged_token_signed_by_another_key_is_refused(
    trusted: TrustedIssuer, idp: LocalIdP
) -> None:
    forged = jwt.encode(
        idp.claims(), private_key_new("rsa"), algorithm="RS256", headers={"kid": "rsa-1"}
    )
    assert refused(forged) == "token signature is invalid"


def test_an_expired_token_is_refused(trusted: TrustedIssuer, idp: LocalIdP) -> None:
    now = int(time.time())
    assert refused(idp.token(iat=now - 600, exp=now - 60)) == "token expired"


def test_expiry_within_the_leeway_is_tolerated(trusted: TrustedIssuer, idp: LocalIdP) -> None:
    now = int(time.time())
    external_token_verify(token=idp.token(iat=now - 600, exp=now - 10))  # leeway 30 s


def test_a_token_not_valid_yet_is_refused(trusted: TrustedIssuer, idp: LocalIdP) -> None:
    assert refused(idp.token(nbf=int(time.time()) + 120)) == "token not valid yet"


def test_a_token_issued_in_the_future_is_refused(trusted: TrustedIssuer, idp: LocalIdP) -> None:
    assert refused(idp.token(iat=int(time.time()) + 120)) == "token not valid yet"


def test_a_token_from_another_issuer_is_refused(trusted: TrustedIssuer, idp: LocalIdP) -> None:
    assert refused(idp.token(iss="https://evil.example")) == "token from an untrusted issuer"


def test_the_issuer_must_match_exactly(trusted: TrustedIssuer, idp: LocalIdP) -> None:
    assert refused(idp.token(iss=idp.issuer + "/")) == "token from an untrusted issuer"


def test_a_token_for_another_audience_is_refused(trusted: TrustedIssuer, idp: LocalIdP) -> None:
    assert refused(idp.token(aud="https://other.app")) == "token is for another audience"


def test_an_audience_list_containing_ours_is_accepted(
    trusted: TrustedIssuer, idp: LocalIdP
) -> None:
    external_token_verify(token=idp.token(aud=["https://other.app", trusted.audience]))


@pytest.mark.parametrize("claim", ["exp", "aud"])
def test_a_token_without_a_required_claim_is_refused(
    trusted: TrustedIssuer, idp: LocalIdP, claim: str
) -> None:
    assert refused(idp.token(**{claim: None})) == "token lacks a required claim"


def test_alg_none_is_refused(trusted: TrustedIssuer, idp: LocalIdP) -> None:
    token = hand_made({"alg": "none", "kid": "rsa-1"}, idp.claims(), None)
    assert refused(token) == "token algorithm not accepted"


def test_hs256_signed_with_the_rsa_public_key_is_refused(
    trusted: TrustedIssuer, idp: LocalIdP
) -> None:
    public_pem = (
        idp.keys["rsa-1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    token = hand_made({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}, idp.claims(), public_pem)
    assert refused(token) == "token algorithm not accepted"


def test_an_es256_header_naming_an_rsa_key_is_refused(
    trusted: TrustedIssuer, idp: LocalIdP
) -> None:
    # Signed with the EC key, but the header points at the RSA key's kid.
    token = jwt.encode(idp.claims(), idp.keys["ec-1"], algorithm="ES256", headers={"kid": "rsa-1"})
    assert refused(token).startswith("token signing key refused")


def test_an_rs256_header_naming_an_ec_key_is_refused(trusted: TrustedIssuer, idp: LocalIdP) -> None:
    token = jwt.encode(idp.claims(), idp.keys["rsa-1"], algorithm="RS256", headers={"kid": "ec-1"})
    assert refused(token).startswith("token signing key refused")


def test_an_algorithm_the_issuer_does_not_allow_is_refused(
    db: None, idp: LocalIdP, trusted: TrustedIssuer
) -> None:
    TrustedIssuer.objects.filter(pk=trusted.pk).update(algorithms=["RS256"])
    assert refused(idp.token(kid="ec-1")) == "token algorithm not accepted for its issuer"


def test_a_token_without_a_kid_is_refused(trusted: TrustedIssuer, idp: LocalIdP) -> None:
    token = jwt.encode(idp.claims(), idp.keys["rsa-1"], algorithm="RS256")
    assert refused(token) == "token names no signing key (kid)"


def test_an_oversized_token_is_refused_before_parsing(
    trusted: TrustedIssuer, idp: LocalIdP
) -> None:
    token = idp.token(padding="x" * MAX_TOKEN_BYTES)
    assert refused(token) == "token too large"
    assert idp.hits["/jwks"] == 0


def test_garbage_is_refused_as_malformed(trusted: TrustedIssuer) -> None:
    assert refused("not.a.jwt") == "token is malformed"


def test_an_inactive_issuer_is_not_trusted(trusted: TrustedIssuer, idp: LocalIdP) -> None:
    TrustedIssuer.objects.filter(pk=trusted.pk).update(is_active=False)
    assert refused(idp.token()) == "token from an untrusted issuer"


def test_a_token_naming_no_subject_is_refused(trusted: TrustedIssuer, idp: LocalIdP) -> None:
    assert refused(idp.token(sub=None, client_id=None)) == (
        "token names no subject (sub or client_id)"
    )
