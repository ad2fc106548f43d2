"""The headline journey of issue 3, with real components end to end: a PostgreSQL cluster with
access-level roles, the OpenID provider (oidc-provider under node), the control plane under
uvicorn, an agent, and two people in real Chromium.

alice (requesters) asks for 2 minutes of read-only access to "jitdb"; bob (approvers) approves
in his inbox; alice gets a gateway token on "My access" and her psycopg session through the
agent reads but cannot write; bob revokes the grant in his browser and alice's live session is
cut within a second; carol (auditors) reads the whole trail through the audit API with her
browser session. The resource uses ephemeral credentials: alice's session runs as a role made
for it, inside gh_readonly."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from devstack.gatehouse import Agent, ControlPlane
from devstack.oidc_provider import PERSONAS, OidcProvider, control_plane_client
from devstack.ports import free_port
from devstack.postgres import PostgresCluster

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

PASSWORDS = {user.username: user.password for user in PERSONAS}
RESOURCE = "jitdb"
AGENT_NAME = "edge-jit"
REASON = "debug ticket 4711"


@dataclass
class Journey:
    provider: OidcProvider
    cp: ControlPlane
    agent: Agent


def _resource_and_policy(cp: ControlPlane, pg: PostgresCluster) -> None:
    levels = pg.create_access_level_roles()
    cp.api(
        "POST",
        "/api/v1/resources",
        {
            "name": RESOURCE,
            "protocol": "postgres",
            "agent": AGENT_NAME,
            "host": pg.host,
            "port": pg.port,
            "database": "postgres",
            "upstream_user": pg.scram.user,
            "upstream_password": pg.scram.password,
            "upstream_tls": "prefer",
            "credential_mode": "ephemeral",
            "access_levels": [{"name": n, "upstream_role": r} for n, r in levels.items()],
            "default_access_level": "read-only",
        },
    )
    cp.api(
        "PUT",
        f"/api/v1/resources/{RESOURCE}/policy",
        {
            "requester_groups": ["requesters"],
            "approver_groups": ["approvers"],
            "min_approvals": 1,
            "max_duration_seconds": 600,
            "access_levels": ["read-only", "read-write"],
            "default_access_level": "read-only",
        },
    )


@pytest.fixture(scope="module")
def journey(pg: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Journey]:
    root = tmp_path_factory.mktemp("jit-journey")
    cp_port, agent_port = free_port(), free_port()
    provider = OidcProvider(
        root / "provider", clients=[control_plane_client(f"http://127.0.0.1:{cp_port}")]
    ).start()
    env = {
        **provider.relying_party_env(),
        "GATEHOUSE_AGENT_PUBLIC_ADDRESS": f"127.0.0.1:{agent_port}",
    }
    cp = ControlPlane(root / "controlplane", port=cp_port, extra_env=env)
    agent: Agent | None = None
    try:
        cp.bootstrap()
        cp.start()
        token = cp.api("POST", "/api/v1/agents", {"name": AGENT_NAME})["token"]
        _resource_and_policy(cp, pg)
        agent = Agent(
            root / "agent", control_plane_url=cp.url, token=token, postgres_port=agent_port
        ).start()
        yield Journey(provider=provider, cp=cp, agent=agent)
    finally:
        if agent is not None:
            agent.stop()
        cp.stop()
        provider.stop()


@pytest.fixture
def person(browser: Browser, journey: Journey) -> Iterator[Callable[[str, str], Page]]:
    """``person("alice", "/resources/")``: her own browser (fresh cookies), signed in through
    the provider, on that page."""
    contexts: list[BrowserContext] = []

    def sign_in(username: str, path: str) -> Page:
        context = browser.new_context()
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(journey.cp.url + path)
        page.get_by_role("link", name="Sign in with your organisation").click()
        expect(page).to_have_url(re.compile(re.escape(journey.provider.issuer) + "/interaction/"))
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORDS[username])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(f"^({re.escape(journey.cp.url)}/|.*/interaction/)"))
        allow = page.get_by_role("button", name="Allow")
        if page.url.startswith(journey.provider.issuer) and allow.count():
            allow.click()
        page.wait_for_url(journey.cp.url + path)
        return page

    yield sign_in
    for context in contexts:
        context.close()


def _conninfo_from(page: Page) -> str:
    command = page.get_by_label("psql command").input_value()
    match = re.fullmatch(r'psql "(?P<conninfo>[^"]+)"', command.strip())
    assert match, command
    return match["conninfo"]


def _connect_once_the_grant_arrives(conninfo: str) -> psycopg.Connection[Any]:
    deadline = time.monotonic() + 10
    while True:  # the approval reaches the agent in a pushed snapshot, asynchronously
        try:
            return psycopg.connect(conninfo, autocommit=True)
        except psycopg.OperationalError as exc:
            if "no active access grant" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class LiveSession(threading.Thread):
    """Alice's long-running query, and when and how it was cut."""

    def __init__(self, conninfo: str) -> None:
        super().__init__(name="alice-live-session", daemon=True)
        self.conninfo = conninfo
        self.running = threading.Event()
        self.error = ""
        self.cut_at = 0.0

    def run(self) -> None:
        try:
            with psycopg.connect(self.conninfo) as conn:
                conn.execute("select 1")
                self.running.set()
                conn.execute("select pg_sleep(30)")
        except psycopg.OperationalError as exc:
            self.cut_at = time.monotonic()
            self.error = str(exc)


def _audit_trail(carol: Page, cp: ControlPlane, wanted: Callable[[list[dict[str, Any]]], bool]):
    """Every audit event, oldest first, read with carol's browser session (she is an
    auditor); polled, because agent events arrive asynchronously."""
    deadline = time.monotonic() + 15
    while True:
        response = carol.request.get(cp.url + "/api/v1/audit/events?page_size=1000")
        assert response.status == 200, response.text()
        events = list(reversed(response.json()["results"]))
        if wanted(events) or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def _has(events: list[dict[str, Any]], action: str, actor: str = "", **payload: Any) -> bool:
    return any(
        e["action"] == action
        and (not actor or e["actor_name"] == actor)
        and all(e["payload"].get(k) == v for k, v in payload.items())
        for e in events
    )


def test_alice_asks_bob_approves_alice_reads_bob_revokes_carol_sees_it_all(
    journey: Journey, person: Callable[[str, str], Page]
) -> None:
    started = time.monotonic()

    # alice asks for two minutes of read-only access on the resource's page.
    alice = person("alice", f"/resources/{RESOURCE}/")
    offer = alice.get_by_role("region", name=f"Request access to {RESOURCE}")
    offer.get_by_label("Access level").select_option("read-only")
    offer.get_by_label("Duration (minutes)").fill("2")
    offer.get_by_label("Reason").fill(REASON)
    offer.get_by_role("button", name="Request access").click()
    expect(alice.locator("#my-requests")).to_contain_text("Pending")

    # bob sees it in his inbox and approves with a comment; the item updates in place.
    bob = person("bob", "/inbox/")
    row = bob.locator("#pending article", has_text=REASON)
    for shown in ("alice", RESOURCE, "read-only", "2 min"):
        expect(row).to_contain_text(shown)
    row.get_by_label("Comment").fill("ok for the ticket")
    row.get_by_role("button", name="Approve").click()
    expect(bob.get_by_role("status")).to_contain_text("alice's request for jitdb: approved")
    expect(bob.locator("#decided")).to_contain_text("ok for the ticket")
    expect(alice.locator("#my-requests")).to_contain_text("Approved")  # her page polls

    # alice gets a token on "My access" and connects through the agent: read yes, write no.
    alice.get_by_role("navigation", name="Console").get_by_role("link", name="My access").click()
    expect(alice.locator("#my-grants")).to_contain_text(RESOURCE)
    alice.get_by_role("button", name=f"Get a gateway token for {RESOURCE}").click()
    conninfo = _conninfo_from(alice)
    assert f"dbname={RESOURCE} user=alice sslmode=require" in conninfo
    assert f"port={journey.agent.postgres_port}" in conninfo
    with _connect_once_the_grant_arrives(conninfo) as conn:
        role = conn.execute("select current_user").fetchone()[0]
        assert role.startswith("gh_s_")  # an ephemeral role, inside gh_readonly
        conn.execute("select count(*) from gatehouse_items").fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as denied:
            conn.execute("insert into gatehouse_items (label) values ('alice was here')")
        assert denied.value.sqlstate == "42501"

    # bob revokes the grant on the grants page; alice's live session ends within a second.
    session = LiveSession(conninfo)
    session.start()
    assert session.running.wait(10), "alice's session did not start"
    bob.get_by_role("navigation", name="Console").get_by_role("link", name="Grants").click()
    grant_row = bob.locator("#active-grants tr", has_text="alice")
    revoke = grant_row.get_by_role("button", name="Revoke")
    clicked = time.monotonic()
    revoke.click()
    session.join(10)
    assert "access grant ended" in session.error, session.error
    assert session.cut_at - clicked < 1.5, f"cut {session.cut_at - clicked:.2f} s after the click"
    expect(bob.get_by_role("status")).to_contain_text("alice's grant on jitdb revoked")

    # carol, the auditor, reads the whole trail.
    carol = person("carol", "/")

    def complete(events: list[dict[str, Any]]) -> bool:
        return _has(events, "session.end", "alice") and _has(events, "credential.dropped")

    events = _audit_trail(carol, journey.cp, complete)
    for who in ("alice", "bob", "carol"):
        assert _has(events, "identity.signed_in", who, method="oidc"), who
    assert _has(events, "access_request.created", "alice", reason=REASON, duration_seconds=120)
    assert _has(events, "access_request.approved", "bob", comment="ok for the ticket")
    assert _has(events, "grant.created", "bob", identity_name="alice", access_level="read-only")
    assert _has(events, "token.minted", "alice", identity_name="alice")
    assert _has(events, "session.start", "alice")
    assert _has(events, "credential.created", "alice", credential=role)
    statements = [e for e in events if e["action"] == "statement" and e["actor_name"] == "alice"]
    assert any("select count(*)" in e["payload"]["statement"] for e in statements)
    insert = next(e for e in statements if "insert into" in e["payload"]["statement"])
    assert insert["payload"]["error"]["code"] == "42501"
    assert _has(events, "session.end", "alice")
    assert _has(events, "grant.revoked", "bob", identity_name="alice", revoked_as="approver")
    assert all(e["resource"] == RESOURCE for e in events if e["action"].startswith("session."))
    order = [e["action"] for e in events]
    assert order.index("access_request.created") < order.index("access_request.approved")
    assert order.index("grant.created") < order.index("session.start")
    assert order.index("grant.revoked") < len(order) - 1 - order[::-1].index("session.end")

    assert time.monotonic() - started < 90
