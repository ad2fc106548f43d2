"""SseParser: events complete at their blank line, byte-exact, across any chunk split."""

import pytest

from dataplane.llm.sse import SseOverflow, SseParser, encode_event, replace_data

from .transcripts import chat_stream, messages_stream, responses_stream

STREAMS = {
    "chat": chat_stream(["Hel", "lo", " there"]),
    "responses": responses_stream(["Hi", " you"]),
    "messages": messages_stream(["Hello", "!"], tool=("get_weather", ['{"ci', 'ty": "Paris"}'])),
    "crlf": b"event: a\r\ndata: 1\r\n\r\n: comment\r\n\r\ndata: x\r\ndata: y\r\n\r\n",
    "cr": b"data: 1\r\rdata: 2\r\r",
}


def events_when_split(stream: bytes, cut: int) -> tuple[list[bytes], list[str | None], bytes]:
    parser = SseParser()
    events = parser.feed(stream[:cut]) + parser.feed(stream[cut:])
    return [e.raw for e in events], [e.data for e in events], parser.close()


@pytest.mark.parametrize("name", STREAMS)
def test_every_split_point_gives_the_same_events_and_their_exact_bytes(name: str) -> None:
    stream = STREAMS[name]
    whole = events_when_split(stream, len(stream))
    assert b"".join(whole[0]) + whole[2] == stream  # a CR-only stream holds its last CR
    for cut in range(len(stream) + 1):
        assert events_when_split(stream, cut) == whole


def test_fields_are_decoded_the_way_eventsource_does() -> None:
    events = SseParser().feed(STREAMS["crlf"])
    assert [(e.event, e.data) for e in events] == [("a", "1"), ("", None), ("", "x\ny")]


def test_an_event_is_returned_as_soon_as_its_blank_line_arrives() -> None:
    parser = SseParser()
    assert parser.feed(b"data: {}\n") == []
    assert [e.raw for e in parser.feed(b"\ndata: partial")] == [b"data: {}\n\n"]
    assert parser.close() == b"data: partial"


def test_a_carriage_return_at_a_chunk_end_waits_for_its_line_feed() -> None:
    parser = SseParser()
    assert parser.feed(b"data: 1\r\n\r") == []
    assert [e.raw for e in parser.feed(b"\ndata: 2")] == [b"data: 1\r\n\r\n"]


def test_a_stream_without_blank_lines_overflows_instead_of_growing_forever() -> None:
    parser = SseParser()
    with pytest.raises(SseOverflow):
        for _ in range(5):
            parser.feed(b"x" * 1024 * 1024)


def test_replacing_data_keeps_the_event_name() -> None:
    raw = b'event: content_block_delta\ndata: {"a":1}\n\n'
    assert replace_data(raw, '{"a":2}') == b'event: content_block_delta\ndata: {"a":2}\n\n'
    assert encode_event("{}", "ping") == b"event: ping\ndata: {}\n\n"
