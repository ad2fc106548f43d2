"""`Authorization: Bearer <provider token>` for people (the command line): the browser
sign-in's strict checks, and a person found only by (issuer, sub)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.test import override_settings
from rest_framework.test import APIClient

from controlplane.federation import jwks
from controlplane.identities.models import ExternalIdentity, User
from controlplane.identities.oidc.backend import OidcBackend
from controlplane.identities.oidc.config import OidcConfig
from controlplane.identities.oidc.discovery import provider_endpoints_forget

CLIENT_ID = "gatehouse-control-plane"
CLI_CLIENT_ID = "gatehouse-cli"
API_AUDIENCE = "urn:gatehouse"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def jwk(key: Any, kid: str) -> dict[str, Any]:
    algorithm = jwt.algorithms.RSAAlgorithm if kid.startswith("rs") else jwt.algorithms.ECAlgorithm
    return {**json.loads(algorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig"}


class JwksServer:
    """The provider's JWKS endpoint on a loopback port; counts fetches."""

    def __init__(self) -> None:
        self.fetches = 0
        keys = {"keys": [jwk(RSA_KEY, "rs-1"), jwk(EC_KEY, "ec-1")]}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                body = json.dumps(keys).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True, name="jwks").start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def idp() -> Iterator[JwksServer]:
    server = JwksServer()
    issuer = server.issuer
    config = OidcConfig(
        issuer=issuer,
        client_id=CLIENT_ID,
        client_secret="client-secret-for-tests",
        scopes="openid",
        groups_claim="groups",
        signing_algorithm="RS256",
        timeout_seconds=5,
        endpoints={
            "authorization_endpoint": f"{issuer}/auth",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/me",
            "jwks_uri": f"{issuer}/jwks",
        },
    )
    provider_endpoints_forget()
    jwks.JWKS.clear()
    with override_settings(
        GATEHOUSE_OIDC=config,
        GATEHOUSE_OIDC_CLI_CLIENT_ID=CLI_CLIENT_ID,
        GATEHOUSE_OIDC_API_AUDIENCE=API_AUDIENCE,
    ):
        yield server
    jwks.JWKS.clear()
    provider_endpoints_forget()
    server.stop()


@pytest.fixture
def linked_alice(alice: User, idp: JwksServer) -> User:
    ExternalIdentity.objects.create(issuer=idp.issuer, subject="idp-alice", user=alice)
    return alice


def token(
    idp: JwksServer, *, key: Any = RSA_KEY, alg: str = "RS256", kid: str = "rs-1", **overrides: Any
) -> str:
    now = int(time.time())
    claims = {"iss": idp.issuer, "aud": CLI_CLIENT_ID, "sub": "idp-alice", "iat": now,
              "exp": now + 300}  # fmt: skip
    claims.update(overrides)
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def whoami(presented: str) -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {presented}")
    return client.get("/api/v1/me")


def test_the_command_lines_id_token_authenticates_the_linked_person(
    idp: JwksServer, linked_alice: User
) -> None:
    response = whoami(token(idp))
    assert response.status_code == 200
    assert response.json()["username"] == "alice"


@pytest.mark.parametrize("audience", [CLIENT_ID, API_AUDIENCE, [API_AUDIENCE, "other-api"]])
def test_our_client_ids_and_the_api_audience_are_accepted(
    idp: JwksServer, linked_alice: User, audience: Any
) -> None:
    assert whoami(token(idp, aud=audience)).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"aud": "someone-else"}, "audience"),
        ({"iss": "https://evil.example.test"}, "issuer"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"iat": None}, "iat"),
        ({"sub": None}, "sub"),
        ({"aud": [CLI_CLIENT_ID, "other"], "azp": "other"}, "azp"),
    ],
)
def test_tokens_failing_a_claim_check_are_refused(
    idp: JwksServer, linked_alice: User, overrides: dict[str, Any], why: str
) -> None:
    response = whoami(token(idp, **overrides))
    assert response.status_code == 401, why


def test_a_token_signed_by_another_key_is_refused(idp: JwksServer, linked_alice: User) -> None:
    assert whoami(token(idp, key=OTHER_RSA_KEY)).status_code == 401


def test_another_algorithm_than_the_configured_one_is_refused(
    idp: JwksServer, linked_alice: User
) -> None:
    response = whoami(token(idp, key=EC_KEY, alg="ES256", kid="ec-1"))
    assert response.status_code == 401
    assert "RS256" in response.json()["detail"]


def test_alg_none_and_hs256_with_the_public_key_are_refused(
    idp: JwksServer, linked_alice: User
) -> None:
    unsigned = token(idp, key=None, alg="none")
    public_pem = jwk(RSA_KEY, "rs-1")["n"]  # any public material as an HMAC secret
    confused = token(idp, key=public_pem, alg="HS256")
    assert whoami(unsigned).status_code == 401
    assert whoami(confused).status_code == 401


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_unknown_kid_refetches_the_keys_at_most_once_per_interval(
    idp: JwksServer, linked_alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(jwks, "JWKS", jwks.JwksCache(clock=clock))
    assert whoami(token(idp)).status_code == 200
    for _ in range(5):
        assert whoami(token(idp, kid="made-up")).status_code == 401
    assert idp.fetches == 1  # keys fetched moments ago are not fetched again
    clock.now += jwks.REFETCH_MIN_INTERVAL_SECONDS
    for _ in range(5):
        assert whoami(token(idp, kid="made-up")).status_code == 401
    assert idp.fetches == 2  # the first load and one refetch for the unknown kid
    assert whoami(token(idp)).status_code == 200
    assert idp.fetches == 2  # the cached keys still work


def test_the_provider_keys_are_cached_for_their_lifetime(
    idp: JwksServer, linked_alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(jwks, "JWKS", jwks.JwksCache(clock=clock))
    for _ in range(3):
        assert whoami(token(idp)).status_code == 200
    assert idp.fetches == 1
    clock.now += jwks.JWKS_TTL_SECONDS
    assert whoami(token(idp)).status_code == 200
    assert idp.fetches == 2


def test_an_unreachable_provider_jwks_refuses_the_token(
    idp: JwksServer, linked_alice: User
) -> None:
    idp.stop()
    response = whoami(token(idp))
    assert response.status_code == 401
    assert "unavailable" in response.json()["detail"]


def test_a_key_published_for_another_algorithm_is_refused(
    idp: JwksServer, linked_alice: User
) -> None:
    # The EC key is the provider's, but the configured algorithm is RS256: the header's kid
    # must not select a key of another type.
    response = whoami(token(idp, key=RSA_KEY, alg="RS256", kid="ec-1"))
    assert response.status_code == 401


def test_a_valid_token_for_an_unlinked_person_is_refused_even_with_a_matching_email(
    idp: JwksServer, alice: User
) -> None:
    response = whoami(token(idp, email=alice.email, preferred_username="alice"))
    assert response.status_code == 401
    assert "sign in once in the browser" in response.json()["detail"]
    assert not User.objects.filter(username__startswith="idp-").exists()


def test_a_service_account_or_disabled_person_is_refused(
    idp: JwksServer, linked_alice: User, agent_smith: User
) -> None:
    ExternalIdentity.objects.create(issuer=idp.issuer, subject="idp-smith", user=agent_smith)
    assert whoami(token(idp, sub="idp-smith")).status_code == 401

    linked_alice.is_active = False
    linked_alice.save()
    assert whoami(token(idp)).status_code == 401


def test_a_link_from_another_issuer_does_not_count(idp: JwksServer, alice: User) -> None:
    ExternalIdentity.objects.create(
        issuer="https://other-idp.test", subject="idp-alice", user=alice
    )
    assert whoami(token(idp)).status_code == 401


def test_bearer_tokens_are_refused_when_oidc_is_off(alice: User) -> None:
    with override_settings(GATEHOUSE_OIDC=None):
        response = whoami("eyJhbGciOiJSUzI1NiJ9.e30.sig")
    assert response.status_code == 401
    assert "not configured" in response.json()["detail"]


def test_an_oversized_token_is_refused_before_any_key_lookup(
    idp: JwksServer, linked_alice: User
) -> None:
    assert whoami(token(idp, padding="x" * 9000)).status_code == 401
    assert idp.fetches == 0


def test_the_browser_sign_in_verifies_id_tokens_with_the_same_cached_keys(
    idp: JwksServer, linked_alice: User
) -> None:
    assert whoami(token(idp)).status_code == 200
    backend = OidcBackend()
    backend.configure(settings.GATEHOUSE_OIDC)
    id_token = token(idp, aud=CLIENT_ID, nonce="n-1")
    assert backend.verify_token(id_token, nonce="n-1")["sub"] == "idp-alice"
    assert idp.fetches == 1  # one JWKS fetch served the API and the sign-in


def test_the_browser_sign_in_refuses_a_kid_the_provider_does_not_publish(
    idp: JwksServer,
) -> None:
    backend = OidcBackend()
    backend.configure(settings.GATEHOUSE_OIDC)
    with pytest.raises(SuspiciousOperation, match="not the provider's"):
        backend.verify_token(token(idp, aud=CLIENT_ID, nonce="n-1", kid="made-up"), nonce="n-1")
