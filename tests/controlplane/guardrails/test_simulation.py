"""guardrails_simulate replays a known week of audited statements through a proposed
policy: the counts, and the statements it would have denied or held, by rule, with who,
where and when; masked texts that no longer parse are unjudgeable, not denies; statements
outside the window, resource or identity asked for are left out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from controlplane.agents.services import IssuedAgent
from controlplane.audit.services import audit_events_ingest
from dataplane.contract import Actor
from dataplane.contract import AuditEvent as WireEvent
from tests.controlplane.guardrails.conftest import HOLD_WRITES

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SMITH = Actor(sub="0b7c", kind="service_account", name="agent-smith")
ALICE = Actor(sub="a11c", kind="user", name="alice")

# The known week: (days before NOW, who, resource, statement [, payload extras]).
WEEK: list[tuple[float, Actor, str, str, dict[str, Any]]] = [
    (6.5, SMITH, "appdb", "SELECT * FROM orders WHERE id = $1", {}),
    (6.0, SMITH, "appdb", "SELECT count(*) FROM orders", {}),
    (5.5, ALICE, "appdb", "UPDATE orders SET status = 'void' WHERE id = 7", {}),
    (5.0, SMITH, "appdb", "DELETE FROM orders", {}),
    (4.5, ALICE, "appdb", "drop /* tidy */ TABLE scratch", {}),
    (4.0, SMITH, "appdb", "INSERT INTO audit_notes (note) VALUES ('[PERSON] called')", {}),
    (3.5, SMITH, "appdb", "SELECT * FROM customers WHERE ssn = [US_SSN]", {}),
    (3.0, ALICE, "appdb", "SELEC broken", {}),
    (2.5, SMITH, "appdb", "BEGIN; DELETE FROM carts; COMMIT", {}),
    (2.0, SMITH, "appdb", "SELECT name FROM customers WHERE email = '[EMAIL_ADDRESS]'", {}),
    (1.0, SMITH, "appdb", "UPDATE t SET x = 1 WHERE id IN (1, 2, 3", {"statement_truncated": True}),
    (0.5, ALICE, "appdb", "SELECT 1", {}),
    # Outside: another resource, and before the window.
    (1.5, SMITH, "billingdb", "DROP TABLE invoices", {}),
    (8.0, SMITH, "appdb", "DROP TABLE old_orders", {}),
]


@pytest.fixture
def week(edge: IssuedAgent) -> None:
    events = [
        WireEvent(
            seq=seq,
            time=(NOW - timedelta(days=days)).isoformat(),
            action="statement",
            actor=actor,
            resource=resource,
            protocol="postgres",
            session=f"s-{seq}",
            payload={"statement": text, "kind": "simple", **extras},
        )
        for seq, (days, actor, resource, text, extras) in enumerate(
            sorted(WEEK, key=lambda row: -row[0]), start=1
        )
    ]
    audit_events_ingest(agent=edge.agent, events=events)
    # Not statements: never replayed.
    other = WireEvent(
        seq=len(events) + 1, time=NOW.isoformat(), action="session.start", actor=SMITH,
        resource="appdb", protocol="postgres", session="s-x", payload={},
    )  # fmt: skip
    audit_events_ingest(agent=edge.agent, events=[other])


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "proposed.json"
    path.write_text(json.dumps(HOLD_WRITES))
    return path


def simulate(policy_file: Path, *args: str) -> str:
    out = StringIO()
    call_command(
        "guardrails_simulate", "--policy", str(policy_file), "--since",
        "7d", "--until", NOW.isoformat(), *args, stdout=out,
    )  # fmt: skip
    return out.getvalue()


def statements(section: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    return {rule: [s["statement"] for s in items] for rule, items in section.items()}


@pytest.mark.usefixtures("week")
def test_the_json_report_of_a_known_week(policy_file: Path) -> None:
    report = json.loads(simulate(policy_file, "--format", "json", "--resource", "appdb"))
    assert report["statements"] == 12
    assert report["counts"] == {"allow": 4, "deny": 4, "hold": 2, "unjudgeable": 2}
    assert statements(report["deny"]) == {
        "no-drop": ["drop /* tidy */ TABLE scratch"],
        "where-required": ["DELETE FROM orders", "BEGIN; DELETE FROM carts; COMMIT"],
        "unparseable": ["SELEC broken"],
    }
    assert statements(report["hold"]) == {
        "hold-writes": [
            "UPDATE orders SET status = 'void' WHERE id = 7",
            "INSERT INTO audit_notes (note) VALUES ('[PERSON] called')",
        ]
    }
    assert statements(report["unjudgeable"]) == {
        "masked text": ["SELECT * FROM customers WHERE ssn = [US_SSN]"],
        "truncated text": ["UPDATE t SET x = 1 WHERE id IN (1, 2, 3"],
    }
    [drop] = report["deny"]["no-drop"]
    assert (drop["identity"], drop["resource"]) == ("alice", "appdb")
    assert drop["time"] == (NOW - timedelta(days=4.5)).isoformat()
    assert 'guardrail "no-drop" denies DROP TABLE' in drop["reason"]


@pytest.mark.usefixtures("week")
def test_the_text_report_groups_by_rule_with_who_where_and_when(policy_file: Path) -> None:
    text = simulate(policy_file)
    assert (
        "statements: 13  allowed: 4  denied: 5  held: 2  unjudgeable (masked text): 2" in text
    )  # billingdb's DROP is in the window too
    lines = text.splitlines()
    deny_at = lines.index("would deny:")
    assert lines[deny_at + 1] == "  no-drop: 2"
    when = f"{NOW - timedelta(days=4.5):%Y-%m-%d %H:%M:%S}"
    assert f"    {when}  alice  appdb  drop /* tidy */ TABLE scratch" in lines
    assert "would hold for approval:" in lines and "unjudgeable (masked text):" in lines


@pytest.mark.usefixtures("week")
def test_one_identity(policy_file: Path) -> None:
    report = json.loads(simulate(policy_file, "--format", "json", "--identity", "alice"))
    assert report["counts"] == {"allow": 1, "deny": 2, "hold": 1, "unjudgeable": 0}


@pytest.mark.usefixtures("week")
def test_an_empty_window(policy_file: Path) -> None:
    out = StringIO()
    call_command(
        "guardrails_simulate", "--policy", str(policy_file), "--since", "2020-01-01",
        "--until", "2020-01-08", "--format", "json", stdout=out,
    )  # fmt: skip
    assert json.loads(out.getvalue())["statements"] == 0


def test_an_unreadable_policy_or_window_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format_version": 9, "rules": []}))
    with pytest.raises(CommandError, match="format_version"):
        simulate(bad)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(HOLD_WRITES))
    with pytest.raises(CommandError, match="7d, 24h, 30m"):
        call_command("guardrails_simulate", "--policy", str(good), "--since", "last week")
