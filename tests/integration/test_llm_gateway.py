"""End to end: AI agents call models through the gateway with the official openai and
anthropic SDKs. Their gateway token goes in; the provider's key comes out; prompts are
masked (one way, or reversibly with the real values given back); budgets and rate limits
answer 429 in the provider's shape; every call is an `llm.call` audit event that names the
agent and the person it acts for and holds no raw PII.

One stack for the module: the fake provider (devstack/model_upstream), a control plane, an
agent with a plaintext HTTP listener, and one llm resource per behaviour under test."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from devstack.gatehouse import Agent, ControlPlane
from devstack.model_upstream import ModelUpstream
from devstack.model_upstream.behaviour import SLOW_STREAM_GAP_S
from devstack.ports import free_port

pytestmark = pytest.mark.integration

ACCOUNT = "agent-smith"
AGENT = "edge-llm"
EMAIL, PHONE = "alice.smith@example.com", "415-555-0134"
PII_PROMPT = f"Please email {EMAIL} or call {PHONE} about the invoice"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
ANTHROPIC_TOOL = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
OPENAI_KEY = {"auth": "header", "scheme": "http", "llm_api": "openai"}
ANTHROPIC_KEY = {
    "auth": "header",
    "scheme": "http",
    "llm_api": "anthropic",
    "auth_header": "x-api-key",
    "auth_value_prefix": "",
}
RESOURCES: dict[str, dict[str, Any]] = {
    "gpt": {**OPENAI_KEY, "prompt_privacy": "mask"},
    "gpt-reversible": {**OPENAI_KEY, "prompt_privacy": "reversible"},
    "gpt-budget": {**OPENAI_KEY, "budget_calls": 2},
    "gpt-rate": {**OPENAI_KEY, "rate_limit_per_minute": 1},
    "gpt-timeout": {**OPENAI_KEY, "timeout_s": 1},
    "claude": {**ANTHROPIC_KEY, "prompt_privacy": "mask"},
    "claude-reversible": {**ANTHROPIC_KEY, "prompt_privacy": "reversible"},
    "claude-timeout": {**ANTHROPIC_KEY, "timeout_s": 1},
}

_MINT_ON_BEHALF_OF = """
from controlplane.identities.models import User
from controlplane.identities.tokens import gateway_token_mint
alice = User.objects.create_user(username="alice", email="alice@example.com")
agent = User.objects.get(username={account!r})
print(gateway_token_mint(actor=None, identity=agent, on_behalf_of=alice).token)
"""


@dataclass
class LlmStack:
    upstream: ModelUpstream
    cp: ControlPlane
    agent: Agent
    token: str  # the service account's gateway token
    alice_token: str  # the same account acting on behalf of alice

    def base_url(self, resource: str) -> str:
        return f"http://127.0.0.1:{self.agent.http_port}/{resource}"

    def gpt(self, resource: str = "gpt", token: str | None = None) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=self.base_url(resource) + "/v1", api_key=token or self.token, max_retries=0
        )

    def claude(self, resource: str = "claude") -> anthropic.Anthropic:
        return anthropic.Anthropic(
            base_url=self.base_url(resource), api_key=self.token, max_retries=0
        )

    def upstream_bodies(self) -> list[str]:
        return [r["body"] for r in self.upstream.received()]

    def llm_calls(self, resource: str, marker: str, count: int = 1) -> list[dict[str, Any]]:
        """The llm.call events on `resource` whose prompt holds `marker` (waits for them)."""
        deadline = time.monotonic() + 15
        while True:
            events = self.cp.audit_events(action="llm.call", resource=resource)
            found = [e for e in events if marker in e["payload"].get("prompt", "")]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no llm.call with {marker!r} on {resource}: {events[-5:]}")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlmStack]:
    root: Path = tmp_path_factory.mktemp("llm-gateway")
    with ModelUpstream(root / "upstream") as upstream:
        cp = ControlPlane(root / "controlplane")
        cp.bootstrap()
        cp.start()
        agent: Agent | None = None
        try:
            key = cp.api("POST", "/api/v1/service-accounts", {"name": ACCOUNT})["api_key"]
            agent_token = cp.api("POST", "/api/v1/agents", {"name": AGENT})["token"]
            for name, settings in RESOURCES.items():
                _llm_resource(cp, upstream, name, settings)
            agent = Agent(
                root / "agent",
                control_plane_url=cp.url,
                token=agent_token,
                http_port=free_port(),
                allow_plaintext=True,
            ).start()
            token = cp.api("POST", "/api/v1/tokens", {}, api_key=key)["token"]
            alice_token = cp.manage("shell", "-c", _MINT_ON_BEHALF_OF.format(account=ACCOUNT))
            yield LlmStack(upstream, cp, agent, token, alice_token.strip().splitlines()[-1])
        finally:
            if agent is not None:
                agent.stop()
            cp.stop()


def _llm_resource(
    cp: ControlPlane, upstream: ModelUpstream, name: str, settings: dict[str, Any]
) -> None:
    cp.api(
        "POST",
        "/api/v1/resources",
        {
            "name": name,
            "protocol": "llm",
            "agent": AGENT,
            "host": "127.0.0.1",
            "port": upstream.port,
            "database": "",
            "upstream_user": "",
            "upstream_password": upstream.api_key,
            "http": settings,
        },
    )
    cp.api(
        "POST",
        "/api/v1/grants",
        {"identity": ACCOUNT, "resource": name, "duration_seconds": 3600, "reason": "llm tests"},
    )


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


# Chat, streaming, tools


def test_a_chat_completion_goes_through_with_the_provider_key_injected(stack: LlmStack) -> None:
    stack.upstream.clear()
    completion = stack.gpt().chat.completions.create(
        model="gpt-4o-mini", messages=user("hello marker-chat")
    )
    assert completion.choices[0].message.content == "Echo: hello marker-chat"
    (request,) = stack.upstream.received()
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == f"Bearer {stack.upstream.api_key}"
    assert stack.token not in json.dumps(request)
    (event,) = stack.llm_calls("gpt", "marker-chat")
    payload = event["payload"]
    assert event["actor_name"] == ACCOUNT
    assert (payload["api"], payload["model"], payload["stream"]) == (
        "openai.chat",
        "gpt-4o-mini",
        False,
    )
    assert payload["completion"] == "Echo: hello marker-chat"
    assert (payload["input_tokens"], payload["output_tokens"]) == (
        completion.usage.prompt_tokens,  # type: ignore[union-attr]
        completion.usage.completion_tokens,  # type: ignore[union-attr]
    )
    assert payload["finish_reason"] == "stop"


def test_a_stream_reaches_the_caller_chunk_by_chunk(stack: LlmStack) -> None:
    arrivals: list[float] = []
    text = ""
    stream = stack.gpt().chat.completions.create(
        model="gpt-slow-stream",
        messages=user("one two three marker-slow"),
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic())
            text += chunk.choices[0].delta.content
    assert text == "Echo: one two three marker-slow"
    assert len(arrivals) >= 5
    # The upstream waits between chunks: relayed as they come, the first arrives at least
    # one of those waits before the last (held to the end, they would arrive together).
    assert arrivals[-1] - arrivals[0] >= SLOW_STREAM_GAP_S
    (event,) = stack.llm_calls("gpt", "marker-slow")
    assert event["payload"]["stream"] is True
    assert event["payload"]["completion"] == text
    assert event["payload"]["output_tokens"] == 5
    assert event["payload"]["time_to_first_chunk_ms"] is not None


def test_tool_calls_come_back_and_are_audited_streamed_or_not(stack: LlmStack) -> None:
    gpt = stack.gpt()
    ask = user("What is the weather in Paris? marker-tool")
    completion = gpt.chat.completions.create(
        model="gpt-4o",
        messages=ask,
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    )
    call = completion.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert (call.function.name, json.loads(call.function.arguments)) == (  # type: ignore[union-attr]
        "get_weather",
        {"city": "Paris"},
    )
    arguments = ""
    for chunk in gpt.chat.completions.create(
        model="gpt-4o",
        messages=ask,
        tools=[WEATHER_TOOL],
        stream=True,  # type: ignore[list-item]
    ):
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            arguments += (delta.function.arguments or "") if delta.function else ""
    assert json.loads(arguments) == {"city": "Paris"}
    events = stack.llm_calls("gpt", "marker-tool", count=2)
    for event in events:
        (tool,) = event["payload"]["tool_calls"]
        assert tool["name"] == "get_weather"
        assert json.loads(tool["arguments"]) == {"city": "Paris"}
        assert event["payload"]["finish_reason"] == "tool_calls"


def test_anthropic_messages_stream_and_tools_go_through_with_its_own_key(stack: LlmStack) -> None:
    claude = stack.claude()
    stack.upstream.clear()
    message = claude.messages.create(
        model="claude-sonnet-4-6", max_tokens=100, messages=user("hi marker-claude")
    )
    assert message.content[0].text == "Echo: hi marker-claude"  # type: ignore[union-attr]
    (request,) = stack.upstream.received()
    assert request["headers"]["x-api-key"] == stack.upstream.api_key
    assert stack.token not in json.dumps(request)
    with claude.messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=100,
        messages=user("What is the weather in Oslo? marker-claude"),
        tools=[ANTHROPIC_TOOL],  # type: ignore[list-item]
    ) as stream:
        final = stream.get_final_message()
    tool_use = next(b for b in final.content if b.type == "tool_use")
    assert (tool_use.name, tool_use.input) == ("get_weather", {"city": "Oslo"})
    plain, streamed = stack.llm_calls("claude", "marker-claude", count=2)
    assert plain["payload"]["api"] == "anthropic.messages"
    assert plain["payload"]["completion"] == "Echo: hi marker-claude"
    assert plain["payload"]["finish_reason"] == "end_turn"
    assert streamed["payload"]["stream"] is True
    assert streamed["payload"]["tool_calls"][0]["name"] == "get_weather"
    assert streamed["payload"]["input_tokens"] == final.usage.input_tokens
    assert streamed["payload"]["output_tokens"] == final.usage.output_tokens


# Prompt privacy


def test_mask_mode_keeps_pii_from_the_provider_and_the_audit_trail(stack: LlmStack) -> None:
    stack.upstream.clear()
    completion = stack.gpt().chat.completions.create(
        model="gpt-4o-mini", messages=user(f"{PII_PROMPT} marker-mask")
    )
    answer = completion.choices[0].message.content or ""
    assert "[EMAIL_ADDRESS]" in answer and EMAIL not in answer
    bodies = stack.upstream_bodies()
    assert bodies and all(EMAIL not in b and PHONE not in b for b in bodies)
    (event,) = stack.llm_calls("gpt", "marker-mask")
    assert EMAIL not in json.dumps(event) and PHONE not in json.dumps(event)
    assert event["payload"]["prompt_masked"] == {"EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1}


def test_reversible_mode_gives_the_caller_its_values_back_streamed_or_not(stack: LlmStack) -> None:
    gpt = stack.gpt("gpt-reversible")
    stack.upstream.clear()
    prompt = f"{PII_PROMPT} marker-reversible"
    completion = gpt.chat.completions.create(model="gpt-4o-mini", messages=user(prompt))
    assert completion.choices[0].message.content == f"Echo: {prompt}"
    streamed = "".join(
        chunk.choices[0].delta.content or ""
        for chunk in gpt.chat.completions.create(
            model="gpt-4o-mini", messages=user(prompt), stream=True
        )
        if chunk.choices
    )
    assert streamed == f"Echo: {prompt}"  # placeholders cut across 4-character deltas
    bodies = stack.upstream_bodies()
    assert len(bodies) == 2
    assert all("[EMAIL_ADDRESS_1]" in b and EMAIL not in b and PHONE not in b for b in bodies)
    events = stack.llm_calls("gpt-reversible", "marker-reversible", count=2)
    assert EMAIL not in json.dumps(events) and PHONE not in json.dumps(events)
    assert all("[EMAIL_ADDRESS_1]" in e["payload"]["completion"] for e in events)


def test_reversible_mode_restores_anthropic_streams_too(stack: LlmStack) -> None:
    prompt = f"{PII_PROMPT} marker-claude-reversible"
    with stack.claude("claude-reversible").messages.stream(
        model="claude-sonnet-4-6", max_tokens=100, messages=user(prompt)
    ) as stream:
        text = "".join(stream.text_stream)
    assert text == f"Echo: {prompt}"
    (event,) = stack.llm_calls("claude-reversible", "marker-claude-reversible")
    assert EMAIL not in json.dumps(event)


def test_reversible_mode_restores_responses_api_streams(stack: LlmStack) -> None:
    prompt = f"{PII_PROMPT} marker-responses"
    stream = stack.gpt("gpt-reversible").responses.create(
        model="gpt-4.1", input=prompt, stream=True
    )
    text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
    assert text == f"Echo: {prompt}"
    (event,) = stack.llm_calls("gpt-reversible", "marker-responses")
    assert event["payload"]["api"] == "openai.responses"
    assert event["payload"]["finish_reason"] == "completed"
    assert event["payload"]["output_tokens"] > 0
    assert EMAIL not in json.dumps(event)


# Budgets, rate limits, on behalf of


def test_a_body_that_is_no_model_call_is_refused_while_prompt_privacy_is_on(
    stack: LlmStack,
) -> None:
    # Embeddings are not a dialect the gateway masks: the input could carry PII the
    # resource's prompt privacy promises never to send, so it is refused, not relayed.
    stack.upstream.clear()
    with pytest.raises(openai.BadRequestError, match="prompt privacy"):
        stack.gpt().embeddings.create(model="text-embedding-3-small", input=PII_PROMPT)
    assert not any("/embeddings" in r["path"] for r in stack.upstream.received())
    deadline = time.monotonic() + 15
    while True:  # the agent's audit events arrive in batches, moments later
        events = stack.cp.audit_events(action="http.request", resource="gpt")
        refused = [e for e in events if "/embeddings" in e["payload"].get("path", "")]
        if refused or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert refused and refused[-1]["payload"]["refused_by"] == "prompt_privacy"
    assert EMAIL not in json.dumps(refused)


def test_a_spent_call_budget_is_a_rate_limit_error_in_openai_s_shape(stack: LlmStack) -> None:
    gpt = stack.gpt("gpt-budget")
    for _ in range(2):
        gpt.chat.completions.create(model="gpt-4o-mini", messages=user("marker-budget"))
    with pytest.raises(openai.RateLimitError) as refused:
        gpt.chat.completions.create(model="gpt-4o-mini", messages=user("marker-budget"))
    error = refused.value.response.json()["error"]
    assert (error["type"], error["code"]) == ("insufficient_quota", "insufficient_quota")
    assert "budget" in error["message"]
    assert refused.value.response.headers.get("retry-after")


def test_the_rate_limit_answers_429_rate_limit_exceeded(stack: LlmStack) -> None:
    gpt = stack.gpt("gpt-rate")
    gpt.chat.completions.create(model="gpt-4o-mini", messages=user("marker-rate"))
    with pytest.raises(openai.RateLimitError) as refused:
        gpt.chat.completions.create(model="gpt-4o-mini", messages=user("marker-rate"))
    assert refused.value.response.json()["error"]["code"] == "rate_limit_exceeded"


def test_a_call_on_behalf_of_a_person_is_audited_with_both(stack: LlmStack) -> None:
    stack.gpt(token=stack.alice_token).chat.completions.create(
        model="gpt-4o-mini", messages=user("marker-alice")
    )
    (event,) = stack.llm_calls("gpt", "marker-alice")
    assert event["actor_name"] == ACCOUNT
    assert event["on_behalf_of"]["name"] == "alice"


# Bad input, broken upstreams


def test_an_invalid_json_body_is_a_400_in_openai_s_shape(stack: LlmStack) -> None:
    response = httpx.post(
        stack.base_url("gpt") + "/v1/chat/completions",
        content=b'{"model": "gpt-4o", "messages": [',
        headers={"Authorization": f"Bearer {stack.token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "not valid JSON" in error["message"]
    assert set(error) == {"message", "type", "param", "code"}


def test_a_stream_the_upstream_cuts_ends_for_the_caller_and_is_audited_incomplete(
    stack: LlmStack,
) -> None:
    received = ""
    with pytest.raises(openai.APIError):
        for chunk in stack.gpt().chat.completions.create(
            model="gpt-cut-stream", messages=user("one two three four marker-cut"), stream=True
        ):
            received += chunk.choices[0].delta.content or "" if chunk.choices else ""
    assert received and "Echo: one two three four marker-cut".startswith(received)
    (event,) = stack.llm_calls("gpt", "marker-cut")
    assert event["payload"]["finish_reason"] == "incomplete"
    assert event["payload"]["refused_by"] == "stream_cut"


def test_an_upstream_that_does_not_answer_in_time_is_a_504_in_the_provider_s_shape(
    stack: LlmStack,
) -> None:
    with pytest.raises(openai.APIStatusError) as gpt_refused:
        stack.gpt("gpt-timeout").chat.completions.create(model="gpt-slow", messages=user("hi"))
    assert gpt_refused.value.status_code == 504
    assert gpt_refused.value.response.json()["error"]["type"] == "timeout"
    with pytest.raises(anthropic.APIStatusError) as claude_refused:
        stack.claude("claude-timeout").messages.create(
            model="claude-slow", max_tokens=10, messages=user("hi")
        )
    assert claude_refused.value.status_code == 504
    body = claude_refused.value.response.json()
    assert (body["type"], body["error"]["type"]) == ("error", "timeout_error")
