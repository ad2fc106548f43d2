"""LlmExchange.request: which calls are model calls, what is refused, what is masked."""

import json

import pytest

from dataplane.contract.snapshot import MaskingProfile
from dataplane.llm import LlmRequestError, open_llm_exchange

from .exchanges import KEY, opened
from .transcripts import chat_request, messages_request

PII = "Write to alice@example.com or call 415-555-0134."


def sent(dialect: str, privacy: str, body: dict[str, object]) -> dict[str, object]:
    return json.loads(opened(dialect, privacy).request(json.dumps(body).encode()))


@pytest.mark.parametrize(
    ("api", "method", "path", "name"),
    [
        ("openai", "POST", "/v1/chat/completions", "openai.chat"),
        ("openai", "POST", "/chat/completions?api-version=1", "openai.chat"),
        ("openai", "POST", "/v1/responses", "openai.responses"),
        ("anthropic", "POST", "/v1/messages", "anthropic.messages"),
        ("anthropic", "POST", "/v1/messages/count_tokens", "anthropic.messages"),
    ],
)
def test_model_calls_are_recognised_by_method_and_path_suffix(
    api: str, method: str, path: str, name: str
) -> None:
    exchange = open_llm_exchange(api, method, path, "off", None, KEY)
    assert exchange is not None and exchange.dialect.name == name


@pytest.mark.parametrize(
    ("api", "method", "path"),
    [
        ("openai", "GET", "/v1/models"),
        ("openai", "GET", "/v1/responses/resp_123"),
        ("openai", "POST", "/v1/files"),
        ("anthropic", "POST", "/v1/chat/completions"),
        ("openai", "POST", "/v1/messages"),
    ],
)
def test_other_requests_are_no_model_calls(api: str, method: str, path: str) -> None:
    assert open_llm_exchange(api, method, path, "mask", None, KEY) is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"messages": []}', "'model' is required"),
        (b'{"model": "gpt-4o"}', "'messages' is required"),
        (b'{"model": "gpt-4o", "messages": "hi"}', "'messages' is required"),
    ],
)
def test_a_body_that_is_no_call_is_refused_with_400(body: bytes, message: str) -> None:
    with pytest.raises(LlmRequestError) as raised:
        opened("chat").request(body)
    assert raised.value.status == 400
    assert raised.value.kind == "invalid_request_error"
    assert message in raised.value.message


def test_off_sends_the_body_unchanged_and_records_the_prompt() -> None:
    exchange = opened("chat", "off")
    body = chat_request(PII, stream=True)
    assert exchange.request(body) is body
    assert (exchange.model, exchange.stream) == ("gpt-4o", True)
    call = exchange.finish(200, None)
    assert call.prompt == f"You are a helpful assistant.\n{PII}"
    assert call.prompt_masked == {}


def test_mask_replaces_values_with_the_default_profile_s_redaction() -> None:
    exchange = opened("chat", "mask")
    out = json.loads(exchange.request(chat_request(PII)))
    assert out["messages"][1]["content"] == "Write to [EMAIL_ADDRESS] or call [PHONE_NUMBER]."
    call = exchange.finish(200, None)
    assert "alice@example.com" not in call.prompt
    assert call.prompt_masked == {"EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1}


def test_mask_uses_the_resource_s_profile_when_it_has_one() -> None:
    profile = MaskingProfile(
        name="partial-mail", default_strategy="partial", entities=("EMAIL_ADDRESS",)
    )
    exchange = open_llm_exchange("openai", "POST", "/v1/chat/completions", "mask", profile, KEY)
    assert exchange is not None
    out = json.loads(exchange.request(chat_request(PII)))
    assert out["messages"][1]["content"] == "Write to *****@******e.com or call 415-555-0134."


def test_a_clean_prompt_goes_up_byte_for_byte() -> None:
    body = chat_request("What is the capital of France?")
    assert opened("chat", "mask").request(body) is body


def test_reversible_gives_one_placeholder_per_value_across_the_call() -> None:
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "user", "content": "Mail alice@example.com and bob@example.org."},
            {"role": "user", "content": [{"type": "text", "text": "Again: alice@example.com"}]},
        ],
    }
    exchange = opened("chat", "reversible")
    out = json.loads(exchange.request(json.dumps(body).encode()))
    assert out["messages"][0]["content"] == "Mail [EMAIL_ADDRESS_1] and [EMAIL_ADDRESS_2]."
    assert out["messages"][1]["content"][0]["text"] == "Again: [EMAIL_ADDRESS_1]"
    assert exchange.finish(200, None).prompt_masked == {"EMAIL_ADDRESS": 3}


def test_chat_tool_messages_and_tool_call_arguments_are_masked_but_not_keys_or_schemas() -> None:
    body = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "user", "content": "Look up alice@example.com"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {
                            "name": "lookup",
                            "arguments": '{"email": "alice@example.com"}',
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "phone 415-555-0134"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "lookup",
                    "description": "Find a customer, e.g. by alice@example.com",
                    "parameters": {"type": "object", "properties": {"email": {"type": "string"}}},
                },
            }
        ],
    }
    exchange = opened("chat", "mask")
    out = sent("chat", "mask", body)
    assert (
        out["messages"][1]["tool_calls"][0]["function"]["arguments"]
        == '{"email": "[EMAIL_ADDRESS]"}'
    )  # type: ignore[index]
    assert out["messages"][2]["content"] == "phone [PHONE_NUMBER]"  # type: ignore[index]
    assert out["tools"] == body["tools"]
    exchange.request(json.dumps(body).encode())
    assert exchange.tool_names == ["lookup"]


def test_responses_instructions_and_input_items_are_masked() -> None:
    body = {
        "model": "gpt-4.1",
        "instructions": "The user is alice@example.com",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Call 415-555-0134"}]},
            {
                "type": "function_call",
                "call_id": "c1",
                "name": "f",
                "arguments": '{"to": "bob@example.org"}',
            },
            {"type": "function_call_output", "call_id": "c1", "output": "sent to bob@example.org"},
        ],
        "tools": [{"type": "function", "name": "f", "parameters": {}}],
    }
    out = sent("responses", "mask", body)
    assert out["instructions"] == "The user is [EMAIL_ADDRESS]"
    items = out["input"]
    assert items[0]["content"][0]["text"] == "Call [PHONE_NUMBER]"  # type: ignore[index]
    assert items[1]["arguments"] == '{"to": "[EMAIL_ADDRESS]"}'  # type: ignore[index]
    assert items[2]["output"] == "sent to [EMAIL_ADDRESS]"  # type: ignore[index]
    assert sent("responses", "mask", {"model": "gpt-4.1", "input": PII})["input"] == (
        "Write to [EMAIL_ADDRESS] or call [PHONE_NUMBER]."
    )


def test_anthropic_system_blocks_tool_use_input_and_tool_results_are_masked() -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "system": [{"type": "text", "text": "Customer: alice@example.com"}],
        "messages": [
            {"role": "user", "content": "Call me at 415-555-0134"},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "t1",
                        "name": "crm",
                        "input": {"email": "alice@example.com", "n": 3},
                    }
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": [{"type": "text", "text": "bob@example.org"}],
                    },
                    {
                        "type": "image",
                        "source": {"type": "url", "url": "https://example.com/a.png"},
                    },
                ],
            },
        ],
    }
    out = sent("messages", "mask", body)
    assert out["system"] == [{"type": "text", "text": "Customer: [EMAIL_ADDRESS]"}]
    messages = out["messages"]
    assert messages[0]["content"] == "Call me at [PHONE_NUMBER]"  # type: ignore[index]
    assert messages[1]["content"][0]["input"] == {"email": "[EMAIL_ADDRESS]", "n": 3}  # type: ignore[index]
    result = messages[2]["content"][0]["content"]  # type: ignore[index]
    assert result == [{"type": "text", "text": "[EMAIL_ADDRESS]"}]
    assert messages[2]["content"][1] == body["messages"][2]["content"][1]  # type: ignore[index]


def test_anthropic_request_shapes_are_checked() -> None:
    exchange = opened("messages")
    assert (
        json.loads(exchange.request(messages_request(PII)))["system"] == "You are a support agent."
    )
    with pytest.raises(LlmRequestError):
        opened("messages").request(b'{"model": "claude-sonnet-4-5", "max_tokens": 5}')
