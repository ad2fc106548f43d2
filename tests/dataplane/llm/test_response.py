"""Reading responses (off and mask modes): relayed byte-exact, recorded for the audit."""

import json

import pytest

from dataplane.core.addons import ToolCall

from .exchanges import opened, relayed
from .transcripts import (
    chat_request,
    chat_response,
    chat_stream,
    chat_tool_stream,
    messages_request,
    messages_response,
    messages_stream,
    responses_response,
    responses_stream,
)

STREAM_REQUESTS = {
    "chat": chat_request("Hi", stream=True),
    "responses": json.dumps({"model": "gpt-4.1", "input": "Hi", "stream": True}).encode(),
    "messages": messages_request("Hi", stream=True),
}
PLAIN_REQUESTS = {
    "chat": chat_request("Hi"),
    "responses": json.dumps({"model": "gpt-4.1", "input": "Hi"}).encode(),
    "messages": messages_request("Hi"),
}


def streamed(dialect: str, privacy: str = "mask"):  # type: ignore[no-untyped-def]
    exchange = opened(dialect, privacy)
    exchange.request(STREAM_REQUESTS[dialect])
    return exchange


def plain(dialect: str, privacy: str = "mask"):  # type: ignore[no-untyped-def]
    exchange = opened(dialect, privacy)
    exchange.request(PLAIN_REQUESTS[dialect])
    return exchange


def test_a_chat_completion_is_read_for_text_usage_and_finish_reason() -> None:
    exchange = plain("chat")
    response = chat_response("Paris is the capital of France.")
    assert relayed(exchange, response, [7, 100]) == response
    call = exchange.finish(200, 0.25)
    assert (call.api, call.model, call.stream) == ("openai.chat", "gpt-4o", False)
    assert call.completion == "Paris is the capital of France."
    assert (call.input_tokens, call.output_tokens, call.finish_reason) == (19, 10, "stop")
    assert call.time_to_first_chunk_s == 0.25


def test_a_chat_tool_call_is_read_with_its_arguments() -> None:
    exchange = plain("chat")
    relayed(exchange, chat_response(None, ("get_weather", '{"city":"Paris"}')))
    call = exchange.finish(200, None)
    assert call.tool_calls == (ToolCall("get_weather", '{"city":"Paris"}'),)
    assert call.finish_reason == "tool_calls"


def test_a_chat_stream_passes_every_byte_on_at_once_and_is_read_on_the_side() -> None:
    exchange = streamed("chat")
    stream = chat_stream(["Par", "is", "."])
    for cut in range(1, len(stream), 37):
        assert exchange.response_chunk(stream[:cut][-37:]) == stream[:cut][-37:]
    exchange = streamed("chat")
    assert relayed(exchange, stream, [3, 200, 201]) == stream
    call = exchange.finish(200, 0.1)
    assert (call.completion, call.finish_reason, call.stream) == ("Paris.", "stop", True)
    assert (call.input_tokens, call.output_tokens) == (19, 10)


def test_a_tool_call_streamed_in_pieces_is_put_together() -> None:
    exchange = streamed("chat")
    stream = chat_tool_stream("get_weather", ['{"', "location", '":"', "Paris", '"}'])
    assert relayed(exchange, stream) == stream
    call = exchange.finish(200, None)
    assert call.tool_calls == (ToolCall("get_weather", '{"location":"Paris"}'),)
    assert call.finish_reason == "tool_calls"


def test_a_responses_stream_is_read_up_to_its_completed_event() -> None:
    exchange = streamed("responses")
    stream = responses_stream(["Hello", " world"])
    assert relayed(exchange, stream, [100, 101, 1000]) == stream
    call = exchange.finish(200, None)
    assert (call.api, call.completion, call.finish_reason) == (
        "openai.responses",
        "Hello world",
        "completed",
    )
    assert (call.input_tokens, call.output_tokens) == (36, 87)


def test_a_responses_reply_with_a_function_call_is_read() -> None:
    exchange = plain("responses")
    relayed(exchange, responses_response("Checking.", ("get_weather", '{"city":"Oslo"}')))
    call = exchange.finish(200, None)
    assert call.completion == "Checking."
    assert call.tool_calls == (ToolCall("get_weather", '{"city":"Oslo"}'),)


def test_an_anthropic_stream_with_text_and_a_tool_use_block_is_read() -> None:
    exchange = streamed("messages")
    stream = messages_stream(["Let me ", "check."], tool=("get_weather", ['{"city": ', '"Paris"}']))
    assert relayed(exchange, stream, [50, 51]) == stream
    call = exchange.finish(200, None)
    assert (call.api, call.completion, call.finish_reason) == (
        "anthropic.messages",
        "Let me check.",
        "tool_use",
    )
    assert call.tool_calls == (ToolCall("get_weather", '{"city": "Paris"}'),)
    assert (call.input_tokens, call.output_tokens) == (472, 89)


def test_an_anthropic_message_is_read_with_its_tool_use_input() -> None:
    exchange = plain("messages")
    response = messages_response("Sure.", ("get_weather", {"city": "Paris"}))
    assert relayed(exchange, response) == response
    call = exchange.finish(200, None)
    assert call.completion == "Sure."
    assert call.tool_calls == (ToolCall("get_weather", '{"city": "Paris"}'),)
    assert (call.input_tokens, call.output_tokens, call.finish_reason) == (2095, 503, "tool_use")


@pytest.mark.parametrize(
    ("dialect", "stream"),
    [
        ("chat", chat_stream(["Hel", "lo"], done=False)[:-120]),
        ("responses", responses_stream(["Hel", "lo"], completed=False)),
        ("messages", messages_stream(["Hel", "lo"], stopped=False)),
    ],
)
def test_a_stream_cut_before_its_last_event_is_recorded_as_incomplete(
    dialect: str, stream: bytes
) -> None:
    exchange = streamed(dialect)
    assert relayed(exchange, stream) == stream
    assert not exchange.complete
    call = exchange.finish(200, None)
    assert call.finish_reason == "incomplete"
    assert call.completion.startswith("Hel")


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\xff\xfe garbage \r\n\r\n\xc3\x28",
        b"data: {not json}\n\ndata: [1,2]\n\ndata: \xff\n\n",
        b"<html><body>502 Bad Gateway</body></html>",
    ],
)
@pytest.mark.parametrize("privacy", ["mask", "reversible"])
def test_garbage_from_upstream_is_passed_on_untouched_and_never_raises(
    garbage: bytes, privacy: str
) -> None:
    for dialect in ("chat", "responses", "messages"):
        exchange = opened(dialect, privacy)
        exchange.request(STREAM_REQUESTS[dialect].replace(b"Hi", b"Hi alice@example.com"))
        assert relayed(exchange, garbage, [1, 5]) == garbage
        assert exchange.finish(200, None).finish_reason == "incomplete"


def test_a_json_body_that_is_not_json_is_relayed_and_noted() -> None:
    exchange = plain("chat")
    assert relayed(exchange, b'{"choices": [') == b'{"choices": ['
    assert exchange.problems == ["response is not JSON"]
    assert exchange.finish(200, None).finish_reason == "incomplete"


def test_an_error_body_to_a_stream_request_is_read_as_json() -> None:
    exchange = streamed("chat")
    error = b'{"error": {"message": "bad", "type": "invalid_request_error", "code": null}}'
    assert relayed(exchange, error) == error
    assert exchange.finish(400, None).finish_reason == "error"


def test_mask_mode_relays_placeholder_looking_text_as_it_is() -> None:
    exchange = streamed("chat", "mask")
    stream = chat_stream(["[EMAIL_", "ADDRESS_1]"])
    assert relayed(exchange, stream) == stream
