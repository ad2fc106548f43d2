"""Auto-approved access for one session or one call, end to end: a real PostgreSQL cluster,
the control plane under uvicorn, an agent, psql and psycopg.

An AI service account asks for access through the API and gets it without a human, because
the resource's policy has an auto-approval rule for it of scope "session" (or "call"). The
agent admits exactly one session on that grant (a one-call session runs one statement and is
then ended by the agent), refuses any other, and the control plane ends the grant once the
session is over."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import psycopg
import pytest

from tests.integration.conftest import Gateway

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

BOT = "report-bot"


def _one_use_policy(gateway: Gateway, resource: str, scope: str) -> str:
    """A resource whose policy auto-approves report-bot for one ``scope``; returns its key."""
    key = gateway.cp.api("POST", "/api/v1/service-accounts", {"name": BOT})["api_key"]
    gateway.api_keys[BOT] = key
    gateway.cp.api(
        "POST",
        "/api/v1/resources",
        {"name": resource, "protocol": "postgres", "agent": "edge-1",
         "host": gateway.pg.host, "port": gateway.pg.port, "database": "postgres",
         "upstream_user": gateway.pg.scram.user, "upstream_password": gateway.pg.scram.password,
         "upstream_tls": "prefer"},
    )  # fmt: skip
    gateway.cp.api(
        "PUT",
        f"/api/v1/resources/{resource}/policy",
        {"requester_service_accounts": [BOT], "max_duration_seconds": 600,
         "auto_approvals": [{"service_account": BOT, "max_duration_seconds": 300,
                             "scope": scope}]},
    )  # fmt: skip
    return key


def _ask(gateway: Gateway, resource: str) -> dict[str, Any]:
    request = gateway.cp.api(
        "POST",
        "/api/v1/access-requests",
        {"resource": resource, "duration_seconds": 300, "reason": "nightly revenue report"},
        api_key=gateway.api_keys[BOT],
    )
    assert request["status"] == "approved"  # no human involved
    return request


def _grant(gateway: Gateway, resource: str) -> dict[str, Any]:
    (grant,) = gateway.cp.api("GET", f"/api/v1/grants?identity={BOT}&resource={resource}")[
        "results"
    ]
    return dict(grant)


def _wait_until_ended(gateway: Gateway, resource: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while (grant := _grant(gateway, resource))["active"]:
        assert time.monotonic() < deadline, f"the grant never ended: {grant}"
        time.sleep(0.1)
    return grant


def _psql(dsn: str, script: str) -> subprocess.CompletedProcess[str]:
    """psql running ``script``, retried only while the new grant has not reached the agent
    (that refusal claims nothing)."""
    deadline = time.monotonic() + 10
    while True:
        done = subprocess.run(
            ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", dsn],
            input=script, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        if "no active access grant" not in done.stderr or time.monotonic() > deadline:
            return done
        time.sleep(0.1)


def _connect(dsn: str) -> psycopg.Connection[Any]:
    deadline = time.monotonic() + 10
    while True:
        try:
            return psycopg.connect(dsn, autocommit=True)
        except psycopg.OperationalError as exc:
            if "no active access grant" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_one_session_grant_admits_one_psql_session_then_ends(fresh_gateway: Gateway) -> None:
    gateway = fresh_gateway
    _one_use_policy(gateway, "reportdb", "session")
    _ask(gateway, "reportdb")
    assert _grant(gateway, "reportdb")["scope"] == "session"
    dsn = gateway.dsn("reportdb", token=gateway.token(BOT))

    with _connect(dsn) as first:  # the one session, held open
        with pytest.raises(psycopg.OperationalError, match=r"one-session access grant .* already"):
            psycopg.connect(dsn)  # a second, concurrent session is refused
        rows = first.execute("select count(*) from pg_class where relname = 'pg_class'")
        assert rows.fetchone() == (1,)
        first.execute("create temporary table report (n int)")
        first.execute("insert into report select generate_series(1, 5)")
        assert first.execute("select sum(n) from report").fetchone() == (15,)

    grant = _wait_until_ended(gateway, "reportdb")
    assert grant["used_up_at"] is not None
    later = _psql(dsn, "select 1;")
    assert later.returncode != 0 and "FATAL" in later.stderr

    actions = [e["action"] for e in gateway.events(resource="reportdb")]
    assert "grant.consumed" in actions and "session.end" in actions
    (ended,) = gateway.events(action="grant.ended")
    assert ended["payload"]["reason"] == "used" and ended["payload"]["scope"] == "session"


def test_psql_runs_several_statements_in_its_one_session(fresh_gateway: Gateway) -> None:
    gateway = fresh_gateway
    _one_use_policy(gateway, "reportdb", "session")
    _ask(gateway, "reportdb")
    dsn = gateway.dsn("reportdb", token=gateway.token(BOT))

    done = _psql(dsn, "select 40 + 2;\nselect current_database();\nselect 'done';\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["42", "postgres", "done"]

    again = _psql(dsn, "select 1;")
    assert again.returncode != 0
    assert "already used" in again.stderr or "no active access grant" in again.stderr
    _wait_until_ended(gateway, "reportdb")
    statements = gateway.wait_for_events(
        lambda events: len(events) == 3, action="statement", resource="reportdb"
    )
    assert [e["actor_name"] for e in statements] == [BOT] * 3


def test_a_one_call_grant_runs_one_statement_then_the_agent_closes(fresh_gateway: Gateway) -> None:
    gateway = fresh_gateway
    _one_use_policy(gateway, "reportdb", "call")
    _ask(gateway, "reportdb")
    dsn = gateway.dsn("reportdb", token=gateway.token(BOT))

    with _connect(dsn) as conn:
        with pytest.raises(psycopg.OperationalError, match=r"one-call access grant .* already"):
            psycopg.connect(dsn)
        rows = conn.execute("select n from generate_series(1, 3) as n where n > %s", [0])
        assert rows.fetchall() == [(1,), (2,), (3,)]
        with pytest.raises(psycopg.OperationalError, match="one-call access grant was used"):
            conn.execute("select 'a second statement'")
            conn.execute("select 'and a third'")

    _wait_until_ended(gateway, "reportdb")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn)
    statements = gateway.wait_for_events(
        lambda events: len(events) >= 1, action="statement", resource="reportdb"
    )
    assert [e["payload"]["rows"] for e in statements] == [3]
    ends = gateway.wait_for_events(bool, action="session.end", resource="reportdb")
    assert "one-call access grant was used" in ends[0]["payload"]["reason"]


def test_pipelined_statements_after_the_one_call_never_reach_the_server(
    fresh_gateway: Gateway,
) -> None:
    gateway = fresh_gateway
    _one_use_policy(gateway, "reportdb", "call")
    _ask(gateway, "reportdb")
    dsn = gateway.dsn("reportdb", token=gateway.token(BOT))
    marker = f"pipelined_{time.time_ns()}"

    with _connect(dsn) as conn, pytest.raises(psycopg.Error), conn.pipeline():
        conn.execute("select 1")
        conn.execute(f"create table {marker} (n int)")  # pipelined: same round trip
        conn.execute(f"insert into {marker} values (1)")

    gateway.wait_for_events(bool, action="session.end", resource="reportdb")
    statements = gateway.events(action="statement", resource="reportdb")
    assert [e["payload"]["statement"] for e in statements] == ["select 1"]
    missing = gateway.pg.admin_psql(f"select to_regclass('public.{marker}') is null")
    assert missing.strip() == "t"


def test_the_agent_alone_refuses_a_second_session_while_the_control_plane_is_down(
    fresh_gateway: Gateway,
) -> None:
    gateway = fresh_gateway
    _one_use_policy(gateway, "reportdb", "session")
    _ask(gateway, "reportdb")
    dsn = gateway.dsn("reportdb", token=gateway.token(BOT))

    first = _connect(dsn)  # the agent has the grant: now the control plane goes away
    gateway.cp.stop()
    try:
        assert first.execute("select 7").fetchone() == (7,)
        first.close()
        with pytest.raises(psycopg.OperationalError, match="already used"):
            psycopg.connect(dsn)
    finally:
        gateway.cp.start()
    # Back online, the agent delivers the session's end and the control plane ends the grant.
    assert _wait_until_ended(gateway, "reportdb")["used_up_at"] is not None


def test_a_crashed_agent_refuses_a_used_grant_after_restart_and_reports_it_used(
    fresh_gateway: Gateway,
) -> None:
    """The agent dies mid-session, so no session end is sent; the restarted agent refuses
    the grant from its consumed-grants file, and reports the lost session's end, so the
    control plane ends the grant too."""
    gateway = fresh_gateway
    _one_use_policy(gateway, "reportdb", "session")
    _ask(gateway, "reportdb")
    dsn = gateway.dsn("reportdb", token=gateway.token(BOT))
    first = _connect(dsn)
    assert first.execute("select 1").fetchone() == (1,)

    assert gateway.agent.process is not None
    gateway.agent.process.kill()  # SIGKILL: no session end, no shutdown
    gateway.agent.process = None
    first.close()
    gateway.agent.start()

    # Refused either by the ledger or, once the lost session's end reached the control
    # plane, because the grant is gone from the snapshot (the ledger alone is unit-tested).
    with pytest.raises(psycopg.OperationalError, match=r"already used|no active access grant"):
        psycopg.connect(dsn)
    assert _wait_until_ended(gateway, "reportdb")["used_up_at"] is not None
    (lost,) = gateway.events(action="session.end", resource="reportdb")
    assert lost["payload"]["reason"].startswith("lost:")
