"""The replay page in real Chromium, against real components: an AI service account's masked
psycopg session runs through the agent on a customers table; carol (auditors) signs in
through the OpenID provider, opens the session's replay, steps through it (the current step
announced), sees the statements' masked sample rows and never a raw email, sees every event
"pending checkpoint" until a checkpoint is signed and "verified" after (each inclusion proof
checked by the page with WebCrypto), plays it to the end at instant speed, and sees "not
verified" on an event whose payload and leaf were rewritten in the database. A terminal
recording appended through the sequencer shows in asciinema-player. The page
passes axe-core and is screenshotted under var/test-artifacts/console/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.gatehouse import Agent, ControlPlane
from devstack.oidc_provider import OidcProvider, control_plane_client
from devstack.ports import free_port
from devstack.postgres import PostgresCluster
from tests.integration.console import DESKTOP, PHONE, screenshot_and_axe, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

RESOURCE = "replaydb"
AGENT_NAME = "edge-replay"
ACCOUNT = "ai-replayer"
CUSTOMERS = [
    ("Ivy Archive", "ivy.archive@pii.example.com"),
    ("Otto Ledger", "otto@ledger.example.org"),
    ("Pia Vault", "pia.vault@pii.example.net"),
]
RAW_EMAILS = [email for _name, email in CUSTOMERS]
READ = "select id, name, email from replay_customers order by id"


@dataclass
class Stack:
    provider: OidcProvider
    cp: ControlPlane
    agent: Agent
    dsn: str


def _customers(pg: PostgresCluster) -> None:
    values = ", ".join(f"('{name}', '{email}')" for name, email in CUSTOMERS)
    pg.admin_psql(
        "drop table if exists replay_customers;"
        "create table replay_customers (id serial primary key, name text, email text);"
        f"insert into replay_customers (name, email) values {values};"
        f"grant select on replay_customers to {pg.scram.user};"
    )


def _resource_account_and_masking(cp: ControlPlane, pg: PostgresCluster, agent_port: int) -> str:
    """The resource, a service account granted on it with masked results; its DSN."""
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
    key = cp.api("POST", "/api/v1/service-accounts", {"name": ACCOUNT})["api_key"]
    cp.api(
        "POST",
        "/api/v1/grants",
        {"identity": ACCOUNT, "resource": RESOURCE, "duration_seconds": 3600, "reason": "replay"},
    )
    cp.manage(
        "set_masking_policy", "replay-masked", "--resource", RESOURCE,
        "--applies-to", "service_accounts", "--default", "redact",
    )  # fmt: skip
    token = cp.api("POST", "/api/v1/tokens", {}, api_key=key)["token"]
    return (
        f"host=127.0.0.1 port={agent_port} dbname={RESOURCE} user=gatehouse "
        f"password={token} sslmode=require"
    )


@pytest.fixture(scope="module")
def stack(pg: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("replay")
    _customers(pg)
    cp_port, agent_port = free_port(), free_port()
    provider = OidcProvider(
        root / "provider", clients=[control_plane_client(f"http://127.0.0.1:{cp_port}")]
    ).start()
    cp = ControlPlane(root / "controlplane", port=cp_port, extra_env=provider.relying_party_env())
    agent: Agent | None = None
    try:
        cp.bootstrap()
        cp.start(log_signer=False)  # this test signs the checkpoint when it wants one
        token = cp.api("POST", "/api/v1/agents", {"name": AGENT_NAME})["token"]
        dsn = _resource_account_and_masking(cp, pg, agent_port)
        agent = Agent(
            root / "agent", control_plane_url=cp.url, token=token, postgres_port=agent_port
        ).start()
        yield Stack(provider=provider, cp=cp, agent=agent, dsn=dsn)
    finally:
        if agent is not None:
            agent.stop()
        cp.stop()
        provider.stop()
        pg.admin_psql("drop table if exists replay_customers")


def _masked_session(stack: Stack) -> str:
    """Run the AI account's session once masking reached the agent; its session id."""
    deadline = time.monotonic() + 30
    while True:
        with psycopg.connect(stack.dsn, application_name="replay-test", autocommit=True) as conn:
            rows = conn.execute(READ).fetchall()
            if rows[0][2] == "[EMAIL_ADDRESS]":
                conn.execute("select count(*) from replay_customers").fetchone()
                break
        assert time.monotonic() < deadline, "the masking policy never reached the agent"
        time.sleep(0.3)
    return _session_of_masked_read(stack)


def _session_of_masked_read(stack: Stack) -> str:
    deadline = time.monotonic() + 15
    while True:
        events = stack.cp.audit_events()
        ended = {e["session"] for e in events if e["action"] == "session.end"}
        sampled = [
            e["session"]
            for e in events
            if e["action"] == "statement"
            and e["payload"].get("sample_rows")
            and e["session"] in ended
        ]
        if sampled:
            return str(sampled[-1])
        assert time.monotonic() < deadline, "the masked session's events never arrived"
        time.sleep(0.2)


# No producer records terminals yet (SSH and Kubernetes exec will): append a recording
# through the audit sequencer in the control plane's own process.
TERMINAL_SESSION = "ssh-replay-1"
APPEND_RECORDING = f"""
from django.db import transaction
from django.utils import timezone
from controlplane.audit.sequencer import Entry, Person, audit_append
now = timezone.now()
events = [
    ("session.start", {{}}),
    ("terminal.resize", {{"v": 1, "t": 0, "cols": 80, "rows": 10}}),
    ("terminal.output", {{"v": 1, "t": 0.2, "data": "$ whoami\\r\\n"}}),
    ("terminal.output", {{"v": 1, "t": 0.4, "data": "replay-user\\r\\n"}}),
]
with transaction.atomic():
    audit_append([
        Entry(source="controlplane", occurred_at=now, received_at=now, action=action,
              actor=Person("", "service_account", "{ACCOUNT}"), protocol="ssh",
              session="{TERMINAL_SESSION}", payload=payload)
        for action, payload in events
    ])
"""


def _badges(page: Page) -> list[str]:
    return [text.strip() for text in page.locator(".proof-badge").all_inner_texts()]


def _wait_for_badges(page: Page, wanted: str) -> list[str]:
    deadline = time.monotonic() + 10
    while (badges := _badges(page)) and any(b != wanted for b in badges):
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return badges


def test_carol_steps_through_a_masked_session_and_sees_it_verified(
    stack: Stack, browser: Browser
) -> None:
    session = _masked_session(stack)
    path = f"/sessions/{session}/"
    carol = sign_in(
        browser, cp_url=stack.cp.url, provider=stack.provider, username="carol", path=path
    )
    try:
        _before_a_checkpoint(carol, session)
        _stepping(carol)
        _verified_after_a_checkpoint(carol, stack)
        _played_to_the_end(carol)
        _tampered_event_not_verified(carol, stack, session)
        failures = screenshot_and_axe(carol, "carol-replay")
        carol.set_viewport_size(PHONE)
        failures += screenshot_and_axe(carol, "carol-replay-phone")
        assert not failures, "\n".join(failures)
        carol.set_viewport_size(DESKTOP)
        _terminal_player(carol, stack)
    finally:
        carol.context.close()


def _before_a_checkpoint(carol: Page, session: str) -> None:
    expect(carol.get_by_role("heading", level=1)).to_contain_text(session)
    expect(carol.locator("#checkpoint-status")).to_contain_text("No checkpoint")
    badges = _wait_for_badges(carol, "pending checkpoint")
    assert badges and set(badges) == {"pending checkpoint"}, badges
    html = carol.content()
    leaked = [email for email in RAW_EMAILS if email in html]
    assert not leaked, f"the replay shows raw emails: {leaked}"
    assert "sample rows are recorded only for masked sessions" in html.lower()


def _stepping(carol: Page) -> None:
    steps = carol.locator("#timeline > li.step")
    total = steps.count()
    assert total >= 4, total  # start, two statements, masking summary, end
    position = carol.locator("#replay-position")
    expect(position).to_contain_text(f"Step 1 of {total}: session.start")
    expect(steps.nth(1)).to_be_hidden()
    forward = carol.get_by_role("button", name=re.compile("step forward", re.I))
    forward.click()
    expect(position).to_contain_text(f"Step 2 of {total}: statement: {READ}")
    read = steps.nth(1)
    expect(read).to_be_visible()
    expect(read).to_have_attribute("aria-current", "step")
    sample = read.locator("table.sample")
    expect(sample.locator("thead")).to_contain_text("email")
    expect(sample.locator("tbody tr")).to_have_count(3)
    expect(sample.locator("tbody tr").first).to_contain_text("[EMAIL_ADDRESS]")
    expect(sample.locator("tbody tr").first).to_contain_text("Ivy Archive")
    expect(read).to_contain_text("EMAIL_ADDRESS × 3")
    carol.get_by_role("button", name=re.compile("step back", re.I)).click()
    expect(position).to_contain_text(f"Step 1 of {total}")
    expect(read).to_be_hidden()


def _verified_after_a_checkpoint(carol: Page, stack: Stack) -> None:
    stack.cp.manage("run_log_signer", "--once")
    carol.reload()
    expect(carol.locator("#checkpoint-status")).to_contain_text("signature verified on the server")
    badges = _wait_for_badges(carol, "verified")
    assert badges and set(badges) == {"verified"}, badges
    assert len(badges) == carol.locator("#timeline > li.step").count()


def _played_to_the_end(carol: Page) -> None:
    carol.get_by_label("Speed").select_option("instant")
    carol.get_by_role("button", name="Play").click()
    expect(carol.locator("#replay-position")).to_contain_text("End of the session")
    expect(carol.locator("#timeline > li.step").last).to_be_visible()
    expect(carol.get_by_role("button", name="Pause")).to_be_disabled()


# Someone with the database in hand rewrites an event's payload and its leaf alike (the
# server's column check passes): only the page's own hash of the leaf can tell.
TAMPER = """
import json
from django.db import connection
from controlplane.audit import triggers
from controlplane.audit.models import AuditEvent
event = AuditEvent.objects.get(session="{session}", action="masking.applied")
payload = {{**event.payload, "entities": {{"EMAIL_ADDRESS": 0}}}}
leaf = event.leaf.replace('"EMAIL_ADDRESS":3', '"EMAIL_ADDRESS":0')
assert leaf != event.leaf
with connection.cursor() as cursor:
    for sql in triggers.drop_sql(connection.vendor):
        cursor.execute(sql)
    cursor.execute(
        "UPDATE audit_auditevent SET payload = %s, leaf = %s WHERE id = %s",
        [json.dumps(payload), leaf, event.pk],
    )
    for sql in triggers.create_sql(connection.vendor):
        cursor.execute(sql)
"""


def _tampered_event_not_verified(carol: Page, stack: Stack, session: str) -> None:
    stack.cp.manage("shell", "-c", TAMPER.format(session=session))
    carol.reload()
    forged = carol.locator("#timeline > li.step-masking .proof-badge")
    expect(forged).to_have_text("not verified")
    expect(forged).to_have_attribute("title", re.compile("does not lead to the checkpoint"))
    others = carol.locator("#timeline > li.step:not(.step-masking) .proof-badge")
    expect(others.first).to_have_text("verified")
    assert set(others.all_inner_texts()) == {"verified"}


def _terminal_player(carol: Page, stack: Stack) -> None:
    stack.cp.manage("shell", "-c", APPEND_RECORDING)
    carol.goto(stack.cp.url + f"/sessions/{TERMINAL_SESSION}/")
    expect(carol.locator("#terminal-player .ap-player")).to_be_visible()
    cast = carol.request.get(stack.cp.url + f"/sessions/{TERMINAL_SESSION}/cast")
    assert cast.headers["content-type"] == "application/x-asciicast"
    assert "replay-user" in cast.text()
