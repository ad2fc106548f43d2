"""Real servers for end-to-end tests: a PostgreSQL cluster, the control plane, an agent.

Everything runs on free loopback ports in temporary directories and is stopped by its own
pid. Personas: "agent-smith" is an AI service account with access to both resources;
"mallory-bot" is a service account with no grant at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from devstack.gatehouse import Agent, ControlPlane
from devstack.postgres import PostgresCluster
from tests.integration.browser import launch_chromium

pytestmark = pytest.mark.integration

AGENT_NAME = "edge-1"
AI_ACCOUNT = "agent-smith"
NO_GRANT_ACCOUNT = "mallory-bot"


@dataclass
class Gateway:
    """The running stack plus the names and keys the tests need."""

    pg: PostgresCluster
    cp: ControlPlane
    agent: Agent
    api_keys: dict[str, str]
    grants: dict[tuple[str, str], str]

    def token(self, account: str = AI_ACCOUNT, **body: Any) -> str:
        return str(
            self.cp.api("POST", "/api/v1/tokens", body, api_key=self.api_keys[account])["token"]
        )

    def dsn(self, resource: str = "appdb", *, token: str | None = None, **extra: str) -> str:
        dsn = self.agent.dsn(resource=resource, token=token or self.token())
        return " ".join([dsn, *(f"{k}={v}" for k, v in extra.items())])

    def grant(self, account: str, resource: str, seconds: int = 3600) -> str:
        created = self.cp.api(
            "POST",
            "/api/v1/grants",
            {
                "identity": account,
                "resource": resource,
                "duration_seconds": seconds,
                "reason": "integration test",
            },
        )
        self.grants[(account, resource)] = str(created["id"])
        return str(created["id"])

    def events(self, **filters: str) -> list[dict[str, Any]]:
        return self.cp.audit_events(**filters)

    def wait_for_events(
        self,
        predicate: Callable[[list[dict[str, Any]]], bool],
        *,
        timeout_s: float = 15.0,
        **filters: str,
    ) -> list[dict[str, Any]]:
        """Poll the audit API until `predicate(events)` holds (events reach it asynchronously)."""
        deadline = time.monotonic() + timeout_s
        while True:
            events = self.events(**filters)
            if predicate(events):
                return events
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"audit events never matched; last {len(events)}: "
                    f"{[e.get('action') for e in events][-20:]}"
                )
            time.sleep(0.1)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright (never Playwright's own browser download)."""
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()  # fresh cookies: every test is a new browser
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresCluster]:
    with PostgresCluster(log_connections=True) as cluster:
        cluster.admin_psql("CREATE DATABASE legacy")
        yield cluster


def _start_stack(pg: PostgresCluster, root: Path) -> Gateway:
    cp = ControlPlane(root / "controlplane")
    cp.bootstrap()
    cp.start()
    api_keys = {
        name: cp.api("POST", "/api/v1/service-accounts", {"name": name})["api_key"]
        for name in (AI_ACCOUNT, NO_GRANT_ACCOUNT)
    }
    agent_token = cp.api("POST", "/api/v1/agents", {"name": AGENT_NAME})["token"]
    for name, role, database in (("appdb", pg.scram, "postgres"), ("legacydb", pg.md5, "legacy")):
        cp.api(
            "POST",
            "/api/v1/resources",
            {
                "name": name,
                "protocol": "postgres",
                "agent": AGENT_NAME,
                "host": pg.host,
                "port": pg.port,
                "database": database,
                "upstream_user": role.user,
                "upstream_password": role.password,
                "upstream_tls": "prefer",
            },
        )
    agent = Agent(root / "agent", control_plane_url=cp.url, token=agent_token)
    gateway = Gateway(pg=pg, cp=cp, agent=agent, api_keys=api_keys, grants={})
    gateway.grant(AI_ACCOUNT, "appdb")
    gateway.grant(AI_ACCOUNT, "legacydb")
    agent.start()
    return gateway


@pytest.fixture(scope="session")
def gateway(pg: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    stack = _start_stack(pg, tmp_path_factory.mktemp("gateway"))
    try:
        yield stack
    finally:
        stack.agent.stop()
        stack.cp.stop()


@pytest.fixture
def fresh_gateway(pg: PostgresCluster, tmp_path: Path) -> Iterator[Gateway]:
    """A stack of its own, for tests that restart or revoke things."""
    stack = _start_stack(pg, tmp_path)
    try:
        yield stack
    finally:
        stack.agent.stop()
        stack.cp.stop()
