"""The `gatehouse` command line end to end: alice signs in with the device flow (approving the
code in real Chromium at the real OpenID provider), asks for access that her group gets
automatically, sees it in `gatehouse status`, and reaches PostgreSQL through the agent with
`gatehouse dsn` and `gatehouse psql`. She also signs in with `gatehouse login --browser`
(Chromium follows the printed URL back to the CLI's loopback listener), and her sign-in is
renewed silently with the rotating refresh token until the provider refuses it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.gatehouse import Agent, ControlPlane
from devstack.oidc_provider import (
    CLI_CLIENT_ID,
    PERSONAS,
    OidcProvider,
    cli_client,
    control_plane_client,
)
from devstack.ports import free_port
from devstack.postgres import PostgresCluster

pytestmark = pytest.mark.integration

PASSWORDS = {user.username: user.password for user in PERSONAS}
GATEHOUSE = Path(sys.executable).with_name("gatehouse")


@dataclass
class CliStack:
    provider: OidcProvider
    cp: ControlPlane
    agent: Agent
    home: Path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(GATEHOUSE), *args], env=self.env(), capture_output=True, text=True, timeout=60
        )
        if check and done.returncode != 0:
            raise AssertionError(f"gatehouse {' '.join(args)} failed:\n{done.stderr}")
        return done

    def env(self) -> dict[str, str]:
        return {**os.environ, "XDG_CONFIG_HOME": str(self.home), "GATEHOUSE_URL": self.cp.url}

    @property
    def config_file(self) -> Path:
        return self.home / "gatehouse" / "config.json"


@pytest.fixture(scope="module")
def stack(pg: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliStack]:
    if not GATEHOUSE.exists():
        pytest.fail(f"{GATEHOUSE} is missing: run scripts/bootstrap.sh (pip install -e .)")
    root = tmp_path_factory.mktemp("cli")
    cp_port, agent_port = free_port(), free_port()
    clients = [control_plane_client(f"http://127.0.0.1:{cp_port}"), cli_client()]
    provider = OidcProvider(root / "provider", clients=clients).start()
    env = {
        **provider.relying_party_env(),
        "GATEHOUSE_OIDC_CLI_CLIENT_ID": CLI_CLIENT_ID,
        "GATEHOUSE_AGENT_PUBLIC_ADDRESS": f"127.0.0.1:{agent_port}",
    }
    cp = ControlPlane(root / "controlplane", port=cp_port, extra_env=env)
    agent: Agent | None = None
    try:
        cp.bootstrap()
        cp.start()
        agent = _agent_with_resources(cp, pg, root, agent_port)
        cp.manage(
            "set_policy", "appdb", "--max-duration", "3600",
            "--requester-group", "requesters", "--auto-approve", "group:requesters:3600",
        )  # fmt: skip
        yield CliStack(provider=provider, cp=cp, agent=agent, home=root / "home")
    finally:
        if agent is not None:
            agent.stop()
        cp.stop()
        provider.stop()


def _agent_with_resources(cp: ControlPlane, pg: PostgresCluster, root: Path, port: int) -> Agent:
    token = cp.api("POST", "/api/v1/agents", {"name": "edge-cli"})["token"]
    for name in ("appdb", "otherdb"):
        cp.api(
            "POST",
            "/api/v1/resources",
            {
                "name": name,
                "protocol": "postgres",
                "agent": "edge-cli",
                "host": pg.host,
                "port": pg.port,
                "database": "postgres",
                "upstream_user": pg.scram.user,
                "upstream_password": pg.scram.password,
                "upstream_tls": "prefer",
            },
        )
    agent = Agent(root / "agent", control_plane_url=cp.url, token=token, postgres_port=port)
    return agent.start()


@pytest.fixture(scope="module")
def page(browser: Browser) -> Iterator[Page]:
    """One browser page for the module: the device approvals reuse alice's sign-in."""
    context = browser.new_context()
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def provider_sign_in_if_asked(page: Page, stack: CliStack, username: str) -> None:
    """The provider's login form (when there is no provider session yet), then consent."""
    login_field = page.get_by_label("Username")
    allow = page.get_by_role("button", name="Allow")
    expect(login_field.or_(allow).or_(page.get_by_text("Sign-in Success"))).to_be_visible()
    if login_field.is_visible():
        login_field.fill(username)
        page.get_by_label("Password").fill(PASSWORDS[username])
        page.get_by_role("button", name="Sign in").click()
        expect(allow.or_(page.get_by_text("Sign-in Success"))).to_be_visible()
    if allow.is_visible():
        allow.click()


@pytest.fixture(scope="module")
def alice_linked(stack: CliStack, page: Page) -> None:
    """Her first browser sign-in links her provider account to a Gatehouse user."""
    page.goto(stack.cp.url + "/login/")
    page.get_by_role("link", name="Sign in with your organisation").click()
    provider_sign_in_if_asked(page, stack, "alice")
    page.wait_for_url(re.compile("^" + re.escape(stack.cp.url) + "/"))


def test_alice_logs_in_with_the_device_flow_requests_access_and_connects(
    stack: CliStack, page: Page, alice_linked: None
) -> None:
    login = subprocess.Popen(
        [str(GATEHOUSE), "login", "--device"],
        env=stack.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        verification_url = _verification_url(login)
        page.goto(verification_url)
        expect(page.get_by_text("Confirm Device")).to_be_visible()
        page.get_by_role("button", name="Continue").click()
        provider_sign_in_if_asked(page, stack, "alice")
        expect(page.get_by_text("Sign-in Success")).to_be_visible()
        out, err = login.communicate(timeout=60)
    finally:
        if login.poll() is None:
            login.kill()
    assert login.returncode == 0, err
    assert f"signed in to {stack.cp.url} as alice" in out
    assert stack.config_file.stat().st_mode & 0o777 == 0o600
    assert json.loads(stack.config_file.read_text())["login"]["refresh_token"]  # offline_access

    requested = stack.run("request", "appdb", "--for", "30m", "--reason", "INC-7: orders stuck")
    assert re.search(r"request [0-9a-f-]{36}: approved", requested.stdout)
    assert "approved automatically" in requested.stdout

    status = stack.run("status").stdout
    assert "signed in as alice" in status
    assert re.search(r"appdb\s+\S+\s+until .* \((29m|30m) \d+s left\)", status), status
    assert "INC-7: orders stuck" in status

    dsn = stack.run("dsn", "appdb").stdout.strip()
    assert f"port={stack.agent.postgres_port}" in dsn and "dbname=appdb" in dsn
    psql = shutil.which("psql") or "psql"
    queried = subprocess.run(
        [psql, "-X", "-A", "-t", "-c", "select 6 * 7", dsn],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert queried.returncode == 0, queried.stderr
    assert queried.stdout.strip() == "42"

    through = stack.run("psql", "appdb", "--", "-X", "-A", "-t", "-c", "select 'via gatehouse'")
    assert through.stdout.strip() == "via gatehouse"

    _connections_are_alices(stack)


def _connections_are_alices(stack: CliStack) -> None:
    """The agent audited alice's sessions under her own identity."""
    deadline = time.monotonic() + 15
    while True:
        events = stack.cp.audit_events(actor="alice", resource="appdb")
        if any(event["action"].startswith("session.") for event in events):
            return
        assert time.monotonic() < deadline, [event["action"] for event in events]
        time.sleep(0.2)


def test_without_a_grant_dsn_says_what_to_do(stack: CliStack) -> None:
    refused = stack.run("dsn", "otherdb", check=False)

    assert refused.returncode == 1
    assert "no active grant on otherdb" in refused.stderr
    assert "gatehouse request otherdb" in refused.stderr


def test_an_expired_sign_in_that_cannot_be_renewed_asks_for_gatehouse_login(
    stack: CliStack,
) -> None:
    saved = json.loads(stack.config_file.read_text())
    saved["login"]["expires_at"] = int(time.time()) - 5
    saved["login"].pop("refresh_token", None)  # as from a provider without offline_access
    stack.config_file.write_text(json.dumps(saved))

    refused = stack.run("status", check=False)

    assert refused.returncode == 1
    assert "expired" in refused.stderr and "gatehouse login" in refused.stderr


def test_alice_logs_in_in_the_browser_and_is_renewed_silently_until_refused(
    stack: CliStack, page: Page, alice_linked: None
) -> None:
    # `true` as the browser: Chromium, driven here, follows the URL the command prints.
    login = subprocess.Popen(
        [str(GATEHOUSE), "login", "--browser"],
        env={**stack.env(), "BROWSER": "true"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        page.goto(_printed_line(login, re.compile(r"^\s+(http://\S+)$")))
        provider_sign_in_if_asked(page, stack, "alice")
        expect(page.get_by_text("You can close this tab")).to_be_visible()
        assert page.url.startswith("http://127.0.0.1:") and "/callback?" in page.url
        out, err = login.communicate(timeout=60)
    finally:
        if login.poll() is None:
            login.kill()
    assert login.returncode == 0, err
    assert f"signed in to {stack.cp.url} as alice" in out
    signed_in = json.loads(stack.config_file.read_text())["login"]
    assert signed_in["refresh_token"] and signed_in["refresh_token"] not in out + err
    assert stack.config_file.stat().st_mode & 0o777 == 0o600
    assert "signed in as alice" in stack.run("status").stdout

    # Her ID token runs out (fast-forwarded): the next command renews it without a word.
    _stored_login_update(stack, expires_at=int(time.time()) - 5)
    renewed_run = stack.run("status")
    assert "signed in as alice" in renewed_run.stdout and renewed_run.stderr == ""
    renewed = json.loads(stack.config_file.read_text())["login"]
    # Not the ID token itself: renewed within the same second, its claims and so its
    # signature can be identical. The stored expiry and the rotated refresh token show it.
    assert renewed["expires_at"] > time.time() + 60
    assert renewed["refresh_token"] != signed_in["refresh_token"]  # rotated, and saved
    assert stack.config_file.stat().st_mode & 0o777 == 0o600

    # The spent refresh token again (say, from a stolen copy of the old file): the provider
    # refuses it, and the command says to sign in again.
    _stored_login_update(
        stack, expires_at=int(time.time()) - 5, refresh_token=signed_in["refresh_token"]
    )
    refused = stack.run("status", check=False)
    assert refused.returncode == 1
    assert "refused to renew it" in refused.stderr and "run `gatehouse login`" in refused.stderr
    assert signed_in["refresh_token"] not in refused.stdout + refused.stderr


def _stored_login_update(stack: CliStack, **changes: object) -> None:
    saved = json.loads(stack.config_file.read_text())
    saved["login"].update(changes)
    stack.config_file.write_text(json.dumps(saved))


def _printed_line(process: subprocess.Popen[str], pattern: re.Pattern[str]) -> str:
    """The first group of the first stderr line the command printed that matches."""
    assert process.stderr is not None
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        match = pattern.search(line.rstrip("\n"))
        if match:
            return match.group(1)
    raise AssertionError(f"gatehouse printed no matching line: {''.join(seen)}")


def _verification_url(login: subprocess.Popen[str]) -> str:
    """The `verification_uri_complete` that `gatehouse login --device` prints."""
    return _printed_line(login, re.compile(r"\(or open (\S+)\)"))
