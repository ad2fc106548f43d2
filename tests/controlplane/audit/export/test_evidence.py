"""The ISO 27001 evidence report: figures drawn from the log and the grants of the period,
each control mapped to them, and the offline verifier's verdict; checked in real Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, sync_playwright

from controlplane.access.services import access_request_approve, access_request_create, grant_create
from controlplane.agents.services import IssuedAgent
from controlplane.audit.export.evidence import (
    Evidence,
    evidence_collect,
    evidence_render,
    evidence_report,
)
from controlplane.audit.export.period import Period
from controlplane.audit.services import audit_events_ingest
from controlplane.identities.models import User
from controlplane.policies.services import policy_set
from controlplane.resources.models import Resource
from dataplane.contract import Actor
from dataplane.contract import AuditEvent as WireEvent
from tests.controlplane.access.conftest import appdb_spec, member, with_levels
from tests.controlplane.audit.export.conftest import statements_run
from tests.integration.browser import launch_chromium

pytestmark = pytest.mark.django_db(transaction=True)
ARTIFACTS = Path(__file__).resolve().parents[3] / "artifacts"
CONTROLS = [
    "A.9.2.1", "A.12.4.1", "A.14.2.5", "A.18.1.3",
    "A.5.15", "A.5.16", "A.5.18", "A.8.15", "A.8.11", "A.8.27", "A.5.33",
]  # fmt: skip


def _agent_events(edge: IssuedAgent, smith: User, alice: User, *, first_seq: int) -> None:
    """What edge-1 saw besides statements: a refused connection, masking and a blocked command."""
    actor = Actor(sub=str(smith.pk), kind="service_account", name="agent-smith",
                  on_behalf_of=Actor(sub=str(alice.pk), kind="user", name="alice"))  # fmt: skip
    now = datetime.now(UTC).isoformat()
    happenings = [
        ("connection.refused", Actor.anonymous(), {"reason": "bad_credentials"}),
        ("masking.applied", actor, {"entities": {"email": 3, "phone": 1}}),
        ("masking.applied", actor, {"entities": {"email": 2}}),
        ("guardrail.denied", actor, {"statement": "DROP TABLE customers", "rule": "no-ddl"}),
    ]  # fmt: skip
    events = [
        WireEvent(seq=first_seq + n, time=now, action=action, actor=who, resource="appdb",
                  protocol="postgres", session="s-2", payload=payload)
        for n, (action, who, payload) in enumerate(happenings)
    ]  # fmt: skip
    audit_events_ingest(agent=edge.agent, events=events)


@pytest.fixture
def quarter(
    bob: User, alice: User, carol: User, agent_smith: User, appdb: Resource, edge: IssuedAgent
) -> Period:
    """alice asks for appdb and erin approves; bob gives agent-smith 30 days directly;
    agent-smith works for alice through edge-1."""
    started = timezone.now() - timedelta(seconds=1)
    erin = member(User.objects.create_user(username="erin"), "dba")
    member(alice, "developers")
    policy_set(actor=bob, resource=with_levels(appdb), spec=appdb_spec(agent_smith))
    request = access_request_create(
        actor=alice, resource=appdb, duration=timedelta(minutes=30), reason="fix a bug"
    )
    access_request_approve(actor=erin, request=request, comment="ok")
    grant_create(
        actor=bob,
        identity=agent_smith,
        resource=appdb,
        duration=timedelta(days=30),
        reason="batch jobs",
    )
    statements_run(edge, alice, agent_smith, range(1, 4))
    _agent_events(edge, agent_smith, alice, first_seq=4)
    return Period(started, timezone.now() + timedelta(seconds=1))


def test_the_figures_come_from_the_log_and_the_grants(quarter: Period) -> None:
    evidence = evidence_collect(period=quarter, standing_days=7)

    assert (evidence.agent_calls, evidence.agent_calls_authenticated) == (3, 3)
    assert evidence.agent_calls_on_behalf == 3
    assert evidence.refused_connections == 1
    assert evidence.masking == {"email": 5, "phone": 1}
    assert [event["payload"]["statement"] for event in evidence.blocked] == ["DROP TABLE customers"]
    by_identity = {grant.identity: grant for grant in evidence.grants}
    assert by_identity["alice"].approvers == ("erin",)
    assert by_identity["alice"].duration_text == "30m"
    assert by_identity["agent-smith"].created_by == "bob"
    assert [grant.identity for grant in evidence.standing_grants] == ["agent-smith"]
    assert evidence.entries == sum(evidence.entries_by_source.values()) > 10
    assert [control.ref for control in evidence.controls] == CONTROLS


def test_without_masking_events_the_report_says_none_recorded(bob: User, db: None) -> None:
    period = Period(timezone.now() - timedelta(days=1), timezone.now())
    evidence = evidence_collect(period=period)

    masking = next(control for control in evidence.controls if control.ref == "A.8.11")
    assert masking.evidence == "None recorded in the period."
    assert "None recorded in the period." in evidence_render(evidence)


@contextmanager
def chromium_page() -> Iterator[Page]:
    """A Chromium page, closed (with Playwright's event loop) before the test's database
    teardown, which Django refuses to run while an event loop is live in the thread."""
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser.new_page(viewport={"width": 1200, "height": 900})
        browser.close()


def test_carol_reads_the_report_in_a_browser_with_every_control_and_a_verified_log(
    quarter: Period, carol: User
) -> None:
    html = evidence_report(actor=carol, period=quarter, standing_days=7)
    ARTIFACTS.mkdir(exist_ok=True)
    report = ARTIFACTS / "evidence_report.html"
    report.write_text(html, encoding="utf-8")

    with chromium_page() as page:
        _read_report(page, report)


def _read_report(page: Page, report: Path) -> None:
    page.goto(report.as_uri())
    rows = page.locator("#control-mapping tbody tr")
    assert [rows.nth(i).get_attribute("data-control") for i in range(rows.count())] == CONTROLS
    access = page.locator('tr[data-control="A.5.15"]').inner_text()
    assert "100.0% of 3 agent calls carried an authenticated identity" in access
    assert "refused connections: 1" in access
    assert page.locator("#fig-authenticated").inner_text() == "100.0%"
    assert page.locator("#fig-standing").inner_text() == "1"
    assert (
        page.locator('tr[data-control="A.8.11"]')
        .inner_text()
        .endswith("email: 5, phone: 1 values masked.")
    )
    assert "erin" in page.locator("#grants-table").inner_text()
    assert page.locator("#verifier-verdict").inner_text().startswith("VERIFIED")
    assert page.locator("#verdict").get_attribute("class") == "verdict pass"
    assert "/tmp/" not in page.content()  # the scratch bundle is gone: no path to it
    assert (
        page.evaluate("[...document.querySelectorAll('link,script,img')].length") == 0
    )  # self-contained
    page.screenshot(path=str(ARTIFACTS / "evidence_report.png"), full_page=True)


def test_the_command_writes_the_report(quarter: Period, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    call_command("evidence_report", "--since", "1h", "--out", str(out), "--no-verify")

    html = out.read_text(encoding="utf-8")
    assert "A.5.18" in html and "not run" in html
    assert isinstance(evidence_collect(period=quarter), Evidence)
