"""End to end: an AI agent exchanges its IdP client-credentials token, together with the
token of the person who launched it, for a gateway token; every statement it runs through
the agent is audited as agent-smith acting on behalf of alice."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import jwt
import psycopg
import pytest

from devstack.oidc_provider import (
    GATEHOUSE_AUDIENCE,
    SERVICE_CLIENT_ID,
    OidcProvider,
    service_account_client,
)
from tests.controlplane.federation.local_idp import AUDIENCE, CLIENT_ID, LocalIdP
from tests.integration.conftest import AI_ACCOUNT, Gateway

pytestmark = pytest.mark.integration

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
ALICE_SUBJECT = "alice-at-idp"

# alice signed in through the IdP once before: her OIDC sign-in linked (iss, sub) to her.
_ALICE_SIGNED_IN = """
from controlplane.identities.models import ExternalIdentity, User
alice = User.objects.create_user(username="alice", email="alice@example.com")
ExternalIdentity.objects.create(issuer={issuer!r}, subject={subject!r}, user=alice)
"""


@pytest.fixture(scope="module")
def idp(gateway: Gateway) -> Iterator[LocalIdP]:
    with LocalIdP() as running:
        gateway.cp.api(
            "POST",
            "/api/v1/trusted-issuers",
            {
                "name": "corp-idp",
                "issuer": running.issuer,
                "audience": AUDIENCE,
                "algorithms": ["RS256", "ES256"],
                "jwks_url": running.jwks_url,
            },
        )
        gateway.cp.api(
            "POST",
            "/api/v1/trusted-issuers/corp-idp/bindings",
            {"subject": CLIENT_ID, "service_account": AI_ACCOUNT},
        )
        gateway.cp.manage(
            "shell", "-c", _ALICE_SIGNED_IN.format(issuer=running.issuer, subject=ALICE_SUBJECT)
        )
        yield running


def token_exchange(gateway: Gateway, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        gateway.cp.url + "/api/v1/token-exchange",
        data=urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_statements_are_audited_as_the_agent_on_behalf_of_alice(
    gateway: Gateway, idp: LocalIdP
) -> None:
    status, body = token_exchange(
        gateway,
        {
            "grant_type": GRANT_TYPE,
            "subject_token": idp.token(),
            "subject_token_type": ACCESS_TOKEN,
            "actor_token": idp.token(kid="ec-1", sub=ALICE_SUBJECT, client_id="gatehouse-cli"),
            "actor_token_type": ID_TOKEN,
        },
    )
    assert status == 200, body
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (claims["name"], claims["act"]["name"]) == (AI_ACCOUNT, "alice")

    with psycopg.connect(gateway.dsn(token=body["access_token"])) as conn:
        conn.execute("select 'on behalf of alice'")

    def acted_for_alice(events: list[dict[str, Any]]) -> bool:
        return any("on behalf of alice" in e["payload"].get("statement", "") for e in events)

    events = gateway.wait_for_events(acted_for_alice, on_behalf_of="alice")
    statement = next(e for e in events if acted_for_alice([e]))
    assert statement["actor_name"] == AI_ACCOUNT
    assert statement["on_behalf_of"]["name"] == "alice"
    assert statement["on_behalf_of"]["kind"] == "user"
    session_events = gateway.events(session=statement["session"])
    assert {e["action"] for e in session_events} >= {"session.start", "statement"}
    assert all(e["on_behalf_of"] and e["on_behalf_of"]["name"] == "alice" for e in session_events)
    exchanged = gateway.events(action="token.exchanged", on_behalf_of="alice")
    assert exchanged and exchanged[-1]["actor_name"] == AI_ACCOUNT


def test_the_agent_connects_without_a_human(gateway: Gateway, idp: LocalIdP) -> None:
    status, body = token_exchange(
        gateway,
        {
            "grant_type": GRANT_TYPE,
            "subject_token": idp.token(),
            "subject_token_type": ACCESS_TOKEN,
        },
    )
    assert status == 200, body
    with psycopg.connect(gateway.dsn(token=body["access_token"])) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


def test_a_token_for_another_audience_is_refused_and_audited(
    gateway: Gateway, idp: LocalIdP
) -> None:
    status, body = token_exchange(
        gateway,
        {
            "grant_type": GRANT_TYPE,
            "subject_token": idp.token(aud="https://other.app"),
            "subject_token_type": ACCESS_TOKEN,
        },
    )
    assert (status, body["error"]) == (400, "invalid_request")
    refusals = gateway.events(action="token.exchange_refused")
    assert refusals[-1]["payload"]["reason"] == "subject token: token is for another audience"


def test_a_client_credentials_token_from_the_openid_provider_is_exchanged(
    gateway: Gateway, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The real `oidc-provider`: its JWKS is found by discovery, its RS256 access token for
    the client-credentials client bound to agent-smith becomes a working gateway token."""
    client = service_account_client()
    with OidcProvider(tmp_path_factory.mktemp("oidc"), clients=[client]) as provider:
        gateway.cp.api(
            "POST",
            "/api/v1/trusted-issuers",
            {
                "name": "oidc-provider",
                "issuer": provider.issuer,
                "audience": GATEHOUSE_AUDIENCE,
                "algorithms": ["RS256", "PS256", "ES256", "EdDSA"],
            },
        )
        gateway.cp.api(
            "POST",
            "/api/v1/trusted-issuers/oidc-provider/bindings",
            {"subject": SERVICE_CLIENT_ID, "service_account": AI_ACCOUNT},
        )
        status, body = token_exchange(
            gateway,
            {
                "grant_type": GRANT_TYPE,
                "subject_token": provider.client_credentials_token(),
                "subject_token_type": ACCESS_TOKEN,
            },
        )
    assert status == 200, body
    with psycopg.connect(gateway.dsn(token=body["access_token"])) as conn:
        assert conn.execute("select current_user is not null").fetchone() == (True,)
    exchanged = gateway.events(action="token.exchanged")
    assert exchanged[-1]["payload"]["issuer"] == "oidc-provider"
    assert exchanged[-1]["payload"]["external_subject"] == SERVICE_CLIENT_ID
