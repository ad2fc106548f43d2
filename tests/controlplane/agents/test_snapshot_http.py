"""An agent's snapshot carries its http and llm resources' settings, which the agent's own
contract reader reads back unchanged."""

from __future__ import annotations

from controlplane.agents.services import IssuedAgent
from controlplane.agents.snapshot import agent_snapshot_build
from controlplane.resources.models import Resource
from controlplane.resources.services import resource_create
from dataplane.contract import HttpAuth, HttpRoute, HttpSettings, LlmApi, PromptPrivacy, Snapshot


def _llm_resource(edge: IssuedAgent) -> Resource:
    return resource_create(
        actor=None,
        name="openai",
        protocol="llm",
        host="api.openai.com",
        port=443,
        upstream_password="sk-snapshot",
        http_settings={
            "auth": "header",
            "llm_api": "openai",
            "prompt_privacy": "reversible",
            "allow": [{"path": "/v1/*", "methods": ["post"]}],
            "budget_tokens": 5000,
        },
        agent=edge.agent,
    )


def test_an_llm_resource_reaches_the_agent_with_its_settings_and_key(edge: IssuedAgent) -> None:
    _llm_resource(edge)
    (spec,) = agent_snapshot_build(agent=edge.agent).resources
    assert (spec.protocol, spec.host, spec.port, spec.database) == (
        "llm",
        "api.openai.com",
        443,
        "",
    )
    assert spec.upstream_password == "sk-snapshot"
    assert spec.http == HttpSettings(
        auth=HttpAuth.HEADER,
        llm_api=LlmApi.OPENAI,
        prompt_privacy=PromptPrivacy.REVERSIBLE,
        allow=(HttpRoute(path="/v1/*", methods=("POST",)),),
        budget_tokens=5000,
    )


def test_the_snapshot_with_http_settings_round_trips_the_contract_reader(
    edge: IssuedAgent, appdb: Resource
) -> None:
    _llm_resource(edge)
    snapshot = agent_snapshot_build(agent=edge.agent)
    read_back = Snapshot.from_dict(snapshot.to_dict())
    assert read_back == snapshot
    by_name = {spec.name: spec for spec in read_back.resources}
    assert by_name["openai"].http is not None
    assert by_name["openai"].http.llm_api == "openai"
    assert by_name["appdb"].http is None


def test_an_http_resource_without_settings_gets_the_contracts_defaults(edge: IssuedAgent) -> None:
    resource_create(
        actor=None,
        name="status",
        protocol="http",
        host="status.internal",
        port=8080,
        agent=edge.agent,
    )
    (spec,) = agent_snapshot_build(agent=edge.agent).resources
    assert spec.http == HttpSettings()
    assert spec.upstream_password == ""
