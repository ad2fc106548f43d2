"""The console (issue 8) walked through by its three personas in real Chromium, against real
components: a PostgreSQL cluster holding customers' emails, the OpenID provider, the control
plane under uvicorn and an agent. People's sessions on "consoledb" are masked (emails become
[EMAIL_ADDRESS]).

alice (requesters) asks for access on the resource's page; bob (approvers) sees the request
appear in his inbox without reloading and approves it with a comment; alice gets a gateway
token on "My access" and reads customers with the real psql; bob revokes her grant on /grants/
and watches her live session end; carol (auditors) finds alice's session, steps through its
replay seeing masked values only, verifies a range of the audit log and downloads the export
bundle, but can neither approve nor revoke. Every main page passes axe-core (no serious or
critical WCAG A/AA violation) for each persona, and each is screenshotted under
var/test-artifacts/console/.

The tests run in file order and share one story (the journey's grant, sessions, ...): each
later step says so when an earlier one did not get that far.
"""

from __future__ import annotations

import os
import re
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.gatehouse import Agent, ControlPlane
from devstack.oidc_provider import OidcProvider, control_plane_client
from devstack.ports import free_port
from devstack.postgres import PostgresCluster
from tests.integration.console import (
    DESKTOP,
    PHONE,
    axe_failures,
    horizontal_overflow,
    screenshot,
    screenshot_and_axe,
    sign_in,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

RESOURCE = "consoledb"
AGENT_NAME = "edge-console"
REASON = "console ticket 8080"
COMMENT = "ok for ticket 8080"
CUSTOMERS = [
    ("Dora Ledger", "dora.ledger@pii.example.com"),
    ("Emil Vault", "emil@vault.example.org"),
]
RAW_EMAILS = [email for _name, email in CUSTOMERS]
MASKED_EMAIL = "[EMAIL_ADDRESS]"
# The statements alice runs with psql; the last one carries an email in its text.
PSQL_STATEMENTS = [
    "select count(*) from console_customers",
    "select name, email from console_customers order by id",
    f"select name from console_customers where email = '{RAW_EMAILS[0]}'",
]


@dataclass
class Console:
    provider: OidcProvider
    cp: ControlPlane
    agent: Agent


@dataclass
class Story:
    """What the journey produced so far, for the steps after it."""

    grant_id: str = ""
    token_conninfo: str = ""
    token: str = ""
    query_session: str = ""

    def needs(self, value: str, what: str) -> str:
        assert value, f"{what}: the journey before this step did not get that far"
        return value


# -- the stack -------------------------------------------------------------------------------
def _customers_table(pg: PostgresCluster) -> None:
    values = ", ".join(f"('{name}', '{email}')" for name, email in CUSTOMERS)
    pg.admin_psql(
        "drop table if exists console_customers;"
        "create table console_customers (id serial primary key, name text, email text);"
        f"insert into console_customers (name, email) values {values};"
        f"grant select on console_customers to {pg.scram.user};"
    )


def _resource_policy_and_masking(cp: ControlPlane, pg: PostgresCluster) -> None:
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
            "max_duration_seconds": 600,
        },
    )
    cp.api(
        "POST",
        "/api/v1/masking-policies",
        {
            "name": "people-see-no-emails",
            "resource": RESOURCE,
            "applies_to": "people",
            "default_strategy": "redact",
            "entities": ["EMAIL_ADDRESS"],
        },
    )


@pytest.fixture(scope="module")
def console(pg: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    root = tmp_path_factory.mktemp("console")
    _customers_table(pg)
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
        _resource_policy_and_masking(cp, pg)
        # Ready by the time alice connects: the first journey signs people in meanwhile.
        agent = Agent(
            root / "agent", control_plane_url=cp.url, token=token, postgres_port=agent_port
        ).start(wait=False)
        yield Console(provider=provider, cp=cp, agent=agent)
    finally:
        if agent is not None:
            agent.stop()
        cp.stop()
        provider.stop()
        pg.admin_psql("drop table if exists console_customers")


@pytest.fixture(scope="module")
def story() -> Story:
    return Story()


@pytest.fixture(scope="module")
def people(browser: Browser, console: Console) -> Iterator[Callable[[str], Page]]:
    """``people("bob")``: bob's own browser, signed in once for the whole module."""
    pages: dict[str, Page] = {}

    def person(username: str) -> Page:
        if username not in pages:
            pages[username] = sign_in(
                browser, cp_url=console.cp.url, provider=console.provider, username=username
            )
        return pages[username]

    yield person
    for page in pages.values():
        page.context.close()


# -- helpers ---------------------------------------------------------------------------------
def _open(page: Page, console: Console, path: str) -> Page:
    response = page.goto(console.cp.url + path)
    assert response is not None and response.status == 200, (path, response and response.status)
    return page


def _psql(conninfo_and_token: tuple[str, str], *statements: str, check: bool = True) -> str:
    conninfo, token = conninfo_and_token
    argv = ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", conninfo]
    for statement in statements:
        argv += ["-c", statement]
    done = subprocess.run(
        argv,
        env={**os.environ, "PGPASSWORD": token},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def _psql_once_the_grant_arrives(conninfo_and_token: tuple[str, str], *statements: str) -> str:
    deadline = time.monotonic() + 10
    while True:  # the approval reaches the agent in a pushed snapshot, asynchronously
        out = _psql(conninfo_and_token, *statements, check=False)
        if "no active access grant" not in out or time.monotonic() > deadline:
            return out
        time.sleep(0.2)


def _split_token(command: str) -> tuple[str, str]:
    """The psql line shown on "My access" into its conninfo and the token (the password),
    which psql then reads from PGPASSWORD as people are told to do in scripts."""
    match = re.fullmatch(r'psql "(?P<conninfo>[^"]+)"', command.strip())
    assert match, command
    conninfo, token = re.subn(r"\s*password=(\S+)", "", match["conninfo"])
    password = re.search(r"password=(\S+)", match["conninfo"])
    assert token == 1 and password, command
    return conninfo, password[1]


def _events(
    console: Console, wanted: Callable[[list[dict[str, Any]]], bool], **filters: str
) -> list[dict[str, Any]]:
    """The audit events matching ``filters`` once ``wanted`` holds (or after 15 s)."""
    deadline = time.monotonic() + 15
    while True:  # agent events arrive asynchronously
        events = console.cp.audit_events(**filters)
        if wanted(events) or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def _alices_sessions(console: Console, *, more_than: int = 0) -> list[str]:
    """The ids of alice's sessions so far, oldest first, once there are more than
    ``more_than``."""
    starts = _events(console, lambda es: len(es) > more_than, action="session.start", actor="alice")
    assert len(starts) > more_than, f"alice has no session after her first {more_than}"
    return [str(e["session"]) for e in starts]


def _forged_post(
    page: Page, console: Console, path: str, form: dict[str, str | float | bool]
) -> int:
    """The POST a page's button would send (htmx), forged from the person's own signed-in
    browser with their cookie and CSRF token, as if they had crafted the button."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies(console.cp.url)}
    headers = {"X-CSRFToken": cookies.get("csrftoken", ""), "HX-Request": "true"}
    response = page.request.post(console.cp.url + path, form=form, headers=headers)
    return response.status


# -- the journeys ----------------------------------------------------------------------------
def test_alice_asks_on_the_resource_page_and_bob_approves_in_his_live_inbox(
    console: Console, people: Callable[[str], Page], story: Story
) -> None:
    bob = _open(people("bob"), console, "/inbox/")
    bob.evaluate("window.notReloaded = true")

    alice = _open(people("alice"), console, f"/resources/{RESOURCE}/")
    alice.get_by_label("Duration (minutes)").fill("5")
    alice.get_by_label("Reason").fill(REASON)
    alice.get_by_role("button", name=re.compile("^Request access")).click()
    expect(
        alice.get_by_text(re.compile("waiting for approval|pending", re.I)).first
    ).to_be_visible()

    # The request appears in bob's open inbox by itself (htmx polling), no reload.
    item = bob.locator("article", has_text=REASON)
    expect(item).to_be_visible(timeout=10_000)
    assert bob.evaluate("window.notReloaded === true"), "bob's inbox reloaded"
    for shown in ("alice", RESOURCE, "5 min"):
        expect(item).to_contain_text(shown)
    item.get_by_label("Comment").fill(COMMENT)
    item.get_by_role("button", name="Approve").click()
    expect(bob.get_by_role("status").first).to_contain_text("approved")
    expect(alice.locator("#my-requests")).to_contain_text("Approved")  # her page polls

    grants = _events(console, lambda es: bool(es), action="grant.created")
    assert grants, "no grant was created"
    story.grant_id = grants[-1]["payload"]["grant"]
    approved = console.cp.audit_events(action="access_request.approved")
    assert approved and approved[-1]["payload"]["comment"] == COMMENT


def test_alice_gets_a_token_and_reads_masked_customers_with_psql(
    console: Console, people: Callable[[str], Page], story: Story
) -> None:
    story.needs(story.grant_id, "alice's grant")
    alice = _open(people("alice"), console, "/access/")
    alice.get_by_role("button", name=f"Get a gateway token for {RESOURCE}").click()
    conninfo, token = _split_token(alice.get_by_label("psql command").input_value())
    assert f"dbname={RESOURCE} user=alice sslmode=require" in conninfo
    story.token_conninfo, story.token = conninfo, token

    console.agent.wait_ready()
    out = _psql_once_the_grant_arrives((conninfo, token), *PSQL_STATEMENTS)
    assert "Dora Ledger|" + MASKED_EMAIL in out, out
    assert "2\n" in out, out
    assert not [email for email in RAW_EMAILS if email in out], out

    reads = _events(
        console,
        lambda es: any(e["payload"].get("statement") == PSQL_STATEMENTS[1] for e in es),
        action="statement",
        actor="alice",
    )
    story.query_session = next(
        e["session"] for e in reads if e["payload"].get("statement") == PSQL_STATEMENTS[1]
    )


def test_bob_revokes_on_grants_and_sees_alices_live_session_end(
    console: Console, people: Callable[[str], Page], story: Story
) -> None:
    conninfo = story.needs(story.token_conninfo, "alice's token")
    before = len(_alices_sessions(console))
    live = subprocess.Popen(
        ["psql", "-X", "-At", conninfo, "-c", "select pg_sleep(60)"],
        env={**os.environ, "PGPASSWORD": story.token},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        live_session = _alices_sessions(console, more_than=before)[-1]
        bob = _open(people("bob"), console, "/grants/")
        row = bob.locator(f'[id="grant-{story.grant_id}"]')
        expect(row).to_contain_text("alice")
        expect(row).to_contain_text(RESOURCE)
        expect(row).to_contain_text("1 live")
        row.get_by_role("button", name=f"Revoke alice's grant on {RESOURCE}").click()
        _, stderr = live.communicate(timeout=10)
        assert live.returncode != 0 and "access grant ended" in stderr, stderr
        expect(row).to_contain_text("Revoked")
        # The row now lists the grant's sessions and polls until the live one has ended.
        expect(row.locator(f'[id="session-{live_session}"]')).to_contain_text("session ended")
    finally:
        if live.poll() is None:
            live.kill()
            live.wait()


def test_carol_finds_alices_session_and_replays_it_masked(
    console: Console, people: Callable[[str], Page], story: Story
) -> None:
    session = story.needs(story.query_session, "alice's psql session")
    carol = _open(people("carol"), console, "/sessions/")
    carol.get_by_label("Identity").fill("alice")
    carol.get_by_label("Resource").fill(RESOURCE)
    carol.get_by_label("Had masking").check()
    carol.get_by_role("button", name=re.compile("^(Filter|Apply)")).click()
    carol.wait_for_url(re.compile(r"identity=alice"))
    # Only the psql session that read emails had masking; the one bob cut read none.
    expect(carol.locator("#session-count")).to_have_text("1 session")
    link = carol.locator(f'a[href="/sessions/{session}/"]')
    expect(link.first).to_be_visible()
    link.first.click()
    carol.wait_for_url(console.cp.url + f"/sessions/{session}/")

    # Step through the timeline to the SELECT of the emails: its sample rows are masked, and
    # the browser checked its inclusion proof against the signed checkpoint.
    position = carol.locator("#replay-position")
    forward = carol.get_by_role("button", name="Step forward")
    for _ in range(30):
        if PSQL_STATEMENTS[1] in position.inner_text() or forward.is_disabled():
            break
        forward.click()
    expect(position).to_contain_text(PSQL_STATEMENTS[1])
    expect(position).to_contain_text(re.compile(r"^Step \d+ of \d+"))
    current = carol.locator('li.step[aria-current="step"]')
    expect(current).to_contain_text("Dora Ledger")
    expect(current).to_contain_text(MASKED_EMAIL)
    expect(current.locator(".proof-badge")).to_have_text("verified", timeout=15_000)
    screenshot(carol, "carol-replay-at-the-select")
    at = position.inner_text()
    carol.get_by_role("button", name="Step back").click()
    expect(position).not_to_have_text(at)
    expect(carol.locator('li.step[aria-current="step"]')).to_contain_text(PSQL_STATEMENTS[0])
    _no_raw_emails(carol, "the replay")


def _no_raw_emails(page: Page, where: str) -> None:
    html = page.content()
    assert MASKED_EMAIL in html, f"{where} shows no masked email"
    leaked = [email for email in RAW_EMAILS if email in html]
    assert not leaked, f"{where} shows raw emails: {leaked}"


def test_carol_verifies_alices_session_in_the_log_and_downloads_the_export_bundle(
    console: Console, people: Callable[[str], Page], story: Story
) -> None:
    session = story.needs(story.query_session, "alice's psql session")
    seqs = [e["seq"] for e in console.cp.audit_events(session=session)]
    first, last = min(seqs), max(seqs)
    carol = _open(people("carol"), console, "/audit/")
    carol.get_by_label("Session", exact=True).fill(session)
    carol.get_by_role("button", name="Search", exact=True).click()
    carol.wait_for_url(re.compile(f"session={session}"))
    expect(carol.locator("#audit-results")).to_contain_text("masking.applied")
    _no_raw_emails(carol, "the audit explorer")

    _wait_for_a_checkpoint_covering(carol, console, last)

    carol.get_by_label("First seq").fill(str(first))
    carol.get_by_label("Last seq").fill(str(last))
    carol.get_by_role("button", name="Verify", exact=True).click()
    verdict = carol.locator("#verdict")
    expect(verdict).to_contain_text("Verified")
    expect(verdict).to_contain_text(f"seq {first}..{last}")

    with carol.expect_download() as download:
        carol.get_by_role("button", name="Download bundle").click()
    assert download.value.suggested_filename.endswith(".tar.gz")
    with tarfile.open(download.value.path()) as bundle:
        assert bundle.getnames(), "an empty export bundle"


def _wait_for_a_checkpoint_covering(page: Page, console: Console, seq: int) -> None:
    """The log signer signs a checkpoint within a moment of new entries: reload until the
    one shown covers ``seq``."""
    deadline = time.monotonic() + 15
    while True:
        size = page.locator("#checkpoint-size")
        if size.count() and int(size.inner_text().split()[0]) > seq:
            return
        assert time.monotonic() < deadline, f"no checkpoint covers seq {seq}"
        time.sleep(0.3)
        _open(page, console, "/audit/")


def test_carol_can_neither_approve_nor_revoke(
    console: Console, people: Callable[[str], Page], story: Story
) -> None:
    alice = _open(people("alice"), console, f"/resources/{RESOURCE}/")
    alice.get_by_label("Duration (minutes)").fill("5")
    alice.get_by_label("Reason").fill("a second ticket")
    alice.get_by_role("button", name=re.compile("^Request access")).click()
    pending = _events(console, lambda es: len(es) >= 2, action="access_request.created")
    request_id = pending[-1]["payload"]["request"]

    grant = console.cp.api("POST", "/api/v1/grants", _grant_for("alice"))

    carol = _open(people("carol"), console, "/grants/")
    expect(carol.locator(f'[id="grant-{grant["id"]}"]')).to_contain_text("left")
    expect(carol.get_by_role("button", name=re.compile("^(Revoke|Approve|Deny)"))).to_have_count(0)
    inbox = carol.goto(console.cp.url + "/inbox/")
    assert inbox is not None and inbox.status == 403
    assert _forged_post(carol, console, f"/grants/{grant['id']}/revoke", {}) == 403
    decide: dict[str, str | float | bool] = {"decision": "approve", "comment": "carol says yes"}
    assert _forged_post(carol, console, f"/requests/{request_id}/decide", decide) == 403
    session = story.needs(story.query_session, "alice's psql session")
    assert _forged_post(carol, console, f"/sessions/{session}/terminate", {"confirm": "yes"}) == 403
    revoked = console.cp.audit_events(action="grant.revoked")
    assert not [e for e in revoked if e["payload"]["grant"] == grant["id"]], revoked
    decided = console.cp.audit_events(action="access_request.approved")
    assert not [e for e in decided if e["payload"].get("request") == request_id], decided


def _grant_for(identity: str) -> dict[str, Any]:
    return {
        "identity": identity,
        "resource": RESOURCE,
        "duration_seconds": 300,
        "reason": "standing grant for the forged revoke",
    }


def test_the_agents_page_shows_the_agent_connected(
    console: Console, people: Callable[[str], Page]
) -> None:
    carol = _open(people("carol"), console, "/agents/")
    row = carol.locator("tr, article", has_text=AGENT_NAME)
    expect(row.first).to_contain_text(re.compile("connected", re.I))


# -- every main page: axe-core and screenshots -----------------------------------------------
MAIN_PAGES = {
    "alice": ["/", "/resources/", f"/resources/{RESOURCE}/", "/access/", "/grants/", "/sessions/"],
    "bob": ["/", "/inbox/", "/resources/", f"/resources/{RESOURCE}/", "/grants/", "/sessions/"],
    "carol": ["/", "/resources/", "/grants/", "/sessions/", "/audit/", "/agents/"],
}


@pytest.mark.parametrize("username", sorted(MAIN_PAGES))
def test_main_pages_have_no_serious_accessibility_violation(
    console: Console,
    people: Callable[[str], Page],
    story: Story,
    username: str,
) -> None:
    paths = list(MAIN_PAGES[username])
    if story.query_session and username in ("alice", "carol"):
        paths.append(f"/sessions/{story.query_session}/")  # the replay
    person = people(username)
    failures = []
    for path in paths:  # light, on a laptop
        _open(person, console, path)
        failures += screenshot_and_axe(person, f"{username}-{_slug(path)}")
    person.emulate_media(color_scheme="dark")
    try:
        for path in paths:
            _open(person, console, path)
            failures += axe_failures(person, f"{username} on {path}, dark")
        _open(person, console, "/")
        screenshot(person, f"{username}-home-dark")
    finally:
        person.emulate_media(color_scheme="light")
    person.set_viewport_size(PHONE)
    try:
        for path in paths:
            _open(person, console, path)
            failures += screenshot_and_axe(person, f"{username}-{_slug(path)}-phone")
            wide = horizontal_overflow(person)
            if wide:
                failures.append(f"{username} on {path} scrolls sideways on a phone: {wide}")
    finally:
        person.set_viewport_size(DESKTOP)
    assert not failures, "\n\n".join(failures)


def _slug(path: str) -> str:
    if re.fullmatch(r"/sessions/[^/]+/", path):
        return "replay"
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"
