"""The console with an LLM resource: alice sees its protocol, and the gateway token she gets
for it comes with the HTTP listener's base URL and a curl line instead of a psql line."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from django.test import Client, override_settings

from controlplane.access.models import Grant
from controlplane.access.services import grant_create
from controlplane.agents.services import IssuedAgent
from controlplane.identities.models import User
from controlplane.policies.models import Policy
from controlplane.policies.services import PolicySpec, policy_set
from controlplane.resources.models import Resource
from controlplane.resources.services import resource_create
from controlplane.web.config import AgentAddress, agent_public_http_address_from_env

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def openai(edge: IssuedAgent) -> Resource:
    return resource_create(
        actor=None,
        name="openai",
        protocol="llm",
        host="api.openai.com",
        port=443,
        upstream_password="sk-never-shown",
        http_settings={"auth": "header", "llm_api": "openai"},
        agent=edge.agent,
    )


@pytest.fixture
def openai_policy(bob: User, developer_alice: User, openai: Resource) -> Policy:
    spec = PolicySpec(max_duration=timedelta(hours=1), requester_groups=["developers"])
    return policy_set(actor=bob, resource=openai, spec=spec)[0]


@pytest.fixture
def alice_on_openai(bob: User, developer_alice: User, openai: Resource) -> Grant:
    return grant_create(
        actor=bob, identity=developer_alice, resource=openai, duration=timedelta(minutes=5)
    )


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_resources_page_names_the_protocol(
    developer_alice: User, openai_policy: Policy
) -> None:
    page = signed_in(developer_alice).get("/resources/").content.decode()
    assert 'id="resource-openai"' in page
    assert "LLM API (OpenAI / Anthropic)" in page


@override_settings(GATEHOUSE_AGENT_PUBLIC_HTTP_ADDRESS=AgentAddress("gw.example.test", 8443))
def test_a_token_for_an_llm_resource_comes_with_its_base_url_and_a_curl_line(
    developer_alice: User, alice_on_openai: Grant
) -> None:
    client = signed_in(developer_alice)
    assert "(LLM API (OpenAI / Anthropic))" in client.get("/access/").content.decode()
    page = client.post("/access/token", {"resource": "openai"}, **HTMX).content.decode()

    assert "psql" not in page and "sk-never-shown" not in page
    assert "<code>https://gw.example.test:8443/openai/</code>" in page
    start = page.index("Bearer ") + len("Bearer ")
    token = page[start : page.index('"', start)]
    assert jwt.decode(token, options={"verify_signature": False})["name"] == "alice"
    assert "https://gw.example.test:8443/openai/</textarea>" in page


def test_the_http_address_defaults_and_brackets_ipv6(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEHOUSE_AGENT_PUBLIC_HTTP_ADDRESS", raising=False)
    assert agent_public_http_address_from_env() == AgentAddress("127.0.0.1", 8443)
    monkeypatch.setenv("GATEHOUSE_AGENT_PUBLIC_HTTP_ADDRESS", "[::1]:9443")
    assert agent_public_http_address_from_env() == AgentAddress("::1", 9443)
