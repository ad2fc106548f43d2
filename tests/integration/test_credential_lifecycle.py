"""Credential lifecycle and rate limits against the real stack: the control plane under
uvicorn, a real agent, real PostgreSQL and psycopg.

An administrator disables the AI service account while it holds a live session: the session
is cut at the agent and its API key stops working. Revoking the agent's own token
disconnects it from the control plane. A client hammering the token exchange gets 429.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest

from devstack.gatehouse import ApiError, ControlPlane
from tests.integration.conftest import AGENT_NAME, AI_ACCOUNT, Gateway

pytestmark = pytest.mark.integration


def _hold_session(dsn: str, ready: threading.Event, outcome: dict[str, Any]) -> None:
    try:
        with psycopg.connect(dsn) as conn:
            conn.execute("select 1")
            ready.set()
            conn.execute("select pg_sleep(30)")
    except psycopg.OperationalError as exc:
        outcome["error"] = str(exc)


def _agent_connected(gateway: Gateway) -> bool:
    agents = gateway.cp.api("GET", "/api/v1/agents")["results"]
    return bool(next(a for a in agents if a["name"] == AGENT_NAME)["connected"])


def _until(condition: Any, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.1)


def test_disabling_the_ai_account_cuts_its_live_session_and_its_key(fresh_gateway: Gateway):
    gateway = fresh_gateway
    ready, outcome = threading.Event(), {}
    worker = threading.Thread(target=_hold_session, args=(gateway.dsn(), ready, outcome))
    worker.start()
    assert ready.wait(15)
    gateway.cp.api(
        "POST", f"/api/v1/service-accounts/{AI_ACCOUNT}/deactivate", {"reason": "key leaked"}
    )
    worker.join(10)
    assert "access grant ended" in outcome["error"]
    with pytest.raises(ApiError) as refused:
        gateway.token(AI_ACCOUNT)
    assert refused.value.status == 401
    [event] = gateway.events(action="service_account.deactivated")
    assert event["payload"]["reason"] == "key leaked"
    assert len(event["payload"]["grants_ended"]) == 2  # appdb and legacydb


def test_revoking_the_agents_token_disconnects_it(fresh_gateway: Gateway):
    gateway = fresh_gateway
    _until(lambda: _agent_connected(gateway))
    gateway.cp.api("POST", f"/api/v1/agents/{AGENT_NAME}/token/revoke")
    _until(lambda: not _agent_connected(gateway))
    closes = gateway.wait_for_events(
        lambda events: any(e["payload"].get("close_code") == 4401 for e in events),
        action="agent.disconnected",
    )
    assert closes
    time.sleep(2)  # the agent retries with its revoked token, and is refused each time
    assert not _agent_connected(gateway)


@pytest.fixture
def limited_control_plane(tmp_path: Path) -> Iterator[ControlPlane]:
    cp = ControlPlane(
        tmp_path / "cp",
        extra_env={"GATEHOUSE_AUTH_RATE_BURST": "3", "GATEHOUSE_AUTH_RATE_PER_MINUTE": "30"},
    )
    cp.bootstrap()
    cp.start()
    try:
        yield cp
    finally:
        cp.stop()


def _exchange(cp: ControlPlane, subject_token: str) -> tuple[int, Message, Any]:
    body = urlencode({
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": subject_token,
        "subject_token_type": "urn:gatehouse:api-key",
    }).encode()  # fmt: skip
    request = urllib.request.Request(cp.url + "/api/v1/token-exchange", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, json.loads(exc.read())


def test_hammering_the_token_exchange_gets_429_with_retry_after(limited_control_plane):
    cp = limited_control_plane
    # Windows follow the wall clock, so a new one may begin during the loop: at most two
    # windows' worth of attempts pass before the refusal.
    answers = [_exchange(cp, "gh_0123456789ab_guess") for _ in range(7)]
    statuses = [status for status, _, _ in answers]
    assert 429 in statuses and 3 <= statuses.index(429) <= 6, statuses
    assert set(statuses[: statuses.index(429)]) == {400}
    _, headers, body = answers[statuses.index(429)]
    assert body["error"] == "slow_down"
    assert 1 <= int(headers.get("Retry-After", "0")) <= 10
    [event] = cp.audit_events(action="auth.rate_limited")
    assert event["payload"]["client"] == "127.0.0.1"
    assert "guess" not in json.dumps(event["payload"])
