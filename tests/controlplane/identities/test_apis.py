"""REST: tokens for any authenticated caller; service accounts for administrators."""

from __future__ import annotations

from collections.abc import Callable

import jwt
import pytest
from rest_framework.test import APIClient

from controlplane.identities.models import ApiKey, User
from controlplane.identities.services import api_key_authenticate

ClientAs = Callable[[User | None], APIClient]


def test_a_service_account_gets_a_bearer_token_for_itself(
    client_as: ClientAs, agent_smith: User
) -> None:
    response = client_as(agent_smith).post("/api/v1/tokens", {}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert jwt.decode(body["token"], options={"verify_signature": False})["sub"] == str(
        agent_smith.pk
    )
    assert body["expires_at"]


def test_a_requested_ttl_is_used(client_as: ClientAs, alice: User) -> None:
    response = client_as(alice).post("/api/v1/tokens", {"ttl_seconds": 120}, format="json")
    claims = jwt.decode(response.json()["token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 120


def test_an_administrator_may_mint_for_another_identity(
    client_as: ClientAs, bob: User, agent_smith: User
) -> None:
    response = client_as(bob).post("/api/v1/tokens", {"identity": "agent-smith"}, format="json")
    assert response.status_code == 201
    claims = jwt.decode(response.json()["token"], options={"verify_signature": False})
    assert claims["name"] == "agent-smith"


def test_a_user_may_not_mint_for_someone_else(
    client_as: ClientAs, alice: User, agent_smith: User
) -> None:
    response = client_as(alice).post("/api/v1/tokens", {"identity": "agent-smith"}, format="json")
    assert response.status_code == 403


def test_minting_for_an_unknown_identity_is_a_bad_request(client_as: ClientAs, bob: User) -> None:
    response = client_as(bob).post("/api/v1/tokens", {"identity": "nobody"}, format="json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "authorization",
    [None, "ApiKey gh_000000000000_nope", "ApiKey", "Bearer something", "ApiKey a b"],
)
def test_tokens_need_a_valid_api_key(db: None, authorization: str | None) -> None:
    api = APIClient()
    if authorization:
        api.credentials(HTTP_AUTHORIZATION=authorization)
    response = api.post("/api/v1/tokens", {}, format="json")
    assert response.status_code in (401, 403)
    if authorization is None or authorization.startswith("ApiKey"):
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "ApiKey"


def test_an_administrator_creates_a_service_account_and_sees_its_key_once(
    client_as: ClientAs, bob: User
) -> None:
    api = client_as(bob)
    created = api.post("/api/v1/service-accounts", {"name": "agent-smith"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "agent-smith" and body["kind"] == "service_account"
    assert api_key_authenticate(presented=body["api_key"]).user.username == "agent-smith"
    listed = api.get("/api/v1/service-accounts").json()
    assert [a["name"] for a in listed["results"]] == ["agent-smith"]
    assert "api_key" not in listed["results"][0]
    assert listed["results"][0]["api_key_count"] == 1


def test_a_duplicate_service_account_is_a_bad_request(
    client_as: ClientAs, bob: User, agent_smith: User
) -> None:
    response = client_as(bob).post(
        "/api/v1/service-accounts", {"name": "agent-smith"}, format="json"
    )
    assert response.status_code == 400
    assert "username" in response.json()


def test_an_administrator_issues_another_key_for_a_service_account(
    client_as: ClientAs, bob: User, agent_smith: User
) -> None:
    response = client_as(bob).post("/api/v1/service-accounts/agent-smith/api-keys", format="json")
    assert response.status_code == 201
    body = response.json()
    assert api_key_authenticate(presented=body["api_key"]).user == agent_smith
    assert ApiKey.objects.filter(user=agent_smith).count() == 2


def test_keys_are_issued_only_for_service_accounts(
    client_as: ClientAs, bob: User, alice: User
) -> None:
    assert client_as(bob).post("/api/v1/service-accounts/alice/api-keys").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/service-accounts"),
        ("post", "/api/v1/service-accounts"),
        ("post", "/api/v1/service-accounts/agent-smith/api-keys"),
    ],
)
def test_non_administrators_may_not_manage_service_accounts(
    client_as: ClientAs, alice: User, agent_smith: User, method: str, path: str
) -> None:
    assert getattr(client_as(alice), method)(path, {"name": "x"}, format="json").status_code == 403
    assert (
        getattr(client_as(agent_smith), method)(path, {"name": "x"}, format="json").status_code
        == 403
    )
    assert getattr(client_as(None), method)(path, {"name": "x"}, format="json").status_code == 401
