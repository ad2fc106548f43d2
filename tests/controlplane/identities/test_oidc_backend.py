"""The OIDC backend checks the ID token strictly (the library alone checks neither audience
nor issuer) and signs in only from a callback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import SuspiciousOperation
from django.test import RequestFactory, override_settings

from controlplane.identities.models import User
from controlplane.identities.oidc.backend import OidcBackend
from controlplane.identities.oidc.config import OidcConfig

ISSUER = "https://idp.example.test"
CLIENT_ID = "gatehouse"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
ENDPOINTS = {
    "authorization_endpoint": f"{ISSUER}/auth",
    "token_endpoint": f"{ISSUER}/token",
    "userinfo_endpoint": f"{ISSUER}/me",
    "jwks_uri": f"{ISSUER}/jwks",
}


def config(**overrides: Any) -> OidcConfig:
    values: dict[str, Any] = {
        "issuer": ISSUER,
        "client_id": CLIENT_ID,
        "client_secret": "client-secret-for-tests",
        "scopes": "openid email profile",
        "groups_claim": "groups",
        "signing_algorithm": "RS256",
        "timeout_seconds": 5,
        "endpoints": ENDPOINTS,
    }
    return OidcConfig(**{**values, **overrides})


@pytest.fixture(autouse=True)
def oidc_on() -> Iterator[None]:
    from controlplane.identities.oidc.discovery import provider_endpoints_forget

    provider_endpoints_forget()
    with override_settings(GATEHOUSE_OIDC=config()):
        yield
    provider_endpoints_forget()


def id_token(key: Any = RSA_KEY, alg: str = "RS256", **overrides: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": CLIENT_ID, "sub": "00u-alice", "iat": now, "exp": now + 300}
    claims.update({"nonce": "n-1", **overrides})
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": "k1"})


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> OidcBackend:
    request = RequestFactory().get("/oidc/callback/")
    request.session = SessionStore()
    backend = OidcBackend()
    backend.request = request
    backend.configure(config())
    monkeypatch.setattr(backend, "retrieve_matching_jwk", lambda token: RSA_KEY.public_key())
    return backend


def test_a_well_formed_id_token_yields_its_claims(backend: OidcBackend) -> None:
    claims = backend.verify_token(id_token(), nonce="n-1")
    assert claims["sub"] == "00u-alice"


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"aud": "someone-else"}, "Audience"),
        ({"iss": "https://evil.example.test"}, "issuer"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"iat": None}, "iat"),
        ({"sub": None}, "sub"),
        ({"nonce": "replayed"}, "nonce"),
        ({"aud": [CLIENT_ID, "other"], "azp": "other"}, "azp"),
    ],
)
def test_id_tokens_with_bad_claims_are_refused(
    backend: OidcBackend, overrides: dict[str, Any], why: str
) -> None:
    with pytest.raises(SuspiciousOperation, match=why):
        backend.verify_token(id_token(**overrides), nonce="n-1")


def test_unsigned_and_hmac_tokens_are_refused(backend: OidcBackend) -> None:
    unsigned = jwt.encode({"iss": ISSUER, "aud": CLIENT_ID, "sub": "x"}, None, algorithm="none")
    hmac = id_token(key="client-secret-for-tests-" + "x" * 16, alg="HS256")
    for token in (unsigned, hmac, "not-a-jwt"):
        with pytest.raises(SuspiciousOperation):
            backend.verify_token(token, nonce="n-1")


def test_a_token_signed_with_another_key_is_refused(backend: OidcBackend) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(SuspiciousOperation, match="Signature"):
        backend.verify_token(id_token(key=other), nonce="n-1")


def test_only_the_configured_algorithm_is_accepted(
    backend: OidcBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend.config = config(signing_algorithm="ES256")
    monkeypatch.setattr(backend, "retrieve_matching_jwk", lambda token: EC_KEY.public_key())
    assert backend.verify_token(id_token(key=EC_KEY, alg="ES256"), nonce="n-1")["sub"]
    with pytest.raises(SuspiciousOperation, match="RS256"):
        backend.verify_token(id_token(), nonce="n-1")


def test_userinfo_adds_groups_but_cannot_change_who_signed_in(
    db: None, backend: OidcBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    userinfo = {"sub": "00u-alice", "preferred_username": "alice", "groups": ["requesters"]}
    monkeypatch.setattr(backend, "get_userinfo", lambda *args: userinfo)
    payload = {"iss": ISSUER, "sub": "00u-alice", "aud": CLIENT_ID}

    user = backend.get_or_create_user("access", "id", payload)

    assert user is not None and user.username == "alice"
    assert list(user.groups.values_list("name", flat=True)) == ["requesters"]
    userinfo["sub"] = "00u-mallory"
    with pytest.raises(SuspiciousOperation, match="different sub"):
        backend.get_or_create_user("access", "id", payload)


def test_a_refused_sign_in_returns_no_user_and_says_why(
    db: None, backend: OidcBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backend, "get_userinfo", lambda *args: {"sub": "x", "groups": 5})
    assert backend.get_or_create_user("a", "i", {"sub": "x"}) is None
    assert "groups" in backend.request.gatehouse_sign_in_refusal  # type: ignore[attr-defined]


def test_the_backend_ignores_passwords_and_requests_without_a_callback(db: None) -> None:
    request = RequestFactory().get("/oidc/callback/?code=c&state=s")
    assert OidcBackend().authenticate(request, username="admin", password="pw") is None
    assert OidcBackend().authenticate(None, nonce="n") is None
    with override_settings(GATEHOUSE_OIDC=None):
        assert OidcBackend().authenticate(request, nonce="n", code_verifier="v") is None


def test_a_disabled_user_loses_the_session(db: None) -> None:
    user = User.objects.create_user(username="alice")
    assert OidcBackend().get_user(user.pk) == user
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert OidcBackend().get_user(user.pk) is None
