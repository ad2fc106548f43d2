"""`make run` as a new user meets it (the real entry point, `python -m devstack.embedded`).

The banner's psql line works for the demo AI service account and lands in the audit log (its
curl line reaches the HTTP demo resource through the agent's HTTP listener, its exec API curl
line runs a SELECT);
alice signs in with the password the banner printed, asks for access to "demo", bob approves
in his own browser, and alice connects with the token "My access" gives her (her write waits
for bob's approval on the held-statements page, as the demo's guardrails say); a request left
undecided past its deadline is expired by Celery beat; Ctrl-C stops every server, and a second
run keeps the provider's issuer and the passwords."""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import shlex
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.gatehouse import REPO

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

REASON = "look at the demo table"
HOUSEKEEPING_SECONDS = 1  # beat's interval for this test (30 s by default)


@dataclass
class MakeRun:
    process: subprocess.Popen[bytes]
    banner: str
    state: Path

    def find(self, pattern: str) -> str:
        match = re.search(pattern, self.banner, re.MULTILINE)
        assert match, f"{pattern!r} not in the banner:\n{self.banner}"
        return match.group(1)

    @property
    def cp_url(self) -> str:
        return self.find(r"control plane\s+(http://\S+)")

    @property
    def issuer(self) -> str:
        return self.find(r"demo OpenID provider (http://\S+)")

    @property
    def agent_port(self) -> int:
        return int(self.find(r"PostgreSQL on 127\.0\.0\.1:(\d+)"))

    @property
    def agent_http_port(self) -> int:
        return int(self.find(r"HTTP on 127\.0\.0\.1:(\d+)"))

    def admin_get(self, path: str) -> Any:
        admin_key = (self.state / "controlplane" / "admin.api-key").read_text().strip()
        request = urllib.request.Request(
            self.cp_url + path, headers={"Authorization": f"ApiKey {admin_key}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def password(self, username: str) -> str:
        return self.find(rf"^\s+{username}\s+password (\S+)")

    def ports(self) -> list[int]:
        return [
            self.agent_port,
            self.agent_http_port,
            *(int(url.rsplit(":", 1)[1]) for url in (self.cp_url, self.issuer)),
        ]

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        self.process.wait(timeout=30)


def _make_run(state: Path) -> MakeRun:
    env = {**os.environ, "GATEHOUSE_EMBEDDED_DIR": str(state), "PYTHONUNBUFFERED": "1"}
    env["GATEHOUSE_HOUSEKEEPING_INTERVAL_SECONDS"] = str(HOUSEKEEPING_SECONDS)
    env.pop("GATEHOUSE_EMBEDDED_IDP", None)
    env.pop("GATEHOUSE_OIDC_ISSUER", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.embedded"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        return MakeRun(process, _read_banner(process), state)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):  # it may have exited already
            os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
        raise


def _read_banner(process: subprocess.Popen[bytes], timeout_s: float = 120) -> str:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    text, deadline = "", time.monotonic() + timeout_s
    while "Ctrl-C stops everything" not in text:
        if time.monotonic() > deadline or process.poll() is not None:
            raise AssertionError(f"no banner; output so far:\n{text}")
        if selector.select(timeout=0.5):  # raw reads: a buffered reader would hide lines
            text += os.read(process.stdout.fileno(), 65536).decode(errors="replace")
    return text


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeRun]:
    run = _make_run(tmp_path_factory.mktemp("make-run"))
    yield run
    if run.process.poll() is None:
        run.stop()


def test_the_demo_agents_psql_line_works_and_is_audited(make_run: MakeRun) -> None:
    psql_line = make_run.find(r'psql "([^"]+)"')
    done = subprocess.run(
        ["psql", "-X", "-At", psql_line, "-c", "select 6 * 7"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "42"

    deadline = time.monotonic() + 15
    while True:
        events = make_run.admin_get("/api/v1/audit/events?actor=demo-agent&action=statement")
        events = events["results"]
        if any(e["payload"]["statement"] == "select 6 * 7" for e in events):
            break
        assert time.monotonic() < deadline, events
        time.sleep(0.2)


def test_the_banners_curl_reaches_the_http_demo_with_the_token_kept_from_the_upstream(
    make_run: MakeRun,
) -> None:
    command = make_run.find(r"^\s+(curl --cacert .*/http-demo/echo)$")
    done = subprocess.run(
        [*shlex.split(command), "--silent", "--show-error", "--fail-with-body"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    echoed = json.loads(done.stdout)
    assert (echoed["method"], echoed["path"]) == ("GET", "/api/echo")
    token = make_run.find(r"Authorization: Bearer (\S+)\"")
    assert token not in json.dumps(echoed["headers"])  # the gateway token stops at the agent


def test_the_banners_exec_curl_runs_its_statement_and_is_audited(make_run: MakeRun) -> None:
    command = make_run.find(r"^\s+(curl -s -X POST .*/api/v1/resources/demo/exec)$")
    done = subprocess.run(
        [*shlex.split(command), "--show-error", "--fail-with-body"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    answer = json.loads(done.stdout)
    assert answer["status"] == "done", answer
    assert answer["result"]["rows"] == [["first"], ["second"], ["third"]]
    calls = make_run.admin_get("/api/v1/audit/events?actor=demo-agent&action=exec.call")
    run = answer["correlation_id"]
    mine = [e for e in calls["results"] if e["payload"]["correlation_id"] == run]
    assert mine and mine[0]["resource"] == "demo", calls["results"]


def test_gatehouse_login_finds_the_provider_and_its_device_flow_client(make_run: MakeRun) -> None:
    with urllib.request.urlopen(make_run.cp_url + "/api/v1/auth/config", timeout=10) as response:
        auth = json.load(response)
    assert auth["issuer"] == make_run.issuer
    # What `gatehouse login` does first: ask the provider for a device code as its client.
    ask = urllib.request.Request(
        make_run.issuer + "/device/auth",
        data=urlencode({"client_id": auth["cli_client_id"], "scope": auth["scopes"]}).encode(),
        method="POST",
    )
    with urllib.request.urlopen(ask, timeout=10) as response:
        device = json.load(response)
    assert device["verification_uri"].startswith(make_run.issuer)
    assert device["user_code"]


def _signed_in(browser: Browser, run: MakeRun, username: str, path: str) -> Page:
    """A person in their own browser profile, signed in with the banner's password."""
    context = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(run.cp_url + path)
    page.get_by_role("link", name="Sign in with your organisation").click()
    expect(page).to_have_url(re.compile(re.escape(run.issuer) + "/interaction/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(run.password(username))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(f"^({re.escape(run.cp_url)}/|.*/interaction/)"))
    allow = page.get_by_role("button", name="Allow")
    if page.url.startswith(run.issuer) and allow.count():
        allow.click()
    page.wait_for_url(run.cp_url + path)
    return page


def _request_access(page: Page, level: str, reason: str) -> None:
    offer = page.get_by_role("region", name="Request access to demo")
    offer.get_by_label("Access level").select_option(level)
    offer.get_by_label("Duration (minutes)").fill("30")
    offer.get_by_label("Reason").fill(reason)
    offer.get_by_role("button", name="Request access").click()
    expect(page.locator("#my-requests")).to_contain_text(reason)


def _connect_once_the_grant_arrives(conninfo: str) -> psycopg.Connection[Any]:
    deadline = time.monotonic() + 10
    while True:  # the approval reaches the agent in a pushed snapshot, asynchronously
        try:
            return psycopg.connect(conninfo, autocommit=True)
        except psycopg.OperationalError as exc:
            if "no active access grant" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_alice_requests_bob_approves_alice_connects_as_the_banner_says(
    make_run: MakeRun, browser: Browser
) -> None:
    alice = _signed_in(browser, make_run, "alice", "/resources/demo/")
    _request_access(alice, "read-write", REASON)
    expect(alice.locator("#my-requests")).to_contain_text("Pending")

    bob = _signed_in(browser, make_run, "bob", "/inbox/")
    row = bob.locator("#pending article", has_text=REASON)
    expect(row).to_contain_text("alice")
    row.get_by_role("button", name="Approve").click()
    expect(bob.get_by_role("status")).to_contain_text("alice's request for demo: approved")

    alice.get_by_role("navigation", name="Console").get_by_role("link", name="My access").click()
    alice.get_by_role("button", name="Get a gateway token for demo").click()
    command = alice.get_by_label("psql command").input_value().strip()
    conninfo = re.fullmatch(r'psql "([^"]+)"', command)
    assert conninfo, command
    assert f"port={make_run.agent_port} dbname=demo user=alice" in conninfo.group(1)
    with _connect_once_the_grant_arrives(conninfo.group(1)) as conn:
        # The demo's guardrails hold a person's writes: bob approves hers in his inbox.
        insert = "insert into gatehouse_items (label) values ('alice was here')"
        writing = threading.Thread(target=conn.execute, args=(insert,), daemon=True)
        writing.start()
        held = bob.locator("#held article", has_text="alice was here")  # the inbox polls
        expect(held.locator("pre.statement")).to_have_text(insert)
        held.get_by_role("button", name="Approve alice's statement").click()
        writing.join(20)
        assert not writing.is_alive(), "alice's insert never ran after bob approved it"
        labels = [row[0] for row in conn.execute("select label from gatehouse_items")]
    assert "alice was here" in labels


def _a_day_passes_for(run: MakeRun, reason: str) -> None:
    """Move the request's deadline (24 h after it was made) into the past."""
    with sqlite3.connect(run.state / "controlplane" / "controlplane.sqlite3") as db:
        moved = db.execute(
            "update access_accessrequest set expires_at = '2000-01-01 00:00:00' where reason = ?",
            (reason,),
        ).rowcount
    assert moved == 1


def test_celery_beat_expires_a_request_nobody_decided(make_run: MakeRun, browser: Browser) -> None:
    alice = _signed_in(browser, make_run, "alice", "/resources/demo/")
    _request_access(alice, "read-only", "forgotten by everyone")
    _a_day_passes_for(make_run, "forgotten by everyone")

    deadline = time.monotonic() + 10 * HOUSEKEEPING_SECONDS + 10
    while True:
        events = make_run.admin_get("/api/v1/audit/events?action=access_request.expired")
        if any(e["payload"].get("reason") == "forgotten by everyone" for e in events["results"]):
            break
        assert time.monotonic() < deadline, "the request did not expire"
        time.sleep(0.2)
    expect(alice.locator("#my-requests")).to_contain_text("Expired")  # her page polls
    # The worker (not the web process, not a loop beside it) ran beat's housekeeping task.
    worker_log = (make_run.state / "controlplane" / "celery.log").read_text()
    assert "'requests_expired': 1" in worker_log


def test_ctrl_c_stops_everything_and_a_restart_keeps_issuer_and_passwords(
    make_run: MakeRun,
) -> None:
    ports = make_run.ports()
    make_run.stop()
    for port in ports:
        assert not _listening(port), port
    idp_state = make_run.state / "idp.json"
    assert stat.S_IMODE(idp_state.stat().st_mode) == 0o600

    again = _make_run(make_run.state)
    try:
        assert again.issuer == make_run.issuer
        assert again.password("alice") == make_run.password("alice")
    finally:
        again.stop()
