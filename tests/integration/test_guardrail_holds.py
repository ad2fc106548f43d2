"""Hold for approval, end to end with real components: the OpenID provider, the control
plane, an agent, PostgreSQL, psql, and two people in real Chromium.

A guardrail policy holds every write people send to "holddb". alice's psql sends an UPDATE
and waits at the agent; bob sees the exact statement in his browser and approves it; alice's
psql then completes and the row has changed. Her next write, bob denies: her psql gets a
42501 naming the rule and bob. The audit log has each hold and who decided it.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from devstack.gatehouse import Agent, ControlPlane
from devstack.oidc_provider import PERSONAS, OidcProvider, control_plane_client
from devstack.ports import free_port
from devstack.postgres import PostgresCluster
from tests.integration.test_jit_access_journey import Journey

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

PASSWORDS = {user.username: user.password for user in PERSONAS}
RESOURCE = "holddb"
AGENT_NAME = "edge-holds"


@pytest.fixture(scope="module")
def stack(pg: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Journey]:
    pg.admin_psql(
        "drop table if exists hold_items;"
        "create table hold_items (id int primary key, label text);"
        "insert into hold_items values (1, 'first'), (2, 'second');"
        f"grant all on hold_items to {pg.scram.user};"
    )
    root = tmp_path_factory.mktemp("holds")
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
        _resource_and_policies(cp, pg)
        agent = Agent(
            root / "agent", control_plane_url=cp.url, token=token, postgres_port=agent_port
        ).start()
        yield Journey(provider=provider, cp=cp, agent=agent)
    finally:
        if agent is not None:
            agent.stop()
        cp.stop()
        provider.stop()
        pg.admin_psql("drop table if exists hold_items")


def _resource_and_policies(cp: ControlPlane, pg: PostgresCluster) -> None:
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
        },
    )
    cp.api(
        "PUT",
        f"/api/v1/resources/{RESOURCE}/policy",
        {
            "requester_groups": ["requesters"],
            "approver_groups": ["approvers"],
            "min_approvals": 1,
            "max_duration_seconds": 3600,
        },
    )
    cp.manage(
        "set_guardrail_policy",
        "people-writes-held",
        "--resource",
        RESOURCE,
        "--applies-to",
        "people",
        "--hold-writes",
        "--hold-timeout",
        "120",
    )


@pytest.fixture
def person(browser: Browser, stack: Journey) -> Iterator[Callable[[str, str], Page]]:
    """``person("bob", "/inbox/")``: signed in through the provider, on that page."""
    contexts: list[BrowserContext] = []

    def sign_in(username: str, path: str) -> Page:
        context = browser.new_context()
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(stack.cp.url + path)
        page.get_by_role("link", name="Sign in with your organisation").click()
        expect(page).to_have_url(re.compile(re.escape(stack.provider.issuer) + "/interaction/"))
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORDS[username])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(f"^({re.escape(stack.cp.url)}/|.*/interaction/)"))
        allow = page.get_by_role("button", name="Allow")
        if page.url.startswith(stack.provider.issuer) and allow.count():
            allow.click()
        page.wait_for_url(stack.cp.url + path)
        return page

    yield sign_in
    for context in contexts:
        context.close()


class Psql(threading.Thread):
    """alice's psql, running one statement; it blocks while the statement is held."""

    def __init__(self, conninfo: str, sql: str) -> None:
        super().__init__(name="alice-psql", daemon=True)
        self.argv = ["psql", "-X", "-At", "-v", "VERBOSITY=verbose", conninfo, "-c", sql]
        self.done: subprocess.CompletedProcess[str] | None = None

    def run(self) -> None:
        self.done = subprocess.run(
            self.argv, capture_output=True, text=True, timeout=150, check=False
        )


def _alice_conninfo(alice: Page, stack: Journey) -> str:
    stack.cp.api(
        "POST",
        "/api/v1/grants",
        {"identity": "alice", "resource": RESOURCE, "duration_seconds": 1800, "reason": "holds"},
    )
    alice.reload()
    expect(alice.locator("#my-grants")).to_contain_text(RESOURCE)
    alice.get_by_role("button", name=f"Get a gateway token for {RESOURCE}").click()
    command = alice.get_by_label("psql command").input_value()
    match = re.fullmatch(r'psql "(?P<conninfo>[^"]+)"', command.strip())
    assert match, command
    return match["conninfo"]


def _held(stack: Journey, sql: str) -> None:
    """Wait until the control plane lists `sql` as held (the agent sent it)."""
    deadline = time.monotonic() + 20
    while True:
        holds = stack.cp.api("GET", "/api/v1/statement-holds")
        rows = holds["results"] if isinstance(holds, dict) else holds
        if any(h["statement"] == sql for h in rows):
            return
        assert time.monotonic() < deadline, f"never held: {sql}"
        time.sleep(0.2)


def _audit(stack: Journey, wanted: Callable[[list[dict[str, Any]]], bool]) -> list[dict]:
    deadline = time.monotonic() + 15
    while True:
        events = stack.cp.audit_events()
        if wanted(events) or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def test_bob_approves_alices_held_update_in_the_browser_then_denies_her_delete(
    stack: Journey, person: Callable[[str, str], Page]
) -> None:
    alice = person("alice", "/access/")
    bob = person("bob", "/inbox/")
    conninfo = _alice_conninfo(alice, stack)

    update = "UPDATE hold_items SET label = 'approved by bob' WHERE id = 1"
    waiting = Psql(conninfo, update)
    waiting.start()
    _held(stack, update)
    time.sleep(1)
    assert waiting.is_alive(), "alice's psql should still be waiting for the approval"

    row = bob.locator("#held article", has_text="approved by bob")
    expect(row.locator("pre.statement")).to_have_text(update)  # the exact statement
    for shown in ("alice", RESOURCE, "writes"):
        expect(row).to_contain_text(shown)
    row.get_by_role("button", name="Approve alice's statement").click()
    waiting.join(30)
    assert waiting.done is not None and waiting.done.returncode == 0, waiting.done
    assert waiting.done.stdout.strip() == "UPDATE 1"
    label = subprocess.run(
        ["psql", "-X", "-At", conninfo, "-c", "select label from hold_items where id = 1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()
    assert label == "approved by bob"

    delete = "DELETE FROM hold_items WHERE id = 2"
    refused = Psql(conninfo, delete)
    refused.start()
    _held(stack, delete)
    bob.locator("#held article", has_text=delete).get_by_role(
        "button", name="Deny alice's statement"
    ).click()
    refused.join(30)
    assert refused.done is not None and refused.done.returncode != 0
    assert "42501" in refused.done.stderr and "refused by bob" in refused.done.stderr

    def resolved(events: list[dict[str, Any]]) -> bool:
        return sum(e["action"] == "guardrail.hold_resolved" for e in events) >= 2

    events = _audit(stack, resolved)
    outcomes = {
        (e["payload"]["outcome"], e["payload"]["decided_by"])
        for e in events
        if e["action"] == "guardrail.hold_resolved"
    }
    assert ("approved", "bob") in outcomes and ("denied", "bob") in outcomes
    assert sum(e["action"] == "guardrail.held" for e in events) >= 2

    # A client that gives up cancels: the hold is withdrawn and nothing runs.
    with psycopg.connect(conninfo, autocommit=True) as conn:
        cancelled = "UPDATE hold_items SET label = 'never' WHERE id = 2"
        outcome: list[BaseException] = []

        def run() -> None:
            try:
                conn.execute(cancelled)
            except psycopg.Error as exc:
                outcome.append(exc)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        _held(stack, cancelled)
        conn.cancel()
        worker.join(15)
        assert outcome and isinstance(outcome[0], psycopg.errors.QueryCanceled), outcome
        assert conn.execute("select label from hold_items where id = 2").fetchone() == ("second",)
    events = _audit(
        stack,
        lambda evs: any(e["payload"].get("outcome") == "withdrawn" for e in evs),
    )
    assert any(e["payload"].get("outcome") == "withdrawn" for e in events)
