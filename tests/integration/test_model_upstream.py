"""The fake model provider speaks the real wire formats: the official openai and anthropic SDKs
drive it directly (no gateway) and parse every answer; nginx relays its HTTP API."""

from __future__ import annotations

import datetime
import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest

from devstack.model_upstream import ModelUpstream
from devstack.model_upstream.http_api import PII_DOCUMENT, pattern_bytes
from devstack.nginx import NginxProxy

pytestmark = pytest.mark.integration

PLACEHOLDER = "[EMAIL_ADDRESS_1]"
OPENAI_WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
ANTHROPIC_WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
CLAUDE = "claude-sonnet-4-6"


@pytest.fixture(scope="module")
def upstream() -> Iterator[ModelUpstream]:
    with ModelUpstream() as server:
        yield server


@pytest.fixture
def gpt(upstream: ModelUpstream) -> openai.OpenAI:
    return openai.OpenAI(base_url=upstream.url + "/v1", api_key=upstream.api_key, max_retries=0)


@pytest.fixture
def claude(upstream: ModelUpstream) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=upstream.url, api_key=upstream.api_key, max_retries=0)


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def sse_data(raw: str) -> list[str]:
    return [line.removeprefix("data: ") for line in raw.splitlines() if line.startswith("data: ")]


# OpenAI Chat Completions


def test_chat_completion_echoes_the_last_user_message_and_counts_words(
    gpt: openai.OpenAI,
) -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": [{"type": "text", "text": f"mail {PLACEHOLDER} please"}]},
    ]
    completion = gpt.chat.completions.create(model="gpt-4o-mini", messages=messages)  # type: ignore[arg-type]

    choice = completion.choices[0]
    assert choice.message.content == f"Echo: mail {PLACEHOLDER} please"
    assert choice.finish_reason == "stop"
    assert completion.model == "gpt-4o-mini"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 9  # every message's words
    assert completion.usage.completion_tokens == 4


def test_streamed_chat_sends_role_first_and_cuts_a_placeholder_across_deltas(
    gpt: openai.OpenAI,
) -> None:
    stream = gpt.chat.completions.create(
        model="gpt-4o-mini",
        messages=user(f"write to {PLACEHOLDER}"),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    assert chunks[0].choices[0].delta.role == "assistant"
    contents = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    assert "".join(contents) == f"Echo: write to {PLACEHOLDER}"
    assert not any(PLACEHOLDER in piece for piece in contents)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4


def test_streamed_chat_ends_with_done_and_sends_usage_only_when_asked(
    upstream: ModelUpstream,
) -> None:
    body = {"model": "gpt-4o-mini", "messages": user("hello"), "stream": True}
    headers = {"authorization": f"Bearer {upstream.api_key}"}
    response = httpx.post(upstream.url + "/v1/chat/completions", json=body, headers=headers)

    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_data(response.text)
    assert events[-1] == "[DONE]"
    assert all("usage" not in json.loads(event) for event in events[:-1])


def test_chat_asks_for_the_weather_with_a_call_to_the_first_tool(gpt: openai.OpenAI) -> None:
    completion = gpt.chat.completions.create(
        model="gpt-4o-mini",
        messages=user("What is the weather in Paris?"),
        tools=[OPENAI_WEATHER_TOOL],  # type: ignore[list-item]
    )

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}


def test_streamed_tool_call_arrives_in_argument_pieces(gpt: openai.OpenAI) -> None:
    with gpt.chat.completions.stream(
        model="gpt-4o-mini",
        messages=user("weather in Oslo"),
        tools=[OPENAI_WEATHER_TOOL],  # type: ignore[list-item]
    ) as stream:
        argument_deltas = [e for e in stream if e.type == "tool_calls.function.arguments.delta"]
        final = stream.get_final_completion()

    assert len(argument_deltas) > 1
    assert final.choices[0].finish_reason == "tool_calls"
    calls = final.choices[0].message.tool_calls
    assert calls is not None and json.loads(calls[0].function.arguments) == {"city": "Oslo"}


def test_chat_without_tools_echoes_even_a_weather_question(gpt: openai.OpenAI) -> None:
    completion = gpt.chat.completions.create(model="gpt-4o-mini", messages=user("weather in Rome"))
    assert completion.choices[0].message.content == "Echo: weather in Rome"


# OpenAI Responses API


def test_responses_api_answers_with_an_output_text_message(gpt: openai.OpenAI) -> None:
    response = gpt.responses.create(model="gpt-4o-mini", input="hello there", instructions="hi")

    assert response.status == "completed"
    assert response.output_text == "Echo: hello there"
    assert response.output[0].type == "message"
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (3, 3)


def test_streamed_response_sends_typed_events_and_completes(gpt: openai.OpenAI) -> None:
    items = [{"role": "user", "content": [{"type": "input_text", "text": f"to {PLACEHOLDER}"}]}]
    with gpt.responses.stream(model="gpt-4o-mini", input=items) as stream:  # type: ignore[arg-type]
        events = list(stream)
        final = stream.get_final_response()

    types = [event.type for event in events]
    assert types[0] == "response.created"
    assert types[-1] == "response.completed"
    assert types.index("response.output_text.done") > types.index("response.output_text.delta")
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert "".join(deltas) == f"Echo: to {PLACEHOLDER}"
    assert not any(PLACEHOLDER in delta for delta in deltas)
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert final.output_text == f"Echo: to {PLACEHOLDER}"
    assert final.usage is not None and final.usage.output_tokens == 3


def test_responses_api_calls_a_function_tool_for_the_weather(gpt: openai.OpenAI) -> None:
    tool = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}
    response = gpt.responses.create(
        model="gpt-4o-mini",
        input="weather in Lima",
        tools=[tool],  # type: ignore[list-item]
    )

    call = response.output[0]
    assert call.type == "function_call"
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Lima"}


# Anthropic Messages


def test_anthropic_message_echoes_with_usage_and_end_turn(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(
        model=CLAUDE, max_tokens=100, system="be brief", messages=user("hey you")
    )

    assert message.role == "assistant"
    assert message.content[0].type == "text"
    assert message.content[0].text == "Echo: hey you"
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (4, 3)


def test_anthropic_stream_sends_every_event_in_order(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(
        model=CLAUDE, max_tokens=100, messages=user(f"write {PLACEHOLDER}")
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()

    types = [event.type for event in events if event.type != "text"]
    assert types[:2] == ["message_start", "content_block_start"]
    assert types[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    deltas = [e.delta.text for e in events if e.type == "content_block_delta"]  # type: ignore[union-attr]
    assert len(deltas) > 2 and not any(PLACEHOLDER in delta for delta in deltas)
    assert final.content[0].text == f"Echo: write {PLACEHOLDER}"  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 3


def test_anthropic_stream_pings_before_the_first_delta(upstream: ModelUpstream) -> None:
    body = {"model": CLAUDE, "max_tokens": 10, "messages": user("hi"), "stream": True}
    headers = {"x-api-key": upstream.api_key, "anthropic-version": "2023-06-01"}
    raw = httpx.post(upstream.url + "/v1/messages", json=body, headers=headers).text

    names = [line.removeprefix("event: ") for line in raw.splitlines() if line.startswith("event:")]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-1] == "message_stop"


def test_anthropic_streams_a_tool_use_as_input_json_deltas(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(
        model=CLAUDE,
        max_tokens=100,
        tools=[ANTHROPIC_WEATHER_TOOL],  # type: ignore[list-item]
        messages=user("what's the weather in Berlin?"),
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()

    json_deltas = [e for e in events if e.type == "content_block_delta"]
    assert len(json_deltas) > 1
    block = final.content[0]
    assert block.type == "tool_use"
    assert (block.name, block.input) == ("get_weather", {"city": "Berlin"})
    assert final.stop_reason == "tool_use"


# Auth, errors and behaviour triggers


def test_wrong_keys_are_refused_in_each_providers_shape(upstream: ModelUpstream) -> None:
    bad_gpt = openai.OpenAI(base_url=upstream.url + "/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as gpt_error:
        bad_gpt.chat.completions.create(model="gpt-4o-mini", messages=user("hi"))
    assert gpt_error.value.code == "invalid_api_key"

    bad_claude = anthropic.Anthropic(base_url=upstream.url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as claude_error:
        bad_claude.messages.create(model=CLAUDE, max_tokens=5, messages=user("hi"))
    assert claude_error.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]


def test_anthropic_accepts_the_key_as_x_api_key_and_requires_a_version(
    upstream: ModelUpstream,
) -> None:
    body = {"model": CLAUDE, "max_tokens": 10, "messages": user("hi")}
    url = upstream.url + "/v1/messages"
    key = {"x-api-key": upstream.api_key}

    answered = httpx.post(url, json=body, headers={**key, "anthropic-version": "2023-06-01"})
    unversioned = httpx.post(url, json=body, headers=key)
    keyless = httpx.post(url, json=body, headers={"anthropic-version": "2023-06-01"})

    assert answered.json()["content"][0]["text"] == "Echo: hi"
    assert unversioned.status_code == 400
    assert unversioned.json()["error"]["type"] == "invalid_request_error"
    assert keyless.status_code == 401
    assert keyless.json()["error"]["type"] == "authentication_error"


def test_a_rate_limited_model_answers_429_with_retry_after(
    gpt: openai.OpenAI, claude: anthropic.Anthropic
) -> None:
    with pytest.raises(openai.RateLimitError) as gpt_error:
        gpt.chat.completions.create(model="gpt-error-429", messages=user("hi"))
    with pytest.raises(anthropic.RateLimitError) as claude_error:
        claude.messages.create(model="claude-error-429", max_tokens=5, messages=user("hi"))

    assert gpt_error.value.response.headers["retry-after"] == "1"
    assert gpt_error.value.code == "rate_limit_exceeded"
    assert claude_error.value.response.headers["retry-after"] == "1"
    assert claude_error.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]


def test_a_failing_model_answers_500(gpt: openai.OpenAI, claude: anthropic.Anthropic) -> None:
    with pytest.raises(openai.InternalServerError):
        gpt.responses.create(model="error-500", input="hi")
    with pytest.raises(anthropic.InternalServerError) as claude_error:
        claude.messages.create(model="error-500", max_tokens=5, messages=user("hi"))
    assert claude_error.value.body["error"]["type"] == "api_error"  # type: ignore[index]


def test_a_cut_stream_closes_the_connection_without_its_terminal_event(
    upstream: ModelUpstream,
) -> None:
    body = {"model": "cut-stream", "messages": user("one two three four five"), "stream": True}
    headers = {"authorization": f"Bearer {upstream.api_key}"}
    received: list[bytes] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream(
            "POST", upstream.url + "/v1/chat/completions", json=body, headers=headers
        ) as response,
    ):
        for part in response.iter_bytes():
            received.append(part)

    text = b"".join(received).decode()
    assert '"role":"assistant"' in text
    assert "[DONE]" not in text and 'finish_reason":"stop' not in text


def test_a_cut_anthropic_stream_never_sends_message_stop(claude: anthropic.Anthropic) -> None:
    seen: list[str] = []
    with (
        # the SDK lets its HTTP client's error through mid-stream
        pytest.raises((anthropic.APIConnectionError, httpx2.RemoteProtocolError)),
        claude.messages.stream(
            model="cut-stream", max_tokens=100, messages=user("a b c d e f")
        ) as stream,
    ):
        # the events before the cut arrive; the stream then fails instead of ending
        seen.extend(event.type for event in stream)
    assert seen and "message_stop" not in seen


def test_a_slow_stream_still_delivers_the_whole_answer(gpt: openai.OpenAI) -> None:
    stream = gpt.chat.completions.create(model="slow-stream", messages=user("hi"), stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Echo: hi"


def test_a_slow_model_outlasts_a_short_client_timeout(upstream: ModelUpstream) -> None:
    impatient = openai.OpenAI(
        base_url=upstream.url + "/v1", api_key=upstream.api_key, max_retries=0, timeout=0.5
    )
    with pytest.raises(openai.APITimeoutError):
        impatient.chat.completions.create(model="slow", messages=user("hi"))


def test_models_are_listed_in_the_shape_of_the_asking_sdk(
    gpt: openai.OpenAI, claude: anthropic.Anthropic
) -> None:
    assert "gpt-4o-mini" in [model.id for model in gpt.models.list()]
    assert CLAUDE in [model.id for model in claude.models.list()]


def test_bad_json_gets_a_400_in_the_providers_shape(upstream: ModelUpstream) -> None:
    headers = {"authorization": f"Bearer {upstream.api_key}"}
    response = httpx.post(upstream.url + "/v1/chat/completions", content=b"{", headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


# The recorder


def test_every_request_is_recorded_until_cleared(upstream: ModelUpstream) -> None:
    upstream.clear()
    httpx.post(
        upstream.url + "/api/echo/deep?x=1",
        content=b"payload",
        headers={"X-Trace": "t-1"},
    )

    (record,) = upstream.received()
    assert (record["method"], record["path"], record["query"]) == ("POST", "/api/echo/deep", "x=1")
    assert record["headers"]["x-trace"] == "t-1"
    assert record["body"] == "payload"
    upstream.clear()
    assert upstream.received() == []


# The generic HTTP API


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_echo_returns_the_request_for_any_method(upstream: ModelUpstream, method: str) -> None:
    response = httpx.request(method, upstream.url + "/api/echo?a=1&b=2", content=b"body-text")
    echoed = response.json()
    assert (echoed["method"], echoed["path"], echoed["query"]) == (method, "/api/echo", "a=1&b=2")
    assert echoed["body"] == "body-text"
    assert echoed["headers"]["host"].startswith("127.0.0.1:")


def test_big_returns_exactly_the_bytes_asked_for(upstream: ModelUpstream) -> None:
    size = 1_000_003
    response = httpx.get(upstream.url + f"/api/big?bytes={size}")
    assert response.headers["content-length"] == str(size)
    assert response.content == pattern_bytes(size)


def test_slow_and_big_refuse_nonsense_parameters(upstream: ModelUpstream) -> None:
    assert httpx.get(upstream.url + "/api/big?bytes=-1").status_code == 400
    assert httpx.get(upstream.url + "/api/slow?s=lots").status_code == 400
    assert httpx.get(upstream.url + "/api/slow?s=0").json() == {"slept_s": 0.0}


def test_json_pii_holds_an_email_a_phone_and_a_card_number(upstream: ModelUpstream) -> None:
    document = httpx.get(upstream.url + "/api/json-pii").json()
    assert document == PII_DOCUMENT
    assert "@" in document["customer"]["email"]
    assert document["customer"]["card_number"].replace(" ", "") == "4111111111111111"


def test_client_credentials_tokens_open_the_protected_api(upstream: ModelUpstream) -> None:
    token_url = upstream.url + "/oauth/token"
    grant = {"grant_type": "client_credentials"}
    issued_before = upstream.oauth_tokens_issued()

    by_basic = httpx.post(
        token_url, data=grant, auth=(upstream.oauth_client_id, upstream.oauth_client_secret)
    ).json()
    by_form = httpx.post(
        token_url,
        data={
            **grant,
            "client_id": upstream.oauth_client_id,
            "client_secret": upstream.oauth_client_secret,
        },
    ).json()

    assert by_basic["token_type"] == "Bearer" and by_basic["expires_in"] == 3
    for token in (by_basic, by_form):
        bearer = {"authorization": f"Bearer {token['access_token']}"}
        assert httpx.get(upstream.url + "/api/protected", headers=bearer).status_code == 200
    assert upstream.oauth_tokens_issued() == issued_before + 2


def test_the_protected_api_refuses_missing_and_unknown_tokens(upstream: ModelUpstream) -> None:
    url = upstream.url + "/api/protected"
    assert httpx.get(url).status_code == 401
    refused = httpx.get(url, headers={"authorization": "Bearer not-issued"})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")


def test_the_token_endpoint_refuses_a_wrong_secret_and_other_grants(
    upstream: ModelUpstream,
) -> None:
    url = upstream.url + "/oauth/token"
    wrong = httpx.post(
        url, data={"grant_type": "client_credentials"}, auth=(upstream.oauth_client_id, "nope")
    )
    password = httpx.post(url, data={"grant_type": "password"})
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    assert (password.status_code, password.json()["error"]) == (400, "unsupported_grant_type")


def test_an_expired_token_no_longer_opens_the_protected_api(tmp_path: Path) -> None:
    with ModelUpstream(tmp_path, oauth_expires_in_s=1) as server:
        token = httpx.post(
            server.url + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(server.oauth_client_id, server.oauth_client_secret),
        ).json()["access_token"]
        bearer = {"authorization": f"Bearer {token}"}
        assert httpx.get(server.url + "/api/protected", headers=bearer).status_code == 200
        time.sleep(1.2)  # let the one-second token expire
        assert httpx.get(server.url + "/api/protected", headers=bearer).status_code == 401


def test_the_upstream_serves_tls_with_its_own_certificate(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    with ModelUpstream(tmp_path, tls_cert=cert, tls_key=key) as server:
        assert server.url.startswith("https://")
        response = httpx.get(
            server.url + "/api/echo", verify=ssl.create_default_context(cafile=cert)
        )
    assert response.json()["method"] == "GET"


# nginx, the benchmark baseline


def test_nginx_relays_the_echo_api_and_streams(upstream: ModelUpstream) -> None:
    with NginxProxy(upstream.url) as proxy:
        echoed = httpx.post(proxy.url + "/api/echo?via=nginx", content=b"relayed").json()
        proxied_gpt = openai.OpenAI(
            base_url=proxy.url + "/v1", api_key=upstream.api_key, max_retries=0
        )
        stream = proxied_gpt.chat.completions.create(
            model="gpt-4o-mini", messages=user("through nginx"), stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    assert (echoed["query"], echoed["body"]) == ("via=nginx", "relayed")
    assert text == "Echo: through nginx"


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, signed by its own key."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "upstream.crt", directory / "upstream.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
