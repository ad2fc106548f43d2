"""Grants bound live sessions: revoking or expiring a grant ends the session at the agent."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from tests.integration.conftest import AI_ACCOUNT, Gateway

pytestmark = pytest.mark.integration


def _run_until_killed(dsn: str, ready: threading.Event, outcome: dict) -> None:
    try:
        with psycopg.connect(dsn) as conn:
            conn.execute("select 1")
            ready.set()
            conn.execute("select pg_sleep(30)")
    except psycopg.OperationalError as exc:
        outcome["ended_at"] = time.monotonic()
        outcome["error"] = str(exc)


def test_revoking_a_grant_ends_the_live_session_within_a_second(fresh_gateway: Gateway):
    gateway = fresh_gateway
    ready, outcome = threading.Event(), {}
    worker = threading.Thread(target=_run_until_killed, args=(gateway.dsn(), ready, outcome))
    worker.start()
    assert ready.wait(15)
    time.sleep(0.2)  # the sleep is running upstream
    grant_id = gateway.grants[(AI_ACCOUNT, "appdb")]
    revoked_at = time.monotonic()
    gateway.cp.api("POST", f"/api/v1/grants/{grant_id}/revoke", {})
    worker.join(10)

    assert "access grant ended" in outcome["error"]
    assert outcome["ended_at"] - revoked_at < 1.0
    ends = gateway.wait_for_events(
        lambda evs: any(e["payload"]["reason"].startswith("terminated") for e in evs),
        action="session.end",
    )
    assert any("access grant ended" in e["payload"]["reason"] for e in ends)
    # A new connection is now refused.
    with pytest.raises(psycopg.OperationalError, match="no active access grant"):
        psycopg.connect(gateway.dsn()).close()


def test_an_expiring_grant_ends_the_session_at_the_agent(fresh_gateway: Gateway):
    gateway = fresh_gateway
    key = gateway.cp.api("POST", "/api/v1/service-accounts", {"name": "brief-bot"})["api_key"]
    gateway.api_keys["brief-bot"] = key
    gateway.grant("brief-bot", "appdb", seconds=3)
    ready, outcome = threading.Event(), {}
    worker = threading.Thread(
        target=_run_until_killed,
        args=(gateway.dsn(token=gateway.token("brief-bot")), ready, outcome),
    )
    started = time.monotonic()
    worker.start()
    assert ready.wait(15)
    worker.join(15)
    assert "access grant ended" in outcome["error"]
    assert 1.0 < outcome["ended_at"] - started < 5.0
