"""The sans-I/O HTTP layer on byte transcripts: requests as curl and the Python SDKs send
them, malformed and oversized input, bodies over the limit, and the bytes it frames."""

from __future__ import annotations

from dataplane.protocols.http.layer import (
    BodyData,
    BodyTooLarge,
    ClientClosed,
    Event,
    HttpServerLayer,
    Malformed,
    NeedData,
    Phase,
    RequestComplete,
    RequestHead,
    plain_response,
)

CURL_GET = (
    b"GET /orders-api/v1/orders?limit=5 HTTP/1.1\r\n"
    b"Host: 127.0.0.1:8443\r\n"
    b"User-Agent: curl/8.5.0\r\n"
    b"Accept: */*\r\n"
    b"Authorization: Bearer gw.token.value\r\n"
    b"\r\n"
)
CHUNKED_POST = (
    b"POST /orders-api/v1/orders HTTP/1.1\r\n"
    b"Host: gateway\r\n"
    b"Transfer-Encoding: chunked\r\n"
    b"Content-Type: application/json\r\n"
    b"\r\n"
    b"5\r\nhello\r\n"
    b"6\r\n world\r\n"
    b"0\r\n\r\n"
)


def events_of(layer: HttpServerLayer) -> list[Event]:
    events: list[Event] = []
    while not isinstance(event := layer.next_event(), NeedData):
        events.append(event)
        if isinstance(event, (Malformed, ClientClosed, BodyTooLarge)):
            break
    return events


def test_a_curl_get_becomes_a_request_head_and_its_end() -> None:
    layer = HttpServerLayer()
    layer.receive(CURL_GET)
    head, end = events_of(layer)
    assert isinstance(head, RequestHead)
    assert head.method == "GET"
    assert head.target == "/orders-api/v1/orders?limit=5"
    assert head.header("authorization") == "Bearer gw.token.value"
    assert head.content_length is None
    assert isinstance(end, RequestComplete)


def test_a_request_split_at_every_byte_gives_the_same_head() -> None:
    for split in range(1, len(CURL_GET)):
        layer = HttpServerLayer()
        layer.receive(CURL_GET[:split])
        assert isinstance(layer.next_event(), NeedData)
        layer.receive(CURL_GET[split:])
        head = layer.next_event()
        assert isinstance(head, RequestHead)
        assert head.header("user-agent") == "curl/8.5.0"


def test_a_chunked_body_arrives_as_data_then_completes() -> None:
    layer = HttpServerLayer()
    layer.receive(CHUNKED_POST)
    events = events_of(layer)
    assert isinstance(events[0], RequestHead)
    assert b"".join(e.data for e in events if isinstance(e, BodyData)) == b"hello world"
    assert isinstance(events[-1], RequestComplete)


def test_a_chunked_body_over_the_limit_is_refused_while_counting() -> None:
    layer = HttpServerLayer()
    layer.receive(CHUNKED_POST)
    assert isinstance(layer.next_event(), RequestHead)
    layer.limit_body(8)
    events = events_of(layer)
    assert events[0] == BodyData(b"hello")
    assert events[-1] == BodyTooLarge(8)


def test_a_declared_content_length_is_reported_on_the_head() -> None:
    layer = HttpServerLayer()
    layer.receive(b"PUT /r/x HTTP/1.1\r\nHost: g\r\nContent-Length: 3\r\n\r\nabc")
    head, data, end = events_of(layer)
    assert isinstance(head, RequestHead) and head.content_length == 3
    assert data == BodyData(b"abc")
    assert isinstance(end, RequestComplete)


def test_garbage_is_malformed_with_status_400() -> None:
    layer = HttpServerLayer()
    layer.receive(b"HELLO THERE\r\n\r\n")
    (event,) = events_of(layer)
    assert isinstance(event, Malformed) and event.status == 400


def test_a_non_numeric_content_length_is_malformed() -> None:
    layer = HttpServerLayer()
    layer.receive(b"POST /r/x HTTP/1.1\r\nHost: g\r\nContent-Length: ten\r\n\r\n")
    (event,) = events_of(layer)
    assert isinstance(event, Malformed) and event.status == 400


def test_headers_larger_than_the_limit_are_malformed_with_status_431() -> None:
    layer = HttpServerLayer(max_header_bytes=1024)
    layer.receive(b"GET /r/x HTTP/1.1\r\nHost: g\r\nX-Big: " + b"a" * 2000)
    (event,) = events_of(layer)
    assert isinstance(event, Malformed) and event.status == 431


def test_headers_over_the_limit_that_arrive_at_once_are_malformed_with_status_431() -> None:
    layer = HttpServerLayer(max_header_bytes=1024)
    layer.receive(b"GET /r/x HTTP/1.1\r\nHost: g\r\nX-Big: " + b"a" * 2000 + b"\r\n\r\n")
    (event,) = events_of(layer)
    assert isinstance(event, Malformed) and event.status == 431


def test_a_malformed_request_can_still_be_answered_then_the_connection_closes() -> None:
    layer = HttpServerLayer()
    layer.receive(b"\x00\x01garbage\r\n\r\n")
    assert isinstance(layer.next_event(), Malformed)
    out = layer.whole_response(400, [("content-type", "application/json")], b"{}")
    assert out.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"content-length: 2\r\n" in out
    assert not layer.keeps_alive


def test_a_response_without_length_is_chunked_and_keeps_the_connection() -> None:
    layer = HttpServerLayer()
    layer.receive(CURL_GET)
    events_of(layer)
    assert layer.phase is Phase.NOT_STARTED
    out = layer.respond(200, [("content-type", "text/event-stream")])
    assert layer.phase is Phase.SENDING_BODY
    out += layer.body(b"data: 1\n\n") + layer.end()
    assert b"transfer-encoding: chunked" in out.lower()
    assert out.endswith(b"9\r\ndata: 1\n\n\r\n0\r\n\r\n")
    assert layer.keeps_alive


def test_a_second_request_on_a_kept_alive_connection_starts_after_the_first() -> None:
    layer = HttpServerLayer()
    layer.receive(CURL_GET + CURL_GET.replace(b"limit=5", b"limit=6"))
    events_of(layer)
    layer.whole_response(204, [], b"")
    assert layer.phase is Phase.DONE
    layer.start_next_request()
    assert layer.phase is Phase.IDLE
    head = layer.next_event()
    assert isinstance(head, RequestHead) and head.target.endswith("limit=6")


def test_a_client_waiting_for_100_continue_is_told_to_send() -> None:
    layer = HttpServerLayer()
    layer.receive(
        b"POST /r/x HTTP/1.1\r\nHost: g\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"
    )
    assert isinstance(layer.next_event(), RequestHead)
    assert layer.expects_continue
    assert layer.continue_().startswith(b"HTTP/1.1 100 ")
    assert not layer.expects_continue


def test_the_client_closing_between_requests_is_an_event() -> None:
    layer = HttpServerLayer()
    layer.receive(b"")
    assert isinstance(layer.next_event(), ClientClosed)


def test_a_plain_response_closes_the_connection() -> None:
    out = plain_response(400, "TLS required")
    assert out.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"Connection: close\r\n" in out
    assert out.endswith(b"\r\n\r\nTLS required")
