"""Headers across the gateway: hop-by-hop never crosses, the caller's credentials and the
correlation id stay at the gateway, and a rewritten body gets the gateway's framing."""

from __future__ import annotations

from dataplane.protocols.http.headers import client_response_headers, upstream_request_headers

CALLER = [
    ("host", "gateway:8443"),
    ("authorization", "Bearer gw-token"),
    ("x-api-key", "gw-token"),
    ("cookie", "session=abc"),
    ("proxy-authorization", "Basic eA=="),
    ("connection", "keep-alive, X-Trace-Hop"),
    ("x-trace-hop", "1"),
    ("keep-alive", "timeout=5"),
    ("te", "trailers"),
    ("transfer-encoding", "chunked"),
    ("upgrade", "h2c"),
    ("content-length", "12"),
    ("expect", "100-continue"),
    ("x-correlation-id", "run-7"),
    ("accept-encoding", "gzip"),
    ("content-type", "application/json"),
    ("x-request-id", "abc"),
]


def test_only_end_to_end_headers_of_the_caller_go_upstream() -> None:
    sent = upstream_request_headers(CALLER)
    assert sent == [
        ("accept-encoding", "gzip"),
        ("content-type", "application/json"),
        ("x-request-id", "abc"),
    ]


def test_a_resource_credential_header_sent_by_the_caller_is_dropped() -> None:
    sent = upstream_request_headers([("X-Api-Token", "guess"), ("accept", "*/*")],
                                    credential_header="x-api-token")  # fmt: skip
    assert sent == [("accept", "*/*"), ("accept-encoding", "identity")]


def test_a_caller_naming_no_encoding_gets_an_uncompressed_body() -> None:
    # The raw relay passes the upstream's Content-Encoding on: without an explicit identity,
    # the upstream client library's own default (gzip) would reach e.g. a plain curl.
    sent = upstream_request_headers([("accept", "application/json")])
    assert sent == [("accept", "application/json"), ("accept-encoding", "identity")]


def test_identity_encoding_replaces_the_callers_accept_encoding() -> None:
    sent = upstream_request_headers(CALLER, identity_encoding=True)
    assert ("accept-encoding", "identity") in sent
    assert ("accept-encoding", "gzip") not in sent


def test_response_headers_lose_hop_by_hop_and_keep_the_rest() -> None:
    upstream = [
        ("content-type", "application/json"),
        ("content-length", "10"),
        ("content-encoding", "gzip"),
        ("connection", "close, x-hop"),
        ("x-hop", "1"),
        ("transfer-encoding", "chunked"),
        ("set-cookie", "a=b"),
    ]
    relayed = client_response_headers(upstream, body_rewritten=False)
    assert relayed == [
        ("content-type", "application/json"),
        ("content-length", "10"),
        ("content-encoding", "gzip"),
        ("set-cookie", "a=b"),
    ]
    rewritten = client_response_headers(upstream, body_rewritten=True)
    assert rewritten == [("content-type", "application/json"), ("set-cookie", "a=b")]
