"""Revoking a grant in the console, end to end with real components: the control plane under
uvicorn, an agent, PostgreSQL, a psycopg client and an administrator in real Chromium.

report-bot (a service account) holds a grant on "grantsdb" and has a long query running
through the agent. The administrator opens /grants/, sees the grant with one live session and
clicks Revoke: the client is cut within two seconds, and the grant's row, polling every
second, shows the session ended (as the agent reported it) within about two seconds of the
click, then stops polling. (test_jit_access_journey covers the revocation cut itself; this is
about what the console shows.)
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.gatehouse import REPO, Agent, ControlPlane
from devstack.postgres import PostgresCluster
from tests.integration.console import screenshot_and_axe

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

RESOURCE = "grantsdb"
AGENT_NAME = "edge-grants"
ACCOUNT = "report-bot"
ADMIN = "admin"
ADMIN_PASSWORD = "a long admin passphrase for the console test"


@dataclass
class Stack:
    cp: ControlPlane
    agent: Agent
    api_key: str
    grant_id: str


@pytest.fixture(scope="module")
def stack(pg: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("grants-console")
    cp = ControlPlane(root / "controlplane", extra_env={"GATEHOUSE_LOCAL_LOGIN": "true"})
    agent: Agent | None = None
    try:
        cp.bootstrap(admin=ADMIN)
        _set_admin_password(cp)
        cp.start()
        token = cp.api("POST", "/api/v1/agents", {"name": AGENT_NAME})["token"]
        _resource(cp, pg)
        api_key = cp.api("POST", "/api/v1/service-accounts", {"name": ACCOUNT})["api_key"]
        grant = {"identity": ACCOUNT, "resource": RESOURCE, "duration_seconds": 1800}
        grant_id = str(cp.api("POST", "/api/v1/grants", {**grant, "reason": "report"})["id"])
        agent = Agent(root / "agent", control_plane_url=cp.url, token=token).start()
        yield Stack(cp=cp, agent=agent, api_key=api_key, grant_id=grant_id)
    finally:
        if agent is not None:
            agent.stop()
        cp.stop()


def _set_admin_password(cp: ControlPlane) -> None:
    command = ["create_admin", ADMIN, "--exists-ok", "--password-stdin"]
    subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *command],
        input=ADMIN_PASSWORD,
        env=cp.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )


def _resource(cp: ControlPlane, pg: PostgresCluster) -> None:
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


class LongQuery(threading.Thread):
    """report-bot's psycopg session: one quick query, then a sleep only a cut ends early."""

    def __init__(self, dsn: str) -> None:
        super().__init__(name="report-bot-psycopg", daemon=True)
        self.dsn = dsn
        self.ready = threading.Event()
        self.error = ""
        self.ended_at = 0.0

    def run(self) -> None:
        try:
            with psycopg.connect(self.dsn) as conn:
                conn.execute("select 1")
                self.ready.set()
                conn.execute("select pg_sleep(60)")
        except psycopg.OperationalError as exc:
            self.error = str(exc)
        self.ended_at = time.monotonic()


def _live_session_on_the_grant(stack: Stack) -> str:
    """The session id once the index has it (agent events arrive asynchronously)."""
    deadline = time.monotonic() + 15
    while True:
        live = stack.cp.api("GET", "/api/v1/sessions?live=true")["results"]
        ours = [s for s in live if s.get("grant_id") == stack.grant_id]
        if ours:
            return str(ours[0]["session_id"])
        assert time.monotonic() < deadline, f"no live session on the grant: {live}"
        time.sleep(0.2)


def _admin_on(browser: Browser, stack: Stack, path: str) -> Page:
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{stack.cp.url}/login/?next={path}")
    page.get_by_label("Username").fill(ADMIN)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(stack.cp.url + path)
    return page


def test_the_admin_revokes_a_grant_and_watches_its_live_session_end(
    stack: Stack, browser: Browser
) -> None:
    token = stack.cp.api("POST", "/api/v1/tokens", {}, api_key=stack.api_key)["token"]
    query = LongQuery(stack.agent.dsn(resource=RESOURCE, token=token))
    query.start()
    assert query.ready.wait(20), "the psycopg session never started"
    session_id = _live_session_on_the_grant(stack)

    admin = _admin_on(browser, stack, "/grants/")
    row = admin.locator(f"#grant-{stack.grant_id}")
    expect(row).to_contain_text(ACCOUNT)
    expect(row).to_contain_text("1 live")
    findings = screenshot_and_axe(admin, "grants-admin-active")

    clicked_at = time.monotonic()
    row.get_by_role("button", name=re.compile("^Revoke")).click()
    expect(row).to_contain_text("Revoked")
    ended = row.locator(f"#session-{session_id}")
    # Checked on every animation frame: expect() backs off to a second between its checks.
    admin.wait_for_function(
        "id => document.getElementById(id)?.textContent.includes('session ended')",
        arg=f"session-{session_id}",
        timeout=5_000,
    )
    shown_after = time.monotonic() - clicked_at
    query.join(10)

    assert not query.is_alive() and "access grant ended" in query.error, query.error
    assert query.ended_at - clicked_at < 2.0, f"cut {query.ended_at - clicked_at:.2f} s after"
    assert shown_after < 2.5, f"the row showed the end {shown_after:.2f} s after the click"
    expect(ended).to_contain_text("access grant ended")
    expect(admin.locator("#console-status")).to_contain_text(
        f"{ACCOUNT}'s grant on {RESOURCE} revoked."
    )
    assert row.get_attribute("hx-trigger") is None  # the row stopped polling
    expect(row.get_by_role("button", name=re.compile("^Revoke"))).to_have_count(0)
    findings += screenshot_and_axe(admin, "grants-admin-revoked")

    revoked = stack.cp.audit_events(action="grant.revoked")
    assert [(e["actor_name"], e["payload"]["revoked_as"]) for e in revoked] == [(ADMIN, "admin")]
    assert not findings, "\n".join(findings)
    admin.context.close()
