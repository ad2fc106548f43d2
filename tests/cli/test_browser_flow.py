"""The authorization code grant with PKCE for the command line, its code exchanged at a real
local HTTP server playing the provider's token endpoint."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from cli.browser_flow import (
    BrowserFlow,
    BrowserFlowError,
    IllegalTransition,
    Pkce,
    State,
    pkce_challenge,
)
from cli.provider import ProviderMetadata
from tests.cli.conftest import ScriptedServer

ISSUER = "https://idp.example"
REDIRECT_URI = "http://127.0.0.1:49152/callback"
EXPIRES_AT = 2_000_000_000


def unsigned_jwt(**claims: Any) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part({'exp': EXPIRES_AT, **claims})}.sig"


TOKENS = {
    "id_token": unsigned_jwt(sub="alice"),
    "access_token": "at-1",
    "refresh_token": "rt-1",
    "token_type": "Bearer",
}


def flow_for(scripted: ScriptedServer, *, scopes: str = "openid groups") -> BrowserFlow:
    provider = ProviderMetadata(
        issuer=ISSUER,
        authorization_endpoint=ISSUER + "/auth",
        token_endpoint=scripted.url + "/token",
    )
    return BrowserFlow(client_id="gatehouse-cli", scopes=scopes, provider=provider)


def authorization_query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def started(scripted: ScriptedServer, **kwargs: Any) -> tuple[BrowserFlow, dict[str, str]]:
    flow = flow_for(scripted, **kwargs)
    return flow, authorization_query(flow.start(REDIRECT_URI))


def test_the_s256_challenge_is_rfc_7636s_example() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 Appendix B
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_every_sign_in_gets_a_new_verifier_of_allowed_length() -> None:
    first, second = Pkce.new(), Pkce.new()
    assert first.verifier != second.verifier
    assert 43 <= len(first.verifier) <= 128
    assert first.verifier not in repr(first)


def test_the_authorization_url_asks_for_a_code_with_pkce_and_state(
    scripted: ScriptedServer,
) -> None:
    flow, query = started(scripted)

    assert flow.state is State.WAITING
    assert query["response_type"] == "code"
    assert query["client_id"] == "gatehouse-cli"
    assert query["redirect_uri"] == REDIRECT_URI
    assert query["scope"] == "openid groups"
    assert query["code_challenge_method"] == "S256"
    assert len(query["state"]) >= 32 and len(query["code_challenge"]) == 43
    assert "prompt" not in query


def test_asking_for_offline_access_asks_for_consent(scripted: ScriptedServer) -> None:
    _, query = started(scripted, scopes="openid offline_access")
    assert query["prompt"] == "consent"


def test_finishing_exchanges_the_code_with_the_verifier_for_tokens(
    scripted: ScriptedServer,
) -> None:
    scripted.routes[("POST", "/token")] = (200, TOKENS)
    flow, query = started(scripted)

    tokens = flow.finish({"code": "code-1", "state": query["state"], "iss": ISSUER})

    assert flow.state is State.SIGNED_IN
    assert tokens.id_token == TOKENS["id_token"] and tokens.refresh_token == "rt-1"
    assert tokens.expires_at == EXPIRES_AT
    exchange = scripted.requests_to("/token")[0].body
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["code"] == "code-1" and exchange["redirect_uri"] == REDIRECT_URI
    assert exchange["client_id"] == "gatehouse-cli" and "client_secret" not in exchange
    assert pkce_challenge(exchange["code_verifier"]) == query["code_challenge"]


@pytest.mark.parametrize(
    ("answer", "message"),
    [({"code": "c", "state": "forged"}, "state mismatch"),
     ({"code": "c", "state": ""}, "state mismatch"),
     ({"error": "access_denied"}, "refused at the identity provider"),
     ({"error": "invalid_scope", "error_description": "bad scope"}, "answered: bad scope"),
     ({"code": "c", "iss": "https://evil.example"}, "not https://idp.example"),
     ({}, "no authorization code")],
)  # fmt: skip
def test_a_redirect_that_is_not_a_good_answer_fails_without_an_exchange(
    scripted: ScriptedServer, answer: dict[str, str], message: str
) -> None:
    flow, query = started(scripted)
    answer = {"state": query["state"], **answer}

    with pytest.raises(BrowserFlowError, match=message):
        flow.finish(answer)
    assert flow.state is State.FAILED
    assert not scripted.requests_to("/token")


def test_a_code_the_provider_refuses_fails_the_sign_in(scripted: ScriptedServer) -> None:
    refusal = {"error": "invalid_grant", "error_description": "grant request is invalid"}
    scripted.routes[("POST", "/token")] = (400, refusal)
    flow, query = started(scripted)

    with pytest.raises(BrowserFlowError, match="refused the sign-in code: grant request"):
        flow.finish({"code": "c", "state": query["state"]})


def test_tokens_without_an_id_token_are_refused(scripted: ScriptedServer) -> None:
    scripted.routes[("POST", "/token")] = (200, {"access_token": "at", "token_type": "Bearer"})
    flow, query = started(scripted)
    with pytest.raises(BrowserFlowError, match="no ID token"):
        flow.finish({"code": "c", "state": query["state"]})


def test_a_provider_without_an_authorization_endpoint_is_refused(
    scripted: ScriptedServer,
) -> None:
    provider = ProviderMetadata(issuer=ISSUER, token_endpoint=scripted.url + "/token")
    flow = BrowserFlow(client_id="gatehouse-cli", scopes="openid", provider=provider)
    with pytest.raises(BrowserFlowError, match="no authorization endpoint"):
        flow.start(REDIRECT_URI)


def test_steps_out_of_order_are_illegal_transitions(scripted: ScriptedServer) -> None:
    flow = flow_for(scripted)
    with pytest.raises(IllegalTransition):
        flow.finish({"code": "c", "state": "s"})
    flow.start(REDIRECT_URI)
    with pytest.raises(IllegalTransition):
        flow.start(REDIRECT_URI)
