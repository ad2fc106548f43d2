"""Reversible prompt privacy: placeholders up, real values back to the caller, never into
the audit record; a placeholder cut across deltas or chunks is still restored."""

import json

import pytest

from dataplane.core.addons import ToolCall
from dataplane.llm import LlmExchange

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
    sse_events,
)

EMAIL, PHONE = "alice@example.com", "415-555-0134"
PROMPT = f"Write to {EMAIL} or call {PHONE}."
ECHO = "I will write to [EMAIL_ADDRESS_1] and call [PHONE_NUMBER_1]."
REAL = f"I will write to {EMAIL} and call {PHONE}."


def reversible(dialect: str, stream: bool) -> LlmExchange:
    exchange = opened(dialect, "reversible")
    if dialect == "chat":
        body = chat_request(PROMPT, stream=stream)
    elif dialect == "messages":
        body = messages_request(PROMPT, stream=stream)
    else:
        body = json.dumps({"model": "gpt-4.1", "input": PROMPT, "stream": stream}).encode()
    sent = exchange.request(body)
    assert EMAIL.encode() not in sent and b"[EMAIL_ADDRESS_1]" in sent
    return exchange


def chat_text(stream: bytes) -> str:
    """The content an OpenAI SDK puts together from a chat stream."""
    return "".join(
        c["delta"].get("content") or ""
        for e in sse_events(stream)
        if isinstance(e, dict)
        for c in e["choices"]
    )


def responses_text(stream: bytes) -> str:
    events = [e for e in sse_events(stream) if isinstance(e, dict)]
    return "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")


def messages_text(stream: bytes, kind: str = "text_delta", field: str = "text") -> str:
    events = [e for e in sse_events(stream) if isinstance(e, dict)]
    deltas = [e["delta"] for e in events if e["type"] == "content_block_delta"]
    return "".join(d[field] for d in deltas if d["type"] == kind)


def split_at_every_character(text: str) -> list[list[str]]:
    return [[text[:i], text[i:]] for i in range(1, len(text))]


STREAMS = {
    "chat": (chat_stream, chat_text),
    "responses": (responses_stream, responses_text),
    "messages": (messages_stream, messages_text),
}


@pytest.mark.parametrize("dialect", STREAMS)
def test_a_placeholder_cut_between_any_two_deltas_reaches_the_caller_restored(dialect: str) -> None:
    make, text_of = STREAMS[dialect]
    for deltas in split_at_every_character(ECHO):
        exchange = reversible(dialect, stream=True)
        out = relayed(exchange, make(deltas))
        assert text_of(out) == REAL, deltas
        call = exchange.finish(200, None)
        assert call.completion == ECHO  # the audit keeps what the provider wrote
        assert EMAIL not in call.completion and call.finish_reason != "incomplete"


@pytest.mark.parametrize("dialect", STREAMS)
def test_a_stream_cut_at_any_byte_reaches_the_caller_restored(dialect: str) -> None:
    make, text_of = STREAMS[dialect]
    stream = make(["I will write to [EMAIL_", "ADDRESS_1] and call [PHONE_NUMBER_1]."])
    expected = relayed(reversible(dialect, stream=True), stream)
    assert text_of(expected) == REAL
    for cut in range(1, len(stream)):
        exchange = reversible(dialect, stream=True)
        assert relayed(exchange, stream, [cut]) == expected, cut


def test_each_event_is_sent_as_soon_as_it_is_complete() -> None:
    exchange = reversible("chat", stream=True)
    stream = chat_stream(["Hello ", "[EMAIL_ADDRESS_1]"])
    first_event_end = stream.index(b"\n\n") + 2
    assert exchange.response_chunk(stream[: first_event_end - 1]) == b""
    assert (
        exchange.response_chunk(stream[first_event_end - 1 : first_event_end])
        == (
            stream[:first_event_end]  # untouched: not re-encoded
        )
    )


def test_a_held_fragment_that_never_becomes_a_placeholder_is_sent_at_the_block_end() -> None:
    for dialect, (make, text_of) in STREAMS.items():
        exchange = reversible(dialect, stream=True)
        out = relayed(exchange, make(["Array [EMAIL", "_ADDR"]))
        assert text_of(out) == "Array [EMAIL_ADDR", dialect


def test_placeholders_in_streamed_tool_arguments_are_restored_as_json() -> None:
    exchange = reversible("chat", stream=True)
    pieces = ['{"to": "[EMAIL_', 'ADDRESS_1]", "tel": "[PHONE_NUMBER_1]"}']
    out = relayed(exchange, chat_tool_stream("send_mail", pieces))
    arguments = "".join(
        call["function"].get("arguments", "")
        for e in sse_events(out)
        if isinstance(e, dict)
        for c in e["choices"]
        for call in c["delta"].get("tool_calls", [])
    )
    assert json.loads(arguments) == {"to": EMAIL, "tel": PHONE}
    assert exchange.finish(200, None).tool_calls == (
        ToolCall("send_mail", '{"to": "[EMAIL_ADDRESS_1]", "tel": "[PHONE_NUMBER_1]"}'),
    )


def test_anthropic_tool_input_pieces_are_restored_and_the_last_fragment_kept_in_order() -> None:
    exchange = reversible("messages", stream=True)
    pieces = ['{"to": "[EMAIL_ADDR', 'ESS_1]", "note": "x[']
    out = relayed(exchange, messages_stream(["ok"], tool=("send_mail", pieces)))
    assert messages_text(out, "input_json_delta", "partial_json") == (
        f'{{"to": "{EMAIL}", "note": "x['
    )


@pytest.mark.parametrize(
    ("dialect", "response"),
    [
        ("chat", chat_response(ECHO, ("send_mail", '{"to":"[EMAIL_ADDRESS_1]"}'))),
        ("responses", responses_response(ECHO, ("send_mail", '{"to":"[EMAIL_ADDRESS_1]"}'))),
        ("messages", messages_response(ECHO, ("send_mail", {"to": "[EMAIL_ADDRESS_1]"}))),
    ],
)
def test_a_whole_response_is_held_and_given_back_restored(dialect: str, response: bytes) -> None:
    exchange = reversible(dialect, stream=False)
    assert exchange.response_chunk(response[:10]) == b""
    out = relayed(exchange, response[10:])
    assert EMAIL in out.decode() and "[EMAIL_ADDRESS_1]" not in out.decode()
    assert REAL in out.decode()
    call = exchange.finish(200, None)
    assert call.completion == ECHO
    assert "[EMAIL_ADDRESS_1]" in call.tool_calls[0].arguments


def test_a_response_without_placeholders_is_relayed_byte_exact() -> None:
    exchange = reversible("chat", stream=False)
    response = chat_response("Nothing personal here.")
    assert relayed(exchange, response) == response


def test_events_without_placeholders_stay_byte_exact() -> None:
    exchange = reversible("messages", stream=True)
    stream = messages_stream(["No values", " here."])
    assert relayed(exchange, stream) == stream


def test_a_value_that_needs_json_escaping_stays_valid_in_tool_arguments() -> None:
    exchange = opened("chat", "reversible")
    exchange.request(chat_request('Email "quoted"alice@example.com'))
    placeholders = exchange.placeholders
    assert placeholders.restore('{"a":"[EMAIL_ADDRESS_1]"}', json_text=True) == (
        '{"a":"' + json.dumps(placeholders.values["[EMAIL_ADDRESS_1]"])[1:-1] + '"}'
    )


def test_unknown_placeholders_are_left_alone() -> None:
    exchange = reversible("chat", stream=True)
    out = relayed(exchange, chat_stream(["[EMAIL_ADDRESS_9] [PHONE_NUMBER_1]"]))
    assert chat_text(out) == f"[EMAIL_ADDRESS_9] {PHONE}"
