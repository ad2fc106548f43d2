"""Real PostgreSQL clients through the agent: what they see, and what the audit log records."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time

import asyncpg
import psycopg
import pytest

from tests.integration.conftest import AI_ACCOUNT, Gateway

pytestmark = pytest.mark.integration


def _statements(gateway: Gateway, session_filter: dict[str, str], expected: int):
    return gateway.wait_for_events(
        lambda events: len([e for e in events if e["action"] == "statement"]) >= expected,
        action="statement",
        **session_filter,
    )


def test_psql_runs_queries_and_each_lands_in_the_audit_log_under_the_service_account(gateway):
    marker = f"psql-{time.time_ns()}"
    done = subprocess.run(
        ["psql", "-X", "-At", gateway.dsn(), "-c", f"select 41 + 1 as answer, '{marker}'"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"42|{marker}"

    events = gateway.wait_for_events(
        lambda evs: any(marker in e["payload"]["statement"] for e in evs), action="statement"
    )
    event = next(e for e in events if marker in e["payload"]["statement"])
    assert event["actor_name"] == AI_ACCOUNT
    assert event["actor_kind"] == "service_account"
    assert event["resource"] == "appdb"
    assert event["payload"]["rows"] == 1
    assert event["payload"]["command_tags"] == ["SELECT 1"]
    assert event["payload"]["error"] is None


def test_psql_over_tls_never_needs_the_database_password(gateway):
    done = subprocess.run(
        [
            "psql",
            "-X",
            "-At",
            gateway.dsn(),
            "-c",
            "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
            "-c",
            "select current_user",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # The upstream session logs in as the role the control plane holds the password for.
    assert done.stdout.split()[-1] == gateway.pg.scram.user


def test_psycopg_text_and_binary_results_and_prepared_statements(gateway):
    with psycopg.connect(gateway.dsn()) as conn:
        assert conn.execute("select %s::int + 1, %s::text", (1, "a")).fetchone() == (2, "a")
        row = conn.execute(
            "select %s::int, %s::numeric, %s::bytea", (7, 1.5, b"\x00\x01"), binary=True
        ).fetchone()
        assert row == (7, 1.5, b"\x00\x01")
        for i in range(5):
            assert conn.execute("select %s::int * 2", (i,), prepare=True).fetchone() == (i * 2,)
        with conn.cursor() as cur:
            cur.execute("create temporary table items (id int, name text)")
            cur.executemany("insert into items values (%s, %s)", [(i, f"n{i}") for i in range(20)])
            assert cur.execute("select count(*) from items").fetchone() == (20,)
        upstream_pid = conn.execute("select pg_backend_pid()").fetchone()[0]
        # The client holds the gateway's own cancel key, never the upstream backend's.
        assert conn.info.backend_pid != upstream_pid

    events = gateway.wait_for_events(
        lambda evs: sum("* 2" in e["payload"]["statement"] for e in evs) >= 5, action="statement"
    )
    prepared = [e for e in events if "* 2" in e["payload"]["statement"]]
    assert all(
        e["payload"]["kind"] == "extended" and e["payload"]["parameter_count"] == 1
        for e in prepared
    )


def test_psycopg_streams_a_large_result_and_a_large_row(gateway):
    with psycopg.connect(gateway.dsn()) as conn:
        with conn.cursor(name="big") as cur:  # server-side cursor: FETCH in batches
            cur.execute("select i, repeat('x', 1000) from generate_series(1, 20000) i")
            total = sum(len(r[1]) for r in cur)
        assert total == 20000 * 1000
        big = conn.execute("select repeat('y', 8 * 1024 * 1024)").fetchone()[0]
        assert len(big) == 8 * 1024 * 1024


def test_copy_from_stdin_and_to_stdout(gateway):
    with psycopg.connect(gateway.dsn()) as conn:
        conn.execute("create temporary table copied (id int, note text)")
        with conn.cursor() as cur:
            with cur.copy("copy copied from stdin") as copy:
                for i in range(1000):
                    copy.write_row((i, f"note {i}"))
            rows = []
            with cur.copy("copy copied to stdout") as copy:
                rows.extend(copy.rows())
    assert len(rows) == 1000 and rows[5] == ("5", "note 5")
    events = gateway.wait_for_events(
        lambda evs: {"COPY 1000"} <= {t for e in evs for t in e["payload"]["command_tags"]},
        action="statement",
    )
    copy_events = [e for e in events if e["payload"]["command_tags"] == ["COPY 1000"]]
    assert {e["payload"]["rows"] for e in copy_events} == {1000}


def test_notices_reach_the_client(gateway):
    notices: list[str] = []
    with psycopg.connect(gateway.dsn()) as conn:
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        conn.execute("do $$ begin raise notice 'hello from upstream'; end $$")
    assert notices == ["hello from upstream"]


def test_asyncpg_extended_protocol_with_its_statement_cache(gateway):
    async def scenario() -> list[int]:
        conn = await asyncpg.connect(
            host="127.0.0.1",
            port=gateway.agent.postgres_port,
            user="ai",
            password=gateway.token(),
            database="legacydb",
            ssl="require",
        )
        try:
            got = [await conn.fetchval("select $1::int + 1", i) for i in range(3)]
            statement = await conn.prepare("select $1::text || '!'")
            assert await statement.fetchval("hi") == "hi!"
            await conn.execute("create temporary table t (a int)")
            await conn.executemany("insert into t values ($1)", [(i,) for i in range(10)])
            assert await conn.fetchval("select sum(a) from t") == 45
            async with conn.transaction():
                await conn.execute("insert into t values (100)")
            return got
        finally:
            await conn.close()

    assert asyncio.run(scenario()) == [1, 2, 3]
    events = gateway.wait_for_events(
        lambda evs: sum("$1::int + 1" in e["payload"]["statement"] for e in evs) >= 3,
        action="statement",
        resource="legacydb",
    )
    assert all(e["resource"] == "legacydb" for e in events)


def test_pgbench_initialises_and_runs_through_the_agent(gateway):
    env = {
        **os.environ,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(gateway.agent.postgres_port),
        "PGUSER": "bench",
        "PGDATABASE": "appdb",
        "PGSSLMODE": "require",
        "PGPASSWORD": gateway.token(),
    }
    init = subprocess.run(
        ["pgbench", "-i", "-s", "1", "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    for mode in ("simple", "extended", "prepared"):
        run = subprocess.run(
            ["pgbench", "-n", "-c", "4", "-j", "2", "-t", "50", "-M", mode],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        assert "number of transactions actually processed: 200/200" in run.stdout


def test_cancel_request_reaches_the_upstream_backend(gateway):
    with psycopg.connect(gateway.dsn(), autocommit=True) as conn:
        threading.Timer(0.5, conn.cancel).start()
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("select pg_sleep(20)")
        assert time.monotonic() - started < 5
        assert conn.execute("select 1").fetchone() == (1,)  # the session survives a cancel
    gateway.wait_for_events(lambda evs: len(evs) > 0, action="cancel.request")
