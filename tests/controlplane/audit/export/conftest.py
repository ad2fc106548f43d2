"""Fixtures for the export tests: a log filled through the real services."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from controlplane.access.models import Grant
from controlplane.access.services import grant_revoke
from controlplane.agents.services import IssuedAgent
from controlplane.audit.services import audit_events_ingest
from controlplane.identities.models import User
from dataplane.contract import Actor
from dataplane.contract import AuditEvent as WireEvent


def statements_run(edge: IssuedAgent, alice: User, smith: User, seqs: range) -> None:
    """agent-smith, launched by alice, runs statements through edge-1."""
    person = Actor(sub=str(alice.pk), kind="user", name="alice")
    actor = Actor(
        sub=str(smith.pk), kind="service_account", name="agent-smith", on_behalf_of=person
    )
    now = datetime.now(UTC)
    events = [
        WireEvent(
            seq=seq,
            time=now.isoformat(),
            action="statement",
            actor=actor,
            resource="appdb",
            protocol="postgres",
            session="s-1",
            payload={"statement": f"SELECT {seq}", "command_tags": ["SELECT 1"], "error": None},
        )
        for seq in seqs
    ]
    audit_events_ingest(agent=edge.agent, events=events)


def ledger_verify(bundle: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger.verify", str(bundle), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def busy_log(
    edge: IssuedAgent, alice: User, agent_smith: User, bob: User, smith_on_appdb: Grant
) -> datetime:
    """A log with control-plane events (accounts, resource, grant, revocation) and agent
    statements, all through the real services; returns when it started."""
    started = timezone.now() - timedelta(seconds=1)
    statements_run(edge, alice, agent_smith, range(1, 6))
    grant_revoke(actor=bob, grant=smith_on_appdb, reason="report done")
    return started
