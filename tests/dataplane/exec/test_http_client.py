"""The exec API's one-request HTTP client, against responses as the gateway's HTTP driver
writes them (an h11 server on the other side of the transcript)."""

from __future__ import annotations

import base64

import h11
import pytest

from dataplane.contract.exec_call import HttpCall
from dataplane.exec.http_client import MAX_RESPONSE_BYTES, HttpExecFailed, OneRequestClient


def client(**call: object) -> OneRequestClient:
    fields: dict[str, object] = {"method": "POST", "path": "/echo?x=1", **call}
    return OneRequestClient(
        resource="echo-api",
        call=HttpCall(**fields),  # type: ignore[arg-type]
        token="tok.en",
        correlation_id="run-3",
        call_id="call-9",
    )


def server_sees(request: bytes) -> tuple[h11.Request, bytes]:
    server = h11.Connection(h11.SERVER)
    server.receive_data(request)
    head = server.next_event()
    assert isinstance(head, h11.Request)
    body = b""
    while not isinstance(event := server.next_event(), h11.EndOfMessage):
        assert isinstance(event, h11.Data)
        body += event.data
    return head, body


def response(status: int, body: bytes, **headers: str) -> bytes:
    server = h11.Connection(h11.SERVER)
    server.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    server.next_event(), server.next_event()
    fields = [("Content-Length", str(len(body))), *headers.items()]
    return (
        server.send(h11.Response(status_code=status, headers=fields))
        + server.send(h11.Data(data=body))
        + server.send(h11.EndOfMessage())
    )


def test_the_request_names_the_resource_carries_the_token_and_drops_the_callers_credentials():
    subject = client(
        headers={"Authorization": "Bearer stolen", "X-Trace": "t1", "Host": "evil"},
        body_b64=base64.b64encode(b'{"order": 42}').decode(),
    )

    head, body = server_sees(subject.start())

    headers = {name.decode(): value.decode() for name, value in head.headers}
    assert (head.method, head.target) == (b"POST", b"/echo-api/echo?x=1")
    assert headers["authorization"] == "Bearer tok.en"
    assert headers["x-correlation-id"] == "run-3"
    assert headers["user-agent"] == "gatehouse-exec/call-9"
    assert headers["x-trace"] == "t1" and headers["host"] == "gatehouse-exec"
    assert body == b'{"order": 42}'


def test_the_response_comes_back_with_status_headers_and_body() -> None:
    subject = client()
    subject.start()

    subject.receive(response(201, b'{"ok": true}', **{"Content-Type": "application/json"}))

    assert subject.finished
    result = subject.result.to_dict()
    assert result["status"] == 201
    assert result["headers"]["content-type"] == "application/json"
    assert result["body"] == '{"ok": true}'
    assert base64.b64decode(result["body_b64"]) == b'{"ok": true}'
    assert result["truncated"] is False


def test_a_binary_body_comes_back_as_base64_only() -> None:
    subject = client()
    subject.start()

    subject.receive(response(200, b"\xff\xfe\x00"))

    assert "body" not in subject.result.to_dict()


def test_a_body_past_the_limit_is_cut_and_marked_truncated() -> None:
    subject = client()
    subject.start()
    big = b"a" * (MAX_RESPONSE_BYTES + 10)

    subject.receive(response(200, big))

    assert subject.finished and subject.result.truncated
    assert len(subject.result.body) == MAX_RESPONSE_BYTES


def test_the_gateway_closing_before_the_response_ends_fails_the_call() -> None:
    subject = client()
    subject.start()
    partial = response(200, b"0123456789")[:-4]

    subject.receive(partial)
    with pytest.raises(HttpExecFailed):
        subject.receive(b"")
