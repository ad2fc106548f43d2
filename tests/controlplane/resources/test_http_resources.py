"""HTTP and LLM resources: registered through the API with their http settings; the API key
is write-only like a database password, and settings the agent could not read are refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from controlplane.agents.revision import config_revision_current
from controlplane.agents.services import IssuedAgent
from controlplane.audit.models import AuditEvent
from controlplane.identities.models import User
from controlplane.resources.models import Resource
from controlplane.resources.selectors import resource_get, resource_upstream_password
from controlplane.resources.services import resource_create, resource_update

ClientAs = Callable[[User | None], APIClient]

API_KEY = "sk-test-not-a-real-key"

LLM_BODY: dict[str, Any] = {
    "name": "openai",
    "protocol": "llm",
    "host": "api.openai.com",
    "port": 443,
    "upstream_password": API_KEY,
    "agent": "edge-1",
    "http": {
        "auth": "header",
        "llm_api": "openai",
        "prompt_privacy": "reversible",
        "budget_tokens": 100000,
    },
}

HTTP_BODY: dict[str, Any] = {
    "name": "github",
    "protocol": "http",
    "host": "api.github.com",
    "port": 443,
    "upstream_password": "ghp-token",
    "agent": "edge-1",
    "http": {
        "auth": "header",
        "read_only": True,
        "allow": [{"path": "/repos/*", "methods": ["get"]}],
        "deny": [{"path": "/repos/*/actions/*"}],
    },
}


@pytest.fixture
def api(client_as: ClientAs, bob: User, edge: IssuedAgent) -> APIClient:
    return client_as(bob)


def test_an_llm_resource_is_created_with_its_settings_and_the_key_is_never_shown(
    api: APIClient,
) -> None:
    created = api.post("/api/v1/resources", LLM_BODY, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["protocol"], body["database"], body["upstream_user"]) == ("llm", "", "")
    assert body["http"] == LLM_BODY["http"]
    for response in (created, api.get("/api/v1/resources"), api.get("/api/v1/resources/openai")):
        assert API_KEY not in response.content.decode()
        assert "upstream_password" not in response.json()
    assert resource_upstream_password(resource=resource_get(name="openai")) == API_KEY


def test_an_http_resource_keeps_its_routes_as_sent(api: APIClient) -> None:
    created = api.post("/api/v1/resources", HTTP_BODY, format="json")
    assert created.status_code == 201, created.content
    assert api.get("/api/v1/resources/github").json()["http"] == HTTP_BODY["http"]


def test_an_http_resource_without_auth_needs_no_key_and_no_settings(api: APIClient) -> None:
    body = {k: v for k, v in HTTP_BODY.items() if k not in ("upstream_password", "http")}
    created = api.post("/api/v1/resources", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["http"] == {}
    assert resource_upstream_password(resource=resource_get(name="github")) == ""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"http": {"auth": "header"}}, "llm_api"),
        ({"http": {"llm_api": "gemini"}}, "gemini"),
        ({"http": {"llm_api": "openai", "colour": "blue"}}, "colour"),
        ({"http": {"llm_api": "openai", "read_only": "false"}}, "read_only"),
        ({"http": {"llm_api": "openai", "budget_tokens": -1}}, "budget_tokens"),
        ({"http": {"llm_api": "openai", "scheme": "ftp"}}, "scheme"),
        ({"http": {"llm_api": "openai", "auth": "oauth_client_credentials"}}, "token_url"),
        ({"http": {"llm_api": "openai", "allow": [{"methods": ["GET"]}]}}, "route"),
        ({"http": {"llm_api": "openai", "base_path": "api"}}, "base_path"),
    ],
)
def test_llm_settings_the_agent_could_not_read_are_a_bad_request_naming_http(
    api: APIClient, change: dict[str, Any], message: str
) -> None:
    response = api.post("/api/v1/resources", {**LLM_BODY, **change}, format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()["http"])
    assert not Resource.objects.filter(name="openai").exists()


def test_llm_api_belongs_to_llm_resources_only(api: APIClient) -> None:
    body = {**HTTP_BODY, "http": {"llm_api": "openai"}}
    response = api.post("/api/v1/resources", body, format="json")
    assert response.status_code == 400
    assert "llm" in " ".join(response.json()["http"])


def test_http_settings_must_be_an_object(api: APIClient) -> None:
    response = api.post("/api/v1/resources", {**HTTP_BODY, "http": ["GET"]}, format="json")
    assert response.status_code == 400
    assert "http" in response.json()


def test_a_postgres_resource_still_needs_a_database_and_user_and_has_no_http_settings(
    api: APIClient,
) -> None:
    body = {"name": "appdb", "protocol": "postgres", "host": "db", "port": 5432}
    response = api.post("/api/v1/resources", {**body, "agent": "edge-1"}, format="json")
    assert response.status_code == 400
    assert {"database", "upstream_user"} <= set(response.json())
    full = {**body, "agent": "edge-1", "database": "app", "upstream_user": "app_owner"}
    response = api.post("/api/v1/resources", {**full, "http": {"read_only": True}}, format="json")
    assert response.status_code == 400
    assert "http" in response.json()


def test_ephemeral_credentials_are_refused_for_http_resources(api: APIClient) -> None:
    body = {
        **HTTP_BODY,
        "credential_mode": "ephemeral",
        "access_levels": [{"name": "read", "upstream_role": "reader"}],
    }
    response = api.post("/api/v1/resources", body, format="json")
    assert response.status_code == 400
    assert "credential_mode" in response.json()


def test_patch_replaces_the_settings_and_rotates_the_key(api: APIClient) -> None:
    api.post("/api/v1/resources", LLM_BODY, format="json")
    settings = {"auth": "header", "llm_api": "anthropic", "auth_header": "x-api-key"}
    response = api.patch(
        "/api/v1/resources/openai",
        {"http": settings, "upstream_password": "sk-rotated"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["http"] == settings
    assert "sk-rotated" not in response.content.decode()
    resource = resource_get(name="openai")
    assert resource_upstream_password(resource=resource) == "sk-rotated"
    changed = AuditEvent.objects.filter(action="resource.updated").latest("id").payload["changed"]
    assert set(changed) == {"http_settings", "upstream_password"}


def test_a_patch_with_bad_settings_changes_nothing(api: APIClient) -> None:
    api.post("/api/v1/resources", LLM_BODY, format="json")
    response = api.patch("/api/v1/resources/openai", {"http": {"llm_api": ""}}, format="json")
    assert response.status_code == 400
    assert "http" in response.json()
    assert resource_get(name="openai").http_settings == LLM_BODY["http"]


def test_creating_an_http_resource_bumps_the_revision_and_audits_without_the_key(
    edge: IssuedAgent,
) -> None:
    before = config_revision_current()
    resource_create(
        actor=None,
        name="openai",
        protocol="llm",
        host="api.openai.com",
        port=443,
        upstream_password=API_KEY,
        http_settings={"auth": "header", "llm_api": "openai"},
        agent=edge.agent,
    )
    assert config_revision_current() == before + 1
    event = AuditEvent.objects.get(action="resource.created", resource="openai")
    assert event.payload["http_settings"] == {"auth": "header", "llm_api": "openai"}
    assert API_KEY not in repr(list(AuditEvent.objects.values()))


def test_switching_a_database_to_http_needs_its_settings_to_fit(
    edge: IssuedAgent, appdb: Resource
) -> None:
    with pytest.raises(ValidationError, match="llm_api"):
        resource_update(actor=None, resource=appdb, data={"protocol": "llm"})
    resource_update(
        actor=None,
        resource=appdb,
        data={"protocol": "llm", "http_settings": {"llm_api": "openai"}},
    )
    assert resource_get(name="appdb").protocol == "llm"
