"""The exec API end to end: a real PostgreSQL cluster, the control plane under uvicorn, an
agent. An AI service account that holds only a gateway token runs SQL through
``POST /api/v1/resources/{name}/exec``; the agent runs each call as a native session, so
masking, guardrails, single-use grants and the audit trail apply as they do to psql.

- execdb: exec-bot is auto-approved for one call at a time; results are masked for service
  accounts and DROP is refused by a guardrail.
- pendingdb: exec-bot may ask, and an approver (bob) must decide.
- holddb: exec-bot holds a grant; every write is held for an approver.
- exec-api: an http resource in front of the fake upstream (devstack/model_upstream);
  exec-bot holds a grant on it.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.model_upstream import ModelUpstream
from devstack.postgres import PostgresCluster
from tests.integration.conftest import Gateway, _start_stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

BOT = "exec-bot"
UPSTREAM_KEY = "upstream-key-exec"
CUSTOMERS = [
    ("Ada Byron", "ada.byron@example.com"),
    ("Alan Turing", "alan@bletchley.example.org"),
]


def _resource(gateway: Gateway, name: str) -> None:
    pg = gateway.pg
    gateway.cp.api(
        "POST",
        "/api/v1/resources",
        {"name": name, "protocol": "postgres", "agent": "edge-1", "host": pg.host,
         "port": pg.port, "database": "postgres", "upstream_user": pg.scram.user,
         "upstream_password": pg.scram.password, "upstream_tls": "prefer"},
    )  # fmt: skip


def _policies(gateway: Gateway, root: Path) -> None:
    gateway.cp.api(
        "PUT",
        "/api/v1/resources/execdb/policy",
        {"requester_service_accounts": [BOT], "max_duration_seconds": 600,
         "auto_approvals": [{"service_account": BOT, "max_duration_seconds": 300,
                             "scope": "call"}]},
    )  # fmt: skip
    gateway.cp.api(
        "PUT",
        "/api/v1/resources/pendingdb/policy",
        {"requester_service_accounts": [BOT], "max_duration_seconds": 600},
    )
    gateway.cp.manage(
        "set_masking_policy", "exec-ai", "--resource", "execdb",
        "--applies-to", "service_accounts", "--default", "redact",
    )  # fmt: skip
    gateway.cp.manage(
        "set_guardrail_policy", "exec-hold-writes", "--hold-writes",
        "--resource", "holddb", "--applies-to", "service_accounts",
    )  # fmt: skip
    gateway.cp.manage(
        "set_guardrail_policy", "exec-no-drop", "--deny-classes", "drop",
        "--resource", "execdb", "--applies-to", "service_accounts",
    )  # fmt: skip


def _http_resource(gateway: Gateway, upstream: ModelUpstream) -> None:
    gateway.cp.api(
        "POST",
        "/api/v1/resources",
        {"name": "exec-api", "protocol": "http", "agent": "edge-1", "host": "127.0.0.1",
         "port": upstream.port, "upstream_user": "", "upstream_password": UPSTREAM_KEY,
         "http": {"scheme": "http", "base_path": "/api", "auth": "header",
                  "auth_header": "X-Upstream-Key", "auth_value_prefix": ""}},
    )  # fmt: skip
    gateway.grant(BOT, "exec-api")


@pytest.fixture(scope="module")
def stack(pg: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    pg.admin_psql(
        "drop table if exists exec_customers; drop table if exists exec_notes;"
        "create table exec_customers (id serial primary key, name text, email text);"
        f"grant select on exec_customers to {pg.scram.user};"
        "create table exec_notes (n int);"
        f"grant select, insert on exec_notes to {pg.scram.user};"
    )
    for name, email in CUSTOMERS:
        pg.admin_psql(f"insert into exec_customers (name, email) values ('{name}', '{email}')")
    root = tmp_path_factory.mktemp("exec")
    gateway = _start_stack(pg, root)
    gateway.api_keys[BOT] = gateway.cp.api("POST", "/api/v1/service-accounts", {"name": BOT})[
        "api_key"
    ]
    bob_key = root / "bob.key"
    gateway.cp.manage("create_admin", "bob", "--api-key-out", str(bob_key))
    gateway.api_keys["bob"] = bob_key.read_text().strip()
    for name in ("execdb", "pendingdb", "holddb"):
        _resource(gateway, name)
    _policies(gateway, root)
    gateway.grant(BOT, "holddb")
    upstream = ModelUpstream(root / "upstream").start()
    try:
        _http_resource(gateway, upstream)
        yield gateway
    finally:
        gateway.agent.stop()
        gateway.cp.stop()
        upstream.stop()
        pg.admin_psql("drop table if exists exec_customers; drop table if exists exec_notes")


def exec_call(
    gateway: Gateway, resource: str, body: dict[str, Any], *, token: str, correlation_id: str = ""
) -> tuple[int, dict[str, Any]]:
    """POST the exec API with only a gateway token; (status, JSON body)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if correlation_id:
        headers["X-Correlation-Id"] = correlation_id
    request = urllib.request.Request(
        f"{gateway.cp.url}/api/v1/resources/{resource}/exec",
        data=json.dumps(body).encode(),
        method="POST",
        headers=headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _until_guarded(gateway: Gateway, token: str) -> None:
    """Policies reach the agent asynchronously: probe with a DROP of a table that does not
    exist (refused by the guardrail once it applies; 'does not exist' before)."""
    deadline = time.monotonic() + 30
    while True:
        status, _ = exec_call(gateway, "execdb", {"sql": "drop table no_such"}, token=token)
        if status == 403:
            return
        assert time.monotonic() < deadline, "the guardrail never reached the agent"
        time.sleep(0.2)


def test_an_ai_with_only_a_gateway_token_reads_masked_rows_on_a_grant_per_call(
    stack: Gateway,
) -> None:
    token = stack.token(BOT)
    _until_guarded(stack, token)
    body = {"sql": "select id, name, email from exec_customers order by id"}

    status, answer = exec_call(stack, "execdb", body, token=token, correlation_id="run-select")
    again, _ = exec_call(stack, "execdb", body, token=token, correlation_id="run-select")

    assert (status, again) == (200, 200), answer
    result = answer["result"]
    assert [c["name"] for c in result["columns"]] == ["id", "name", "email"]
    assert result["columns"][0]["type"] == "int4"
    assert result["row_count"] == 2 and result["truncated"] is False
    assert [row[0] for row in result["rows"]] == [1, 2]
    text = json.dumps(answer)
    assert not any(email in text for _, email in CUSTOMERS), text
    assert "[EMAIL_ADDRESS]" in text
    calls = stack.wait_for_events(
        lambda events: len([e for e in events if e["payload"].get("outcome") == "done"]) >= 2,
        action="exec.call",
    )
    done = [e for e in calls if e["payload"]["correlation_id"] == "run-select"]
    assert [e["payload"]["per_call_grant"] for e in done] == [True, True]
    assert done[0]["payload"]["grant"] != done[1]["payload"]["grant"]  # a new grant each
    assert "exec_customers" not in json.dumps(done[0]["payload"])  # the digest only


def test_the_agents_statement_events_carry_the_correlation_id(stack: Gateway) -> None:
    token = stack.token(BOT)
    _until_guarded(stack, token)
    sql = "select count(*) from exec_customers"

    status, answer = exec_call(stack, "execdb", {"sql": sql}, token=token, correlation_id="run-7")

    assert status == 200 and answer["result"]["rows"] == [[2]], answer
    events = stack.wait_for_events(
        lambda events: any(e["payload"].get("statement") == sql for e in events),
        action="statement",
    )
    (statement,) = [e for e in events if e["payload"].get("statement") == sql]
    assert statement["payload"]["correlation_id"] == "run-7"
    assert statement["actor_name"] == BOT
    session = stack.wait_for_events(
        lambda events: any(e["session"] == statement["session"] for e in events),
        action="session.start",
    )
    assert any(e["payload"].get("correlation_id") == "run-7" for e in session)


def test_a_guardrail_refuses_drop_with_403_naming_the_rule(stack: Gateway) -> None:
    token = stack.token(BOT)
    _until_guarded(stack, token)

    status, answer = exec_call(stack, "execdb", {"sql": "drop table exec_customers"}, token=token)

    assert status == 403, answer
    assert answer["error"]["code"] == "guardrail_denied"
    assert answer["error"]["rule"]
    assert answer["error"]["sqlstate"] == "42501"


def test_a_sql_error_answers_422_with_its_sqlstate(stack: Gateway) -> None:
    token = stack.token(BOT)

    status, answer = exec_call(stack, "execdb", {"sql": "select * from nowhere"}, token=token)

    assert status == 422, answer
    assert answer["status"] == "error"
    assert answer["error"]["sqlstate"] == "42P01"


def test_without_an_auto_approval_the_call_waits_for_bob_then_succeeds(stack: Gateway) -> None:
    token = stack.token(BOT)
    body = {"sql": "select 40 + 2 as answer", "reason": "the weekly numbers"}

    status, pending = exec_call(stack, "pendingdb", body, token=token)

    assert status == 202, pending
    assert pending["status"] == "pending"
    stack.cp.api(
        "POST",
        f"/api/v1/access-requests/{pending['access_request']}/approve",
        {"comment": "fine"},
        api_key=stack.api_keys["bob"],
    )
    status, answer = exec_call(stack, "pendingdb", body, token=token)
    assert status == 200, answer
    assert answer["result"]["rows"] == [[42]]
    (call,) = [
        e
        for e in stack.events(action="exec.call", resource="pendingdb")
        if e["payload"]["outcome"] == "done"
    ]
    assert call["payload"]["per_call_grant"] is False


def test_an_http_call_reaches_the_upstream_with_the_resources_key_not_the_callers(
    stack: Gateway,
) -> None:
    token = stack.token(BOT)
    call = {
        "method": "POST",
        "path": "/echo/orders?limit=5",
        "headers": {"Authorization": "Bearer not-this", "X-Trace": "t1"},
        "body": '{"order": 42}',
    }

    status, answer = exec_call(
        stack, "exec-api", {"http": call}, token=token, correlation_id="run-http"
    )

    assert status == 200, answer
    result = answer["result"]
    assert result["status"] == 200
    echoed = json.loads(result["body"])
    assert (echoed["method"], echoed["path"], echoed["query"]) == (
        "POST",
        "/api/echo/orders",
        "limit=5",
    )
    assert echoed["headers"]["x-upstream-key"] == UPSTREAM_KEY
    assert echoed["headers"]["x-trace"] == "t1"
    assert "authorization" not in echoed["headers"]
    assert echoed["body"] == '{"order": 42}'
    events = stack.wait_for_events(
        lambda events: any(e["payload"].get("correlation_id") == "run-http" for e in events),
        action="http.request",
    )
    assert any(e["actor_name"] == BOT for e in events)


def test_sql_on_an_http_resource_is_refused_with_400(stack: Gateway) -> None:
    status, _ = exec_call(stack, "exec-api", {"sql": "select 1"}, token=stack.token(BOT))

    assert status == 400


def _pending_hold(gateway: Gateway, sql: str) -> str:
    """The id of the hold on ``sql`` once the control plane lists it."""
    deadline = time.monotonic() + 20
    while True:
        holds = gateway.cp.api("GET", "/api/v1/statement-holds", api_key=gateway.api_keys["bob"])
        found = [h["id"] for h in holds["results"] if h["statement"] == sql]
        if found:
            return str(found[0])
        assert time.monotonic() < deadline, f"never held: {sql}"
        time.sleep(0.2)


def _until_holding(gateway: Gateway, token: str) -> None:
    """The hold policy reaches the agent asynchronously: until a write answers 409."""
    deadline = time.monotonic() + 30
    body = {"sql": "insert into exec_notes values (0)", "timeout_s": 1}
    while exec_call(gateway, "holddb", body, token=token)[0] != 409:
        assert time.monotonic() < deadline, "the hold policy never reached the agent"
        time.sleep(0.2)


def test_a_held_write_not_decided_within_timeout_s_answers_409_with_the_hold(
    stack: Gateway,
) -> None:
    token = stack.token(BOT)
    _until_holding(stack, token)
    body = {"sql": "insert into exec_notes values (1)", "timeout_s": 2}

    status, answer = exec_call(stack, "holddb", body, token=token)

    assert status == 409, answer
    assert answer["status"] == "held" and answer["hold"]
    assert answer["error"]["code"] == "held"
    assert answer["error"]["rule"]


def test_a_held_write_approved_by_bob_while_the_call_waits_runs(stack: Gateway) -> None:
    token = stack.token(BOT)
    _until_holding(stack, token)
    sql = "insert into exec_notes values (2)"
    answers: list[tuple[int, dict[str, Any]]] = []
    call = threading.Thread(
        target=lambda: answers.append(
            exec_call(stack, "holddb", {"sql": sql, "timeout_s": 30}, token=token)
        )
    )
    call.start()
    try:
        hold = _pending_hold(stack, sql)
        stack.cp.api(
            "POST", f"/api/v1/statement-holds/{hold}/approve", api_key=stack.api_keys["bob"]
        )
    finally:
        call.join(timeout=60)
    ((status, answer),) = answers
    assert status == 200, answer
    assert answer["result"]["command_tag"] == "INSERT 0 1"
    assert stack.pg.admin_psql("select count(*) from exec_notes where n = 2").strip() == "1"
