"""POST /api/v1/token-exchange (RFC 8693): a service account trades an IdP client-credentials
token or its API key for a gateway token; a person's own IdP token adds who it acts for.
Every refusal is an RFC 6749 §5.2 error, and every exchange is audited."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from controlplane.audit.models import AuditEvent
from controlplane.federation.models import TrustedIssuer
from controlplane.identities.exchange import (
    ACCESS_TOKEN_TYPE,
    API_KEY_TOKEN_TYPE,
    GRANT_TYPE,
    ID_TOKEN_TYPE,
)
from controlplane.identities.models import ExternalIdentity, SigningKey, User
from controlplane.identities.tokens import gateway_token_mint
from dataplane.contract import TOKEN_AUDIENCE, TOKEN_ISSUER
from tests.controlplane.federation import fixtures
from tests.controlplane.federation.local_idp import LocalIdP

# The IdP on loopback and Gatehouse trusting it, shared with the federation tests.
fresh_jwks_cache = fixtures.fresh_jwks_cache
idp = fixtures.idp
trusted = fixtures.trusted
smith_bound = fixtures.smith_bound

URL = "/api/v1/token-exchange"


def post_form(body: dict[str, Any] | list[tuple[str, str]]) -> Any:
    return APIClient().post(URL, urlencode(body), content_type="application/x-www-form-urlencoded")


def form(subject_token: str, subject_token_type: str = ACCESS_TOKEN_TYPE, **extra: str) -> dict:
    return {
        "grant_type": GRANT_TYPE,
        "subject_token": subject_token,
        "subject_token_type": subject_token_type,
        **extra,
    }


def gateway_claims(token: str) -> dict[str, Any]:
    public_key = SigningKey.objects.get(kid=jwt.get_unverified_header(token)["kid"]).public_key_pem
    return jwt.decode(
        token, public_key, algorithms=["EdDSA"], audience=TOKEN_AUDIENCE, issuer=TOKEN_ISSUER
    )


@pytest.fixture
def alice_linked(alice: User, trusted: TrustedIssuer) -> User:
    """alice has signed in through the IdP once, which linked her IdP subject to her."""
    ExternalIdentity.objects.create(issuer=trusted.issuer, subject="alice-sub", user=alice)
    return alice


def test_a_client_credentials_token_becomes_a_gateway_token(
    smith_bound: User, idp: LocalIdP
) -> None:
    response = post_form(form(idp.token()))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    assert body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 900
    assert response["Cache-Control"] == "no-store"
    claims = gateway_claims(body["access_token"])
    assert claims["sub"] == str(smith_bound.pk)
    assert claims["kind"] == "service_account"
    assert "act" not in claims


def test_json_bodies_are_accepted_too(smith_bound: User, idp: LocalIdP) -> None:
    response = APIClient().post(URL, form(idp.token(kid="ec-1")), format="json")
    assert response.status_code == 200


def test_an_opaque_introspected_token_is_exchanged(smith_bound: User, idp: LocalIdP) -> None:
    response = post_form(form(idp.opaque_token()))
    assert response.status_code == 200
    assert gateway_claims(response.json()["access_token"])["name"] == "agent-smith"


def test_an_api_key_is_exchanged(
    db: None, agent_smith: User, api_key_of: Callable[[User], str]
) -> None:
    response = post_form(form(api_key_of(agent_smith), API_KEY_TOKEN_TYPE))
    assert response.status_code == 200
    assert gateway_claims(response.json()["access_token"])["sub"] == str(agent_smith.pk)
    event = AuditEvent.objects.get(action="token.exchanged")
    assert event.payload["subject_token_type"] == API_KEY_TOKEN_TYPE
    assert event.payload["api_key_prefix"]


def test_acting_for_a_person_puts_them_in_act_and_in_the_audit_trail(
    smith_bound: User, alice_linked: User, idp: LocalIdP
) -> None:
    alice_token = idp.token(kid="ed25519-1", sub="alice-sub", client_id="gatehouse-cli")
    response = post_form(form(idp.token(), actor_token=alice_token, actor_token_type=ID_TOKEN_TYPE))
    assert response.status_code == 200, response.json()
    claims = gateway_claims(response.json()["access_token"])
    assert claims["sub"] == str(smith_bound.pk)
    assert claims["act"] == {"sub": str(alice_linked.pk), "kind": "user", "name": "alice"}
    for action in ("token.exchanged", "token.minted"):
        event = AuditEvent.objects.get(action=action)
        assert (event.actor_name, event.on_behalf_of_name) == ("agent-smith", "alice")
        assert event.on_behalf_of_sub == str(alice_linked.pk)
        assert event.on_behalf_of_kind == "user"


def test_an_api_key_holder_may_act_for_a_person_who_proves_it(
    smith_bound: User, alice_linked: User, idp: LocalIdP, api_key_of: Callable[[User], str]
) -> None:
    alice_token = idp.token(sub="alice-sub")
    response = post_form(
        form(
            api_key_of(smith_bound),
            API_KEY_TOKEN_TYPE,
            actor_token=alice_token,
            actor_token_type=ACCESS_TOKEN_TYPE,
        )
    )
    assert gateway_claims(response.json()["access_token"])["act"]["name"] == "alice"


def error_of(response: Any) -> tuple[int, str, str]:
    body = response.json()
    assert set(body) == {"error", "error_description"}
    return response.status_code, body["error"], body["error_description"]


def now() -> int:
    return int(time.time())


ATTACKS: dict[str, Callable[[LocalIdP], dict[str, Any]]] = {
    "expired": lambda idp: {"iat": now() - 900, "exp": now() - 300},
    "not yet valid": lambda idp: {"nbf": now() + 300},
    "wrong issuer": lambda idp: {"iss": "https://evil.example"},
    "wrong audience": lambda idp: {"aud": "https://other.app"},
    "unbound subject": lambda idp: {"sub": "some-other-client"},
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_bad_subject_tokens_are_refused_as_invalid_request(
    smith_bound: User, idp: LocalIdP, attack: str
) -> None:
    status, error, description = error_of(post_form(form(idp.token(**ATTACKS[attack](idp)))))
    assert (status, error) == (400, "invalid_request")
    assert description.startswith("subject token: ")


def test_a_forged_token_is_refused(smith_bound: User, idp: LocalIdP) -> None:
    idp.add_key("forger", "rsa", publish=False)
    forged = jwt.encode(
        idp.claims(), idp.keys["forger"], algorithm="RS256", headers={"kid": "rsa-1"}
    )
    assert error_of(post_form(form(forged))) == (
        400,
        "invalid_request",
        "subject token: token signature is invalid",
    )


def test_an_alg_none_token_is_refused(smith_bound: User, idp: LocalIdP) -> None:
    unsigned = jwt.encode(idp.claims(), None, algorithm="none", headers={"kid": "rsa-1"})
    assert error_of(post_form(form(unsigned)))[2] == "subject token: token algorithm not accepted"


def test_a_refusal_is_audited_without_the_token(smith_bound: User, idp: LocalIdP) -> None:
    token = idp.token(aud="https://other.app")
    post_form(form(token))
    event = AuditEvent.objects.get(action="token.exchange_refused")
    assert event.actor_kind == "anonymous"
    assert event.payload["error"] == "invalid_request"
    assert event.payload["reason"] == "subject token: token is for another audience"
    assert event.payload["issuer"] == "corp-idp"
    assert token not in str(event.payload)
    assert not AuditEvent.objects.filter(action="token.exchanged").exists()


def test_a_person_cannot_exchange(db: None, alice: User, api_key_of: Callable[[User], str]) -> None:
    status, error, description = error_of(post_form(form(api_key_of(alice), API_KEY_TOKEN_TYPE)))
    assert (status, error, description) == (
        400,
        "invalid_request",
        "token exchange is for service accounts",
    )


def test_a_revoked_or_made_up_api_key_is_refused(db: None) -> None:
    assert error_of(post_form(form("gh_000000000000_nope", API_KEY_TOKEN_TYPE)))[1] == (
        "invalid_request"
    )


def test_an_actor_token_of_an_unknown_person_is_refused(
    smith_bound: User, alice_linked: User, idp: LocalIdP
) -> None:
    stranger = idp.token(sub="not-linked", preferred_username="alice")
    response = post_form(form(idp.token(), actor_token=stranger, actor_token_type=ID_TOKEN_TYPE))
    assert error_of(response) == (
        400,
        "invalid_request",
        "actor token: actor token names no known person",
    )


def test_an_expired_actor_token_is_refused(
    smith_bound: User, alice_linked: User, idp: LocalIdP
) -> None:
    stale = idp.token(sub="alice-sub", iat=now() - 900, exp=now() - 300)
    response = post_form(form(idp.token(), actor_token=stale, actor_token_type=ID_TOKEN_TYPE))
    assert error_of(response)[2] == "actor token: token expired"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, "invalid_request"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({"grant_type": GRANT_TYPE, "subject_token": "x"}, "invalid_request"),
        (form("x", "urn:ietf:params:oauth:token-type:saml2"), "unsupported_token_type"),
        (form("x", actor_token="y"), "invalid_request"),
        (form("x", actor_token="y", actor_token_type="urn:x"), "unsupported_token_type"),
        (form("x", requested_token_type="urn:x"), "invalid_request"),
    ],
)
def test_malformed_requests_get_rfc_errors(db: None, body: dict, expected: str) -> None:
    assert error_of(post_form(body))[:2] == (400, expected)


def test_a_repeated_parameter_is_refused(db: None) -> None:
    body = [*form("x").items(), ("subject_token", "y")]
    assert error_of(post_form(body))[:2] == (400, "invalid_request")


def test_unparseable_json_is_an_rfc_error(db: None) -> None:
    response = APIClient().post(URL, "{nope", content_type="application/json")
    assert error_of(response)[:2] == (400, "invalid_request")


def test_an_authorization_header_is_ignored(smith_bound: User, idp: LocalIdP) -> None:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="ApiKey gh_bogus")
    response = api.post(
        URL, urlencode(form(idp.token())), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200


def test_only_service_accounts_act_for_active_people(
    db: None, agent_smith: User, alice: User, bob: User
) -> None:
    with pytest.raises(ValidationError):  # a person does not act for another person
        gateway_token_mint(actor=None, identity=alice, on_behalf_of=bob)
    with pytest.raises(ValidationError):  # an agent does not act for an agent
        gateway_token_mint(actor=None, identity=agent_smith, on_behalf_of=agent_smith)
    User.objects.filter(pk=alice.pk).update(is_active=False)
    alice.refresh_from_db()
    with pytest.raises(ValidationError):  # nor for someone disabled
        gateway_token_mint(actor=None, identity=agent_smith, on_behalf_of=alice)
