"""The HTTP plug-in end to end: the control plane, an agent with an HTTP listener, and the
fake upstream (devstack/model_upstream), driven by httpx, curl and raw TLS sockets.

The AI service account agent-smith holds grants on the http resources; mallory-bot holds
none. Every request carries a gateway token; the upstream must only ever see the resource's
own credential.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from dataplane.core.tls import ensure_self_signed
from devstack.gatehouse import Agent, ControlPlane
from devstack.model_upstream import ModelUpstream
from devstack.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

AGENT = "edge-http"
SMITH = "agent-smith"
MALLORY = "mallory-bot"
BOT = "report-bot"
UPSTREAM_KEY = "upstream-key-1"


@dataclass
class Stack:
    cp: ControlPlane
    agent: Agent
    upstream: ModelUpstream
    api_keys: dict[str, str]

    @property
    def base(self) -> str:
        assert self.agent.http_port is not None
        return f"https://127.0.0.1:{self.agent.http_port}"

    @property
    def cacert(self) -> Path:
        return self.agent.state_dir / "tls" / "agent-cert.pem"

    def token(self, account: str = SMITH) -> str:
        created = self.cp.api("POST", "/api/v1/tokens", {}, api_key=self.api_keys[account])
        return str(created["token"])

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(
            base_url=self.base,
            verify=ssl.create_default_context(cafile=str(self.cacert)),
            headers=headers,
            timeout=30,
            **kwargs,
        )

    def grant(self, resource: str, account: str = SMITH) -> str:
        body = {"identity": account, "resource": resource, "duration_seconds": 3600,
                "reason": "integration test"}  # fmt: skip
        return str(self.cp.api("POST", "/api/v1/grants", body)["id"])

    def events(self, predicate: Any, *, timeout_s: float = 15, **filters: str) -> list[Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            events = self.cp.audit_events(**filters)
            matching = [e for e in events if predicate(e)]
            if matching:
                return matching
            assert time.monotonic() < deadline, [e["action"] for e in events][-20:]
            time.sleep(0.1)


def _resource(
    stack_upstream: ModelUpstream, name: str, http: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "protocol": extra.pop("protocol", "http"),
        "agent": AGENT,
        "host": "127.0.0.1",
        "port": extra.pop("port", stack_upstream.port),
        "upstream_password": extra.pop("upstream_password", UPSTREAM_KEY),
        "upstream_user": extra.pop("upstream_user", ""),
        "http": {"scheme": "http", **http},
    }


def _resources(upstream: ModelUpstream) -> list[dict[str, Any]]:
    keyed = {"base_path": "/api", "auth": "header", "auth_header": "X-Upstream-Key",
             "auth_value_prefix": ""}  # fmt: skip
    return [
        _resource(upstream, "echo-api", {**keyed, "deny": [{"path": "/admin*"}],
                  "max_request_bytes": 1024, "max_response_bytes": 200_000, "timeout_s": 2}),
        _resource(upstream, "readonly-api", {**keyed, "read_only": True,
                  "allow": [{"path": "/echo*"}]}),
        _resource(upstream, "revocable-api", {**keyed, "timeout_s": 30}),
        _resource(upstream, "masked-api", keyed),
        _resource(upstream, "one-call-api", keyed),
        _resource(upstream, "dead-api", keyed, port=free_port()),
        _resource(upstream, "oauth-api", {"base_path": "/api", "auth": "oauth_client_credentials",
                  "token_url": upstream.url + "/oauth/token"},
                  upstream_user=upstream.oauth_client_id,
                  upstream_password=upstream.oauth_client_secret),
        _resource(upstream, "openai", {"auth": "header", "llm_api": "openai",
                  "prompt_privacy": "mask"}, protocol="llm", upstream_password=upstream.api_key),
        _resource(upstream, "revocable-llm", {"auth": "header", "llm_api": "openai"},
                  protocol="llm", upstream_password=upstream.api_key),
        _resource(upstream, "budget-llm", {"auth": "header", "llm_api": "openai",
                  "budget_calls": 1}, protocol="llm", upstream_password=upstream.api_key),
        _resource(upstream, "tiny-llm", {"auth": "header", "llm_api": "openai",
                  "max_response_bytes": 2000}, protocol="llm", upstream_password=upstream.api_key),
        _resource(upstream, "claude", {"auth": "header", "llm_api": "anthropic",
                  "auth_header": "x-api-key", "auth_value_prefix": ""}, protocol="llm",
                  upstream_password=upstream.api_key),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("http-gateway")
    upstream = ModelUpstream(root / "upstream").start()
    cp = ControlPlane(root / "controlplane")
    agent: Agent | None = None
    try:
        cp.bootstrap()
        cp.start()
        api_keys = {
            name: cp.api("POST", "/api/v1/service-accounts", {"name": name})["api_key"]
            for name in (SMITH, MALLORY, BOT)
        }
        agent_token = cp.api("POST", "/api/v1/agents", {"name": AGENT})["token"]
        for body in _resources(upstream):
            cp.api("POST", "/api/v1/resources", body)
        cp.manage("set_masking_policy", "ai-agents", "--resource", "masked-api",
                  "--applies-to", "service_accounts", "--default", "redact")  # fmt: skip
        agent = Agent(root / "agent", control_plane_url=cp.url, token=agent_token,
                      http_port=free_port())  # fmt: skip
        stack = Stack(cp=cp, agent=agent, upstream=upstream, api_keys=api_keys)
        for name in ("echo-api", "readonly-api", "masked-api", "dead-api", "oauth-api", "openai",
                     "budget-llm", "claude", "tiny-llm"):  # fmt: skip
            stack.grant(name)
        agent.start()
        yield stack
    finally:
        if agent is not None:
            agent.stop()
        cp.stop()
        upstream.stop()


@pytest.fixture(scope="module")
def token(stack: Stack) -> str:
    return stack.token()


def _error(response: httpx.Response) -> dict[str, Any]:
    return dict(response.json()["error"])


# -- relaying, credentials, headers ------------------------------------------------------------


def test_the_upstream_sees_the_resources_key_never_the_gateway_token_or_cookies(
    stack: Stack, token: str
) -> None:
    with stack.client(token) as client:
        response = client.get(
            "/echo-api/echo/orders?limit=5",
            headers={"Cookie": "sid=caller", "X-Correlation-Id": "run-1", "X-Trace": "t1"},
        )
    assert response.status_code == 200, response.text
    echoed = response.json()
    assert (echoed["method"], echoed["path"], echoed["query"]) == (
        "GET",
        "/api/echo/orders",
        "limit=5",
    )
    headers = echoed["headers"]
    assert headers["x-upstream-key"] == UPSTREAM_KEY
    assert headers["x-trace"] == "t1"
    for gone in ("authorization", "cookie", "x-correlation-id"):
        assert gone not in headers
    assert token not in response.text


def test_curl_posts_through_tls_with_the_agents_certificate(stack: Stack, token: str) -> None:
    done = subprocess.run(
        ["curl", "--silent", "--show-error", "--fail-with-body", "--cacert", str(stack.cacert),
         "-H", f"Authorization: Bearer {token}", "-H", "Content-Type: application/json",
         "--data", '{"order": 42}', f"{stack.base}/echo-api/echo"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    echoed = json.loads(done.stdout)
    assert (echoed["method"], echoed["body"]) == ("POST", '{"order": 42}')
    assert echoed["headers"]["x-upstream-key"] == UPSTREAM_KEY
    assert "authorization" not in echoed["headers"]


def test_a_large_response_streams_through_unchanged(stack: Stack, token: str) -> None:
    with stack.client(token) as client:
        response = client.get("/echo-api/big", params={"bytes": 150_000})
    assert response.status_code == 200
    assert len(response.content) == 150_000


def test_a_kept_alive_connection_serves_many_requests_in_one_session(
    stack: Stack, token: str
) -> None:
    with stack.client(token) as client:
        for n in range(3):
            response = client.get(f"/echo-api/echo?n={n}", headers={"X-Correlation-Id": "keep-1"})
            assert response.status_code == 200
    events = stack.events(lambda e: e["payload"].get("correlation_id") == "keep-1"
                          and e["action"] == "http.request", action="http.request")  # fmt: skip
    assert len({e["session"] for e in events}) == 1


# -- refusals ----------------------------------------------------------------------------------


def test_a_deny_route_is_refused_with_403_naming_the_rule(stack: Stack, token: str) -> None:
    stack.upstream.clear()
    with stack.client(token) as client:
        response = client.get("/echo-api/admin/users")
    assert response.status_code == 403
    assert _error(response)["type"] == "forbidden"
    assert "/admin*" in _error(response)["message"]
    assert not [r for r in stack.upstream.received() if "admin" in r["path"]]


def test_read_only_and_allow_list_refuse_with_403(stack: Stack, token: str) -> None:
    with stack.client(token) as client:
        assert client.get("/readonly-api/echo").status_code == 200
        post = client.post("/readonly-api/echo", content=b"x")
        other = client.get("/readonly-api/big")
    assert post.status_code == 403 and "read-only" in _error(post)["message"]
    assert other.status_code == 403 and "allowed routes" in _error(other)["message"]


def test_dot_segments_and_encoded_slashes_are_refused_with_400(stack: Stack, token: str) -> None:
    with stack.client(token) as client:
        for path in ("/echo-api/%2e%2e/admin", "/echo-api/echo%2F..%2Fadmin"):
            assert client.get(path).status_code == 400


def test_a_body_over_the_limit_is_refused_with_413_declared_or_chunked(
    stack: Stack, token: str
) -> None:
    with stack.client(token) as client:
        declared = client.post("/echo-api/echo", content=b"x" * 2000)

    def chunks() -> Iterator[bytes]:
        for _ in range(4):
            yield b"y" * 400

    with stack.client(token) as client:
        chunked = client.post("/echo-api/echo", content=chunks())
    assert declared.status_code == 413
    assert chunked.status_code == 413


def test_headers_over_64_kib_are_refused_with_431(stack: Stack, token: str) -> None:
    with stack.client(token) as client:
        response = client.get("/echo-api/echo", headers={"X-Big": "a" * 70_000})
    assert response.status_code == 431


def test_a_response_declared_over_the_limit_is_refused_with_502(stack: Stack, token: str) -> None:
    with stack.client(token) as client:
        response = client.get("/echo-api/big", params={"bytes": 300_000})
    assert response.status_code == 502
    assert "larger than" in _error(response)["message"]


def test_a_streamed_response_over_the_limit_is_cut_and_the_connection_closed(
    stack: Stack, token: str
) -> None:
    words = " ".join(f"word{n}" for n in range(400))
    body = {"model": "gpt-4o-mini", "stream": True,
            "messages": [{"role": "user", "content": words}]}  # fmt: skip
    received = b""
    with (
        stack.client(token) as client,
        client.stream(
            "POST",
            "/tiny-llm/v1/chat/completions",
            json=body,
            headers={"X-Correlation-Id": "cut-1"},
        ) as response,
    ):
        assert response.status_code == 200  # the headers were on their way before the cut
        with pytest.raises(httpx.RemoteProtocolError):
            for chunk in response.iter_bytes():
                received += chunk
    assert 0 < len(received) <= 2000
    (call,) = stack.events(lambda e: e["payload"].get("correlation_id") == "cut-1",
                           action="llm.call")  # fmt: skip
    assert call["payload"]["refused_by"] == "response_size"


def test_curl_without_a_token_is_told_to_bring_a_bearer_token(stack: Stack) -> None:
    done = subprocess.run(
        ["curl", "--silent", "--show-error", "--cacert", str(stack.cacert), "--include",
         f"{stack.base}/echo-api/echo"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    head, _, body = done.stdout.partition("\n\n")  # text mode: CRLF read as LF
    assert head.startswith("HTTP/1.1 401 ")
    assert 'www-authenticate: bearer realm="gatehouse"' in head.lower()
    assert json.loads(body)["error"]["type"] == "unauthorized"


def test_a_slow_upstream_is_answered_with_504(stack: Stack, token: str) -> None:
    with stack.client(token) as client:
        response = client.get("/echo-api/slow", params={"s": 5})
    assert response.status_code == 504
    assert _error(response)["type"] == "gateway_timeout"


def test_an_unreachable_upstream_is_answered_with_502(stack: Stack, token: str) -> None:
    with stack.client(token) as client:
        response = client.get("/dead-api/echo")
    assert response.status_code == 502


def test_a_bad_or_missing_token_gets_401_with_a_bearer_challenge(stack: Stack) -> None:
    with stack.client("not-a-token") as client:
        bad = client.get("/echo-api/echo")
    with stack.client() as client:
        missing = client.get("/echo-api/echo")
    for response in (bad, missing):
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_an_identity_without_a_grant_gets_403(stack: Stack) -> None:
    with stack.client(stack.token(MALLORY)) as client:
        response = client.get("/echo-api/echo")
    assert response.status_code == 403
    assert "no active access grant" in _error(response)["message"]


def test_an_unknown_resource_is_404(stack: Stack, token: str) -> None:
    with stack.client(token) as client:
        response = client.get("/nope/echo")
    assert response.status_code == 404
    assert _error(response)["type"] == "not_found"


def test_plaintext_is_refused_without_allow_plaintext(stack: Stack) -> None:
    assert stack.agent.http_port is not None
    with socket.create_connection(("127.0.0.1", stack.agent.http_port), timeout=10) as sock:
        sock.sendall(b"GET /echo-api/echo HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert answer.endswith(b"TLS required")


# -- credentials -------------------------------------------------------------------------------


def test_an_oauth_resource_gets_a_token_and_refreshes_it_after_expiry(
    stack: Stack, token: str
) -> None:
    with stack.client(token) as client:
        first = client.get("/oauth-api/protected")
        again = client.get("/oauth-api/protected")
        issued = stack.upstream.oauth_tokens_issued()
        time.sleep(3.5)  # the fake endpoint's tokens live 3 s
        later = client.get("/oauth-api/protected")
    assert (first.status_code, again.status_code, later.status_code) == (200, 200, 200)
    assert issued == 1
    assert stack.upstream.oauth_tokens_issued() == 2


def test_an_https_upstream_is_reached_over_tls(stack: Stack, token: str, tmp_path: Path) -> None:
    cert, key = ensure_self_signed(tmp_path / "upstream-tls")
    with ModelUpstream(tmp_path / "tls-upstream", tls_cert=cert, tls_key=key) as secure:
        body = _resource(secure, "tls-api", {"scheme": "https", "tls_verify": False,
                         "base_path": "/api", "auth": "header"})  # fmt: skip
        stack.cp.api("POST", "/api/v1/resources", body)
        stack.grant("tls-api")
        deadline = time.monotonic() + 15
        with stack.client(token) as client:
            while (response := client.get("/tls-api/echo")).status_code in (403, 404):
                assert time.monotonic() < deadline, response.text  # config on its way
                time.sleep(0.2)
        assert response.status_code == 200, response.text
        assert response.json()["headers"]["authorization"] == f"Bearer {UPSTREAM_KEY}"


# -- masking -----------------------------------------------------------------------------------


def test_a_masked_grant_gets_json_with_its_personal_data_redacted(stack: Stack, token: str) -> None:
    with stack.client(token) as client:
        response = client.get("/masked-api/json-pii")
    assert response.status_code == 200
    text = response.text
    assert "alice.example@example.com" not in text
    assert "4111 1111 1111 1111" not in text
    assert response.json()["customer"]["id"] == 4711
    assert int(response.headers["content-length"]) == len(response.content)


def test_a_masked_grant_cannot_receive_a_binary_body(stack: Stack, token: str) -> None:
    with stack.client(token) as client:
        response = client.get("/masked-api/big", params={"bytes": 100})
    assert response.status_code == 502
    assert "cannot be masked" in _error(response)["message"]


# -- sessions: revocation and one-call grants --------------------------------------------------


def _until_admitted(stack: Stack, path: str, token: str, timeout_s: float = 15) -> None:
    """A new grant reaches the agent with its next snapshot, moments after the API call."""
    deadline = time.monotonic() + timeout_s
    with stack.client(token) as client:
        while client.get(path).status_code == 403:
            assert time.monotonic() < deadline, f"the agent never admitted {path}"
            time.sleep(0.1)


def test_revocation_closes_a_kept_alive_connection(stack: Stack) -> None:
    grant = stack.grant("revocable-api")
    token = stack.token()
    _until_admitted(stack, "/revocable-api/echo", token)
    with _tls_socket(stack) as sock:
        sock.sendall(_get("/revocable-api/echo", token))
        first = _read_response(sock)
        assert first.startswith(b"HTTP/1.1 200 ")
        stack.cp.api("POST", f"/api/v1/grants/{grant}/revoke", {})
        sock.settimeout(15)
        assert _read_all(sock) == b""  # the agent closed the connection
    # The admission probe's own connection ended too ("client disconnected"): find ours.
    ended = stack.events(
        lambda e: e["resource"] == "revocable-api" and "terminated" in e["payload"]["reason"],
        action="session.end",
    )
    assert ended


def test_revocation_cuts_a_request_in_flight(stack: Stack) -> None:
    grant = stack.grant("revocable-api")
    token = stack.token()
    _until_admitted(stack, "/revocable-api/echo", token)
    with _tls_socket(stack) as sock:
        sock.sendall(_get("/revocable-api/slow?s=20", token))
        time.sleep(1)
        started = time.monotonic()
        stack.cp.api("POST", f"/api/v1/grants/{grant}/revoke", {})
        sock.settimeout(15)
        answer = _read_all(sock)
    assert time.monotonic() - started < 10
    assert answer.startswith(b"HTTP/1.1 403 ")
    assert b"terminated" in answer


def test_a_call_scoped_grant_admits_exactly_one_request(stack: Stack) -> None:
    stack.cp.api(
        "PUT",
        "/api/v1/resources/one-call-api/policy",
        {"requester_service_accounts": [BOT], "max_duration_seconds": 600,
         "auto_approvals": [{"service_account": BOT, "max_duration_seconds": 300,
                             "scope": "call"}]},
    )  # fmt: skip
    request = stack.cp.api("POST", "/api/v1/access-requests",
                           {"resource": "one-call-api", "duration_seconds": 300,
                            "reason": "one report"}, api_key=stack.api_keys[BOT])  # fmt: skip
    assert request["status"] == "approved"
    token = stack.token(BOT)
    deadline = time.monotonic() + 15
    with stack.client(token) as client:
        while (first := client.get("/one-call-api/echo")).status_code == 403:
            assert time.monotonic() < deadline, first.text  # the grant is on its way
            time.sleep(0.2)
        assert first.status_code == 200
        assert first.headers["connection"] == "close"
        second = client.get("/one-call-api/echo")
    assert second.status_code == 403
    assert "already used" in _error(second)["message"]


# -- audit -------------------------------------------------------------------------------------


def test_requests_are_audited_with_identity_and_masked_excerpts(stack: Stack, token: str) -> None:
    with stack.client(token) as client:
        client.get("/masked-api/json-pii", headers={"X-Correlation-Id": "audit-1"})
        client.get("/echo-api/admin", headers={"X-Correlation-Id": "audit-1"})
    deadline = time.monotonic() + 15
    while len(events := stack.events(lambda e: e["payload"].get("correlation_id") == "audit-1",
                                     action="http.request")) < 2:  # fmt: skip
        assert time.monotonic() < deadline, events
        time.sleep(0.1)
    by_path = {e["payload"]["path"]: e for e in events}
    masked, refused = by_path["/json-pii"], by_path["/admin"]
    assert masked["actor_name"] == SMITH
    assert masked["payload"]["status"] == 200
    assert "alice.example@example.com" not in json.dumps(masked)
    assert masked["payload"]["response_excerpt"]
    assert (refused["payload"]["status"], refused["payload"]["refused_by"]) == (403, "route")


# -- an llm resource -------------------------------------------------------------------------


def test_a_streamed_chat_completion_passes_through_and_is_audited(stack: Stack, token: str) -> None:
    body = {"model": "gpt-4o-mini", "stream": True,
            "messages": [{"role": "user", "content": "Hello from the gateway test"}]}  # fmt: skip
    with (
        stack.client(token) as client,
        client.stream(
            "POST", "/openai/v1/chat/completions", json=body, headers={"X-Correlation-Id": "llm-1"}
        ) as response,
    ):
        assert response.status_code == 200
        data = b"".join(response.iter_bytes())
    assert b"data: [DONE]" in data
    (call,) = stack.events(lambda e: e["payload"].get("correlation_id") == "llm-1",
                           action="llm.call")  # fmt: skip
    assert call["payload"]["model"] == "gpt-4o-mini"
    assert call["payload"]["stream"] is True
    assert call["payload"]["completion"]


def test_a_spent_call_budget_is_answered_429_in_the_providers_shape(
    stack: Stack, token: str
) -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    with stack.client(token) as client:
        first = client.post("/budget-llm/v1/chat/completions", json=body)
        second = client.post("/budget-llm/v1/chat/completions", json=body)
    assert first.status_code == 200, first.text
    assert second.status_code == 429
    assert second.json()["error"]["type"] == "insufficient_quota"
    assert int(second.headers["retry-after"]) > 0


def test_an_anthropic_caller_may_send_its_gateway_token_as_x_api_key(
    stack: Stack, token: str
) -> None:
    stack.upstream.clear()
    body = {"model": "claude-sonnet-4", "max_tokens": 50,
            "messages": [{"role": "user", "content": "Hello Claude"}]}  # fmt: skip
    with stack.client() as client:
        headers = {"x-api-key": token, "anthropic-version": "2023-06-01"}
        response = client.post("/claude/v1/messages", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["content"][0]["text"] == "Echo: Hello Claude"
    (seen,) = [r for r in stack.upstream.received() if r["path"] == "/v1/messages"]
    assert seen["headers"]["x-api-key"] == stack.upstream.api_key
    assert token not in json.dumps(seen["headers"])


def test_revocation_ends_a_streaming_response_where_it_is(stack: Stack) -> None:
    grant = stack.grant("revocable-llm")
    token = stack.token()
    words = " ".join(f"word{n}" for n in range(60))  # about 80 chunks, 0.2 s apart
    body = {"model": "gpt-slow-stream", "stream": True,
            "messages": [{"role": "user", "content": words}]}  # fmt: skip
    deadline = time.monotonic() + 15
    with stack.client(token) as client:
        while True:
            with client.stream("POST", "/revocable-llm/v1/chat/completions", json=body) as response:
                if response.status_code == 403:  # the grant is on its way to the agent
                    assert time.monotonic() < deadline
                    time.sleep(0.2)
                    continue
                assert response.status_code == 200
                chunks = response.iter_bytes()
                received = next(chunks)
                stack.cp.api("POST", f"/api/v1/grants/{grant}/revoke", {})
                started = time.monotonic()
                # The stream just ends (its last chunk, or a closed connection).
                with contextlib.suppress(httpx.HTTPError):
                    for chunk in chunks:
                        received += chunk
                break
    assert time.monotonic() - started < 10
    assert b"data: [DONE]" not in received


# -- helpers -----------------------------------------------------------------------------------


def _tls_socket(stack: Stack) -> ssl.SSLSocket:
    assert stack.agent.http_port is not None
    context = ssl.create_default_context(cafile=str(stack.cacert))
    raw = socket.create_connection(("127.0.0.1", stack.agent.http_port), timeout=30)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def _get(path: str, token: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {token}\r\n\r\n".encode()


def _read_response(sock: socket.socket) -> bytes:
    """One response with a Content-Length body."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))  # fmt: skip
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data
