"""The MCP server end to end, driven by the official ``mcp`` SDK client: a real PostgreSQL
cluster, the control plane under uvicorn, an agent, an OpenID provider, and bob in real
Chromium.

mcp-bot is an AI service account. Its gateway token comes from the token exchange, with
alice's own IdP token as the actor token, so everything it does is on behalf of alice.

- mcpdb: mcp-bot may request access and an auto-approval rule grants it at once; results
  are masked for service accounts.
- mcpprod: mcp-bot holds a grant, but a tool rule holds every query_database there until an
  approver (bob, signed in through the provider) decides.
- a tool rule denies call_http to service accounts everywhere but on mcpapi, an http resource
  on the fake provider whose OAuth token the agent buys and injects.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult
from playwright.sync_api import Browser, BrowserContext, Page, expect

from devstack.gatehouse import Agent, ControlPlane
from devstack.model_upstream import ModelUpstream
from devstack.oidc_provider import PERSONAS, OidcProvider, control_plane_client
from devstack.ports import free_port
from devstack.postgres import PostgresCluster
from tests.controlplane.federation.local_idp import AUDIENCE, CLIENT_ID, LocalIdP

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

BOT = "mcp-bot"
AGENT_NAME = "edge-mcp"
PASSWORDS = {user.username: user.password for user in PERSONAS}
ALICE_SUBJECT = "alice-at-corp-idp"
CUSTOMERS = [("Ada Byron", "ada.byron@example.com"), ("Alan Turing", "alan@bletchley.example.org")]
TOOLS = {"list_resources", "query_database", "call_http", "request_access"}
SELECT = "select id, name, email from mcp_customers order by id"

# alice signed in through the corporate IdP once: her (iss, sub) is linked to her.
_ALICE_SIGNED_IN = """
from controlplane.identities.models import ExternalIdentity, User
alice, _ = User.objects.get_or_create(username="alice", defaults={{"email": "alice@example.com"}})
ExternalIdentity.objects.create(issuer={issuer!r}, subject={subject!r}, user=alice)
"""


@dataclass
class McpStack:
    cp: ControlPlane
    agent: Agent
    provider: OidcProvider
    idp: LocalIdP

    def bot_token(self) -> str:
        """mcp-bot's gateway token, exchanged with alice's IdP token as the actor token."""
        form = {
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": self.idp.token(),
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "actor_token": self.idp.token(kid="ec-1", sub=ALICE_SUBJECT, client_id="cli"),
            "actor_token_type": "urn:ietf:params:oauth:token-type:id_token",
        }
        request = urllib.request.Request(
            self.cp.url + "/api/v1/token-exchange",
            data=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(json.loads(response.read())["access_token"])

    def events(self, predicate: Callable[[list[dict[str, Any]]], bool], **filters: str) -> list:
        deadline = time.monotonic() + 20
        while True:
            events = self.cp.audit_events(**filters)
            if predicate(events):
                return events
            assert time.monotonic() < deadline, [e["action"] for e in events][-20:]
            time.sleep(0.2)


@pytest.fixture(scope="module")
def stack(pg: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpStack]:
    pg.admin_psql(
        "drop table if exists mcp_customers;"
        "create table mcp_customers (id serial primary key, name text, email text);"
        f"grant select on mcp_customers to {pg.scram.user};"
    )
    for name, email in CUSTOMERS:
        pg.admin_psql(f"insert into mcp_customers (name, email) values ('{name}', '{email}')")
    root = tmp_path_factory.mktemp("mcp")
    cp_port = free_port()
    provider = OidcProvider(
        root / "provider", clients=[control_plane_client(f"http://127.0.0.1:{cp_port}")]
    ).start()
    cp = ControlPlane(root / "controlplane", port=cp_port, extra_env=provider.relying_party_env())
    agent: Agent | None = None
    try:
        cp.bootstrap()
        cp.start()
        agent_token = cp.api("POST", "/api/v1/agents", {"name": AGENT_NAME})["token"]
        cp.api("POST", "/api/v1/service-accounts", {"name": BOT})
        _resources_and_rules(cp, pg)
        agent = Agent(root / "agent", control_plane_url=cp.url, token=agent_token).start()
        with LocalIdP() as idp:
            _federation(cp, idp)
            yield McpStack(cp=cp, agent=agent, provider=provider, idp=idp)
    finally:
        if agent is not None:
            agent.stop()
        cp.stop()
        provider.stop()
        pg.admin_psql("drop table if exists mcp_customers")


def _resources_and_rules(cp: ControlPlane, pg: PostgresCluster) -> None:
    for name in ("mcpdb", "mcpprod"):
        cp.api(
            "POST",
            "/api/v1/resources",
            {"name": name, "protocol": "postgres", "agent": AGENT_NAME, "host": pg.host,
             "port": pg.port, "database": "postgres", "upstream_user": pg.scram.user,
             "upstream_password": pg.scram.password, "upstream_tls": "prefer"},
        )  # fmt: skip
    cp.api(
        "PUT",
        "/api/v1/resources/mcpdb/policy",
        {"requester_service_accounts": [BOT], "approver_groups": ["approvers"],
         "max_duration_seconds": 3600,
         "auto_approvals": [{"service_account": BOT, "max_duration_seconds": 1800}]},
    )  # fmt: skip
    cp.api(
        "PUT",
        "/api/v1/resources/mcpprod/policy",
        {"requester_service_accounts": [BOT], "approver_groups": ["approvers"],
         "max_duration_seconds": 3600},
    )  # fmt: skip
    cp.api(
        "POST",
        "/api/v1/grants",
        {"identity": BOT, "resource": "mcpprod", "duration_seconds": 3600, "reason": "reports"},
    )
    cp.manage(
        "set_masking_policy", "mcp-ai", "--resource", "mcpdb",
        "--applies-to", "service_accounts", "--default", "redact",
    )  # fmt: skip
    cp.manage(
        "set_mcp_tool_rule", "prod-sql-held", "--effect", "hold", "--tool", "query_database",
        "--resource", "mcpprod", "--applies-to", "service_accounts", "--hold-timeout", "120",
    )  # fmt: skip
    cp.api(
        "POST",
        "/api/v1/mcp-tool-rules",
        {"name": "bots-no-http", "tool": "call_http", "applies_to": "service_accounts",
         "effect": "deny"},
    )  # fmt: skip


def _federation(cp: ControlPlane, idp: LocalIdP) -> None:
    cp.api(
        "POST",
        "/api/v1/trusted-issuers",
        {"name": "corp-idp", "issuer": idp.issuer, "audience": AUDIENCE,
         "algorithms": ["RS256", "ES256"], "jwks_url": idp.jwks_url},
    )  # fmt: skip
    cp.api(
        "POST",
        "/api/v1/trusted-issuers/corp-idp/bindings",
        {"subject": CLIENT_ID, "service_account": BOT},
    )
    cp.manage("shell", "-c", _ALICE_SIGNED_IN.format(issuer=idp.issuer, subject=ALICE_SUBJECT))


Work = Callable[[ClientSession], Awaitable[Any]]


def mcp(stack: McpStack, token: str, work: Work, *, correlation_id: str = "") -> Any:
    """Open an MCP session with the SDK client (bearer token, optional correlation id),
    initialize it, and run ``work`` in it."""
    headers = {"Authorization": f"Bearer {token}"}
    if correlation_id:
        headers["X-Correlation-Id"] = correlation_id

    async def session() -> Any:
        timeout = httpx2.Timeout(30, read=300)
        async with (
            httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
            streamable_http_client(stack.cp.url + "/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            return await work(client)

    return asyncio.run(session())


def structured(result: CallToolResult) -> dict[str, Any]:
    assert result.structured_content is not None, result
    assert json.loads(result.content[0].text) == result.structured_content  # type: ignore[union-attr]
    return result.structured_content


def _masked_rows(client: ClientSession) -> Awaitable[CallToolResult]:
    """query_database on mcpdb, again while the agent has not heard of the new grant yet."""

    async def query() -> CallToolResult:
        deadline = time.monotonic() + 20
        while True:
            result = await client.call_tool("query_database", {"resource": "mcpdb", "sql": SELECT})
            code = (result.structured_content or {}).get("error", {}).get("code")
            if code != "refused" or time.monotonic() > deadline:
                return result
            await asyncio.sleep(0.3)

    return query()


def test_an_ai_lists_requests_access_queries_masked_rows_and_is_denied_http(
    stack: McpStack,
) -> None:
    async def work(client: ClientSession) -> dict[str, Any]:
        tools = await client.list_tools()
        listed = await client.call_tool("list_resources", {})
        asked = await client.call_tool(
            "request_access",
            {"resource": "mcpdb", "reason": "monthly report", "duration_minutes": 15},
        )
        rows = await _masked_rows(client)
        http = await client.call_tool(
            "call_http", {"resource": "mcpdb", "method": "GET", "path": "/"}
        )
        return {"tools": tools, "listed": listed, "asked": asked, "rows": rows, "http": http}

    done = mcp(stack, stack.bot_token(), work, correlation_id="mcp-run-1")

    assert {tool.name for tool in done["tools"].tools} == TOOLS
    resources = {r["name"]: r for r in structured(done["listed"])["resources"]}
    assert resources["mcpdb"]["grant"] is None and resources["mcpdb"]["may_request"] is True
    assert resources["mcpprod"]["grant"]["expires_at"]
    asked = structured(done["asked"])
    assert asked["status"] == "granted" and asked["request_id"], asked
    assert done["rows"].is_error is False, done["rows"]
    result = structured(done["rows"])
    assert [c["name"] for c in result["columns"]] == ["id", "name", "email"]
    assert [row[0] for row in result["rows"]] == [1, 2]
    text = json.dumps(result)
    assert not any(email in text for _, email in CUSTOMERS), text
    assert "[EMAIL_ADDRESS]" in text
    denied = structured(done["http"])["error"]
    assert done["http"].is_error is True
    assert (denied["code"], denied["rule"]) == ("denied_by_rule", "bots-no-http")

    def in_run(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in events if e["payload"]["correlation_id"] == "mcp-run-1"]

    run = in_run(stack.events(lambda evs: len(in_run(evs)) >= 4, action="mcp.tool_call"))
    # (query_database again while the agent had not heard of the new grant yet: once here)
    assert list(dict.fromkeys(e["payload"]["tool"] for e in run)) == [
        "list_resources",
        "request_access",
        "query_database",
        "call_http",
    ]
    assert all(e["actor_name"] == BOT and e["on_behalf_of"]["name"] == "alice" for e in run)
    assert SELECT not in json.dumps(run)  # digests only
    outcomes = {e["payload"]["tool"]: e["payload"]["outcome"] for e in run}  # the last of each
    assert outcomes["query_database"] == "ok" and outcomes["call_http"] == "denied_by_rule"
    statements = stack.events(
        lambda evs: any(e["payload"].get("statement") == SELECT for e in evs), action="statement"
    )
    ran = next(e for e in statements if e["payload"].get("statement") == SELECT)
    assert ran["payload"]["correlation_id"] == "mcp-run-1"
    assert (ran["actor_name"], ran["on_behalf_of"]["name"]) == (BOT, "alice")


def test_an_idp_access_token_of_the_bound_client_is_accepted_and_nothing_else(
    stack: McpStack,
) -> None:
    async def work(client: ClientSession) -> CallToolResult:
        return await client.call_tool("list_resources", {})

    listed = mcp(stack, stack.idp.token(), work)
    assert {r["name"] for r in structured(listed)["resources"]} == {"mcpdb", "mcpprod"}

    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        request = urllib.request.Request(
            stack.cp.url + "/mcp",
            data=b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}',
            method="POST",
            headers={"Content-Type": "application/json", **headers},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 401
        assert refused.value.headers["WWW-Authenticate"].startswith('Bearer realm="gatehouse"')


@pytest.fixture
def bob(browser: Browser, stack: McpStack) -> Iterator[Page]:
    """bob, signed in through the provider, on his inbox."""
    context: BrowserContext = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(stack.cp.url + "/inbox/")
    page.get_by_role("link", name="Sign in with your organisation").click()
    expect(page).to_have_url(re.compile(re.escape(stack.provider.issuer) + "/interaction/"))
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(PASSWORDS["bob"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(f"^({re.escape(stack.cp.url)}/|.*/interaction/)"))
    allow = page.get_by_role("button", name="Allow")
    if page.url.startswith(stack.provider.issuer) and allow.count():
        allow.click()
    page.wait_for_url(stack.cp.url + "/inbox/")
    yield page
    context.close()


class HeldCall(threading.Thread):
    """mcp-bot's query on mcpprod, which waits for an approver."""

    def __init__(self, stack: McpStack, token: str, sql: str) -> None:
        super().__init__(name="mcp-held-call", daemon=True)
        self.stack, self.token, self.sql = stack, token, sql
        self.result: CallToolResult | None = None

    def run(self) -> None:
        async def work(client: ClientSession) -> CallToolResult:
            arguments = {"resource": "mcpprod", "sql": self.sql}
            return await client.call_tool("query_database", arguments)

        self.result = mcp(self.stack, self.token, work, correlation_id="mcp-held-1")


def _held(stack: McpStack, sql: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        holds = stack.cp.api("GET", "/api/v1/tool-call-holds")["results"]
        for hold in holds:
            if hold["arguments"].get("sql") == sql:
                return hold
        assert time.monotonic() < deadline, f"never held: {sql}"
        time.sleep(0.2)


def test_a_held_query_runs_once_bob_approves_it_in_the_console(stack: McpStack, bob: Page) -> None:
    sql = "select count(*) from mcp_customers"
    call = HeldCall(stack, stack.bot_token(), sql)
    call.start()
    hold = _held(stack, sql)
    assert (hold["identity"], hold["on_behalf_of"], hold["rule"]) == (
        BOT,
        "alice",
        "prod-sql-held",
    )
    assert call.is_alive(), "the call waits for the decision"

    row = bob.locator("#held-tool-calls article", has_text="count(*)")
    expect(row.locator("pre.arguments")).to_contain_text(sql)  # the exact statement
    for shown in (BOT, "for alice", "mcpprod", "prod-sql-held"):
        expect(row).to_contain_text(shown)
    row.get_by_role("button", name=f"Approve {BOT}'s tool call").click()
    call.join(60)

    assert call.result is not None and call.result.is_error is False, call.result
    assert structured(call.result)["rows"] == [[2]]
    held = stack.events(lambda evs: bool(evs), action="mcp.tool_call_held")
    approved = stack.events(lambda evs: bool(evs), action="mcp.hold_approved")
    assert held[-1]["on_behalf_of"]["name"] == "alice"
    assert approved[-1]["actor_name"] == "bob"
    assert approved[-1]["payload"]["hold"] == hold["id"]
    calls = stack.events(
        lambda evs: any(e["payload"]["correlation_id"] == "mcp-held-1" for e in evs),
        action="mcp.tool_call",
    )
    done = next(e for e in calls if e["payload"]["correlation_id"] == "mcp-held-1")
    assert (done["payload"]["outcome"], done["payload"]["approved_by"]) == ("ok", "bob")
    assert (done["actor_name"], done["on_behalf_of"]["name"]) == (BOT, "alice")


# -- call_http through a real http resource -----------------------------------------------------

API = "mcpapi"


@pytest.fixture(scope="module")
def upstream(stack: McpStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelUpstream]:
    """The fake provider behind "mcpapi", whose /protected answers only with a token from its
    /oauth/token: the agent buys one with the resource's client secret and injects it. mcp-bot
    holds a grant, and a tool rule lets service accounts call_http there (bots-no-http still
    denies it everywhere else)."""
    with ModelUpstream(tmp_path_factory.mktemp("mcp-upstream")) as provider:
        stack.cp.api(
            "POST",
            "/api/v1/resources",
            {"name": API, "protocol": "http", "agent": AGENT_NAME, "host": "127.0.0.1",
             "port": provider.port, "database": "", "upstream_user": provider.oauth_client_id,
             "upstream_password": provider.oauth_client_secret,
             "http": {"scheme": "http", "base_path": "/api", "auth": "oauth_client_credentials",
                      "token_url": provider.url + "/oauth/token"}},
        )  # fmt: skip
        stack.cp.api(
            "POST",
            "/api/v1/grants",
            {"identity": BOT, "resource": API, "duration_seconds": 3600, "reason": "api report"},
        )
        stack.cp.api(
            "POST",
            "/api/v1/mcp-tool-rules",
            {"name": "bots-http-on-mcpapi", "tool": "call_http", "resource": API,
             "applies_to": "service_accounts", "effect": "allow", "priority": 100},
        )  # fmt: skip
        yield provider


async def _protected_once_granted(client: ClientSession) -> CallToolResult:
    """call_http GET /protected, again while the agent has not heard of the grant yet."""
    deadline = time.monotonic() + 20
    while True:
        arguments = {"resource": API, "method": "GET", "path": "/protected"}
        result = await client.call_tool("call_http", arguments)
        code = (result.structured_content or {}).get("error", {}).get("code")
        if code != "refused" or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.3)


def test_call_http_reaches_the_upstream_with_a_credential_the_caller_never_sees(
    stack: McpStack, upstream: ModelUpstream
) -> None:
    token = stack.bot_token()

    # In a thread of its own: a browser test before this one leaves an event loop running here.
    with ThreadPoolExecutor(1) as thread:
        running = thread.submit(
            mcp, stack, token, _protected_once_granted, correlation_id="mcp-http-1"
        )
        result = running.result(timeout=120)

    assert result.is_error is False, result
    answer = structured(result)
    assert answer["status"] == 200
    assert json.loads(answer["body"]) == {"ok": True, "resource": "protected"}
    received = upstream.received()
    bought = next(r for r in received if r["path"] == "/oauth/token")
    secret = f"{upstream.oauth_client_id}:{upstream.oauth_client_secret}"
    assert (
        bought["headers"]["authorization"] == "Basic " + base64.b64encode(secret.encode()).decode()
    )
    called = next(r for r in received if r["path"] == "/api/protected")
    injected = called["headers"]["authorization"].removeprefix("Bearer ")
    assert injected and token not in json.dumps(received)  # the gateway token stops at Gatehouse
    shown = json.dumps(answer)
    assert upstream.oauth_client_secret not in shown and injected not in shown

    def in_run(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in events if e["payload"].get("correlation_id") == "mcp-http-1"]

    tool_calls = in_run(stack.events(lambda evs: bool(in_run(evs)), action="mcp.tool_call"))
    requests = in_run(stack.events(lambda evs: bool(in_run(evs)), action="http.request"))
    assert tool_calls[-1]["payload"]["outcome"] == "ok"
    assert (tool_calls[-1]["actor_name"], tool_calls[-1]["on_behalf_of"]["name"]) == (BOT, "alice")
    assert (requests[-1]["resource"], requests[-1]["payload"]["status"]) == (API, 200)
    assert requests[-1]["payload"]["path"] == "/protected"
