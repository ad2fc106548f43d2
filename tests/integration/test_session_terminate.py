"""Sessions in the console, end to end with real components: the OpenID provider, the
control plane, an agent, PostgreSQL, a psycopg client and people in real Chromium.

agent-smith's psycopg session on "sessdb" shows in /sessions/ as live; carol (auditor) sees
it without a Terminate button; bob (sessdb's approver) terminates it: the client's
connection is closed within two seconds with "terminated by bob", the row turns "ended",
and the audit log has bob's request and the agent's session.end with that reason.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.gatehouse import Agent, ControlPlane
from devstack.oidc_provider import OidcProvider, control_plane_client
from devstack.ports import free_port
from devstack.postgres import PostgresCluster
from tests.integration.console import screenshot_and_axe, sign_in
from tests.integration.test_jit_access_journey import Journey

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

RESOURCE = "sessdb"
AGENT_NAME = "edge-sessions"
ACCOUNT = "report-bot"


@pytest.fixture(scope="module")
def stack(pg: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Journey]:
    root = tmp_path_factory.mktemp("sessions")
    cp_port = free_port()
    provider = OidcProvider(
        root / "provider", clients=[control_plane_client(f"http://127.0.0.1:{cp_port}")]
    ).start()
    cp = ControlPlane(root / "controlplane", port=cp_port, extra_env=provider.relying_party_env())
    agent: Agent | None = None
    try:
        cp.bootstrap()
        cp.start()
        token = cp.api("POST", "/api/v1/agents", {"name": AGENT_NAME})["token"]
        _resource_and_policy(cp, pg)
        agent = Agent(root / "agent", control_plane_url=cp.url, token=token).start()
        yield Journey(provider=provider, cp=cp, agent=agent)
    finally:
        if agent is not None:
            agent.stop()
        cp.stop()
        provider.stop()


def _resource_and_policy(cp: ControlPlane, pg: PostgresCluster) -> None:
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


@pytest.fixture
def person(browser: Browser, stack: Journey) -> Iterator[Callable[[str, str], Page]]:
    pages: list[Page] = []

    def signed_in(username: str, path: str) -> Page:
        page = sign_in(
            browser, cp_url=stack.cp.url, provider=stack.provider, username=username, path=path
        )
        pages.append(page)
        return page

    yield signed_in
    for page in pages:
        page.context.close()


class LongQuery(threading.Thread):
    """The service account's psycopg session: one quick query, then a long sleep that only
    a terminated session cuts short."""

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


def _smith_session(stack: Journey) -> LongQuery:
    cp = stack.cp
    key = cp.api("POST", "/api/v1/service-accounts", {"name": ACCOUNT})["api_key"]
    cp.api(
        "POST",
        "/api/v1/grants",
        {"identity": ACCOUNT, "resource": RESOURCE, "duration_seconds": 1800, "reason": "report"},
    )
    token = cp.api("POST", "/api/v1/tokens", {}, api_key=key)["token"]
    query = LongQuery(stack.agent.dsn(resource=RESOURCE, token=token))
    query.start()
    assert query.ready.wait(20), "the psycopg session never started"
    return query


def _live_session_id(stack: Journey) -> str:
    deadline = time.monotonic() + 15
    while True:
        live = stack.cp.api("GET", "/api/v1/sessions?live=true")["results"]
        if live:
            return str(live[0]["session_id"])
        assert time.monotonic() < deadline, "the session never reached the index"
        time.sleep(0.2)


def _events(stack: Journey, action: str, wanted: Callable[[list[dict[str, Any]]], bool]) -> list:
    deadline = time.monotonic() + 15
    while True:
        events = stack.cp.audit_events(action=action)
        if wanted(events) or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def test_bob_terminates_a_live_psycopg_session_from_the_sessions_page(
    stack: Journey, person: Callable[[str, str], Page]
) -> None:
    query = _smith_session(stack)
    session_id = _live_session_id(stack)
    row = f"#live-{session_id}"

    carol = person("carol", "/sessions/")
    expect(carol.locator(row)).to_have_attribute("data-state", "live")
    expect(carol.locator(row)).to_contain_text(ACCOUNT)
    expect(carol.locator(row).get_by_role("button", name=re.compile("Terminate"))).to_have_count(0)

    bob = person("bob", "/sessions/")
    expect(bob.locator(row)).to_contain_text("Live")
    accessibility = screenshot_and_axe(bob, "sessions-bob-live")
    bob.once("dialog", lambda dialog: dialog.accept())
    clicked_at = time.monotonic()
    bob.locator(row).get_by_role("button", name=re.compile("Terminate")).click()
    query.join(10)

    assert not query.is_alive() and "terminated by bob" in query.error
    assert query.ended_at - clicked_at < 2.0
    expect(bob.locator(row)).to_have_attribute("data-state", "ended", timeout=8_000)
    expect(bob.locator(row)).to_contain_text("terminated by bob")
    expect(carol.locator(row)).to_have_attribute("data-state", "ended", timeout=8_000)
    # bob's filtered table below refreshes itself after his terminate too.
    expect(bob.locator(f"#session-{session_id}")).to_have_attribute("data-state", "ended")
    screenshot_and_axe(bob, "sessions-bob-ended")

    requested = _events(stack, "session.terminate_requested", bool)
    assert [(e["actor_name"], e["payload"]["session"]) for e in requested] == [("bob", session_id)]
    ends = _events(stack, "session.end", lambda evs: any(e["session"] == session_id for e in evs))
    (end,) = [e for e in ends if e["session"] == session_id]
    assert "terminated by bob" in end["payload"]["reason"]
    assert not accessibility, "\n".join(accessibility)
