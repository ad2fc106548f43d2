"""Ephemeral upstream credentials: each session logs in as a role made for it alone, inside
its access level, and the role is gone when the session is (end, revoke, agent crash)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import asyncpg
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataplane.contract import ResourceSpec
from dataplane.protocols.postgres.upstream import admin_connection, run_query
from dataplane.protocols.postgres.wire.simple_query import quote_identifier, quote_literal
from devstack.postgres import PostgresCluster
from tests.integration.conftest import AGENT_NAME, Gateway, _start_stack

pytestmark = pytest.mark.integration

RESOURCE = "ephemdb"
NO_DEFAULT_RESOURCE = "ephemdb-nodefault"


def _ephemeral_resource(gateway: Gateway, name: str, *, default: str) -> None:
    pg = gateway.pg
    levels = pg.create_access_level_roles()
    gateway.cp.api(
        "POST",
        "/api/v1/resources",
        {
            "name": name,
            "protocol": "postgres",
            "agent": AGENT_NAME,
            "host": pg.host,
            "port": pg.port,
            "database": "postgres",
            "upstream_user": pg.scram.user,
            "upstream_password": pg.scram.password,
            "upstream_tls": "prefer",
            "credential_mode": "ephemeral",
            "access_levels": [{"name": n, "upstream_role": r} for n, r in levels.items()],
            "default_access_level": default,
        },
    )


@pytest.fixture(scope="module")
def ephemeral(pg: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    stack = _start_stack(pg, tmp_path_factory.mktemp("ephemeral"))
    try:
        _ephemeral_resource(stack, RESOURCE, default="read-only")
        _ephemeral_resource(stack, NO_DEFAULT_RESOURCE, default="")
        yield stack
    finally:
        stack.agent.stop()
        stack.cp.stop()


def _account(gateway: Gateway, name: str, *resources: str) -> str:
    """A fresh service account with a grant on each resource; returns its token."""
    gateway.api_keys[name] = gateway.cp.api("POST", "/api/v1/service-accounts", {"name": name})[
        "api_key"
    ]
    for resource in resources:
        gateway.grant(name, resource)
    deadline = time.monotonic() + 10
    while True:  # the grant reaches the agent asynchronously
        try:
            psycopg.connect(gateway.dsn(resources[0], token=gateway.token(name))).close()
            return gateway.token(name)
        except psycopg.OperationalError as exc:
            if "no active access grant" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _session_roles(pg: PostgresCluster) -> dict[str, str]:
    rows = pg.admin_psql(
        "SELECT rolname || '|' || coalesce(shobj_description(oid, 'pg_authid'), '') "
        "FROM pg_roles WHERE rolname LIKE 'gh\\_s\\_%'"
    )
    return dict(line.split("|", 1) for line in rows.splitlines() if line)


def _wait_until_gone(pg: PostgresCluster, role: str, timeout_s: float) -> float:
    started = time.monotonic()
    while role in _session_roles(pg):
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"role {role} still exists after {timeout_s} s")
        time.sleep(0.05)
    return time.monotonic() - started


def test_a_session_runs_as_its_own_role_inside_the_default_level(ephemeral: Gateway) -> None:
    pg, token = ephemeral.pg, _account(ephemeral, "reader-bot", RESOURCE)
    with psycopg.connect(ephemeral.dsn(RESOURCE, token=token)) as conn:
        role = conn.execute("select current_user").fetchone()[0]
        assert role.startswith("gh_s_") and len(role) == 5 + 16
        conn.execute("select count(*) from gatehouse_items").fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as denied:
            conn.execute("insert into gatehouse_items (label) values ('nope')")
        assert denied.value.sqlstate == "42501"
        conn.rollback()
        comment = _session_roles(pg)[role]
        assert comment.startswith(f"gatehouse: agent={AGENT_NAME} resource={RESOURCE} session=")
        assert comment.endswith("identity=reader-bot")
        assert "kind=service_account" in comment
        member_of = pg.admin_psql(
            f"SELECT b.rolname FROM pg_auth_members m JOIN pg_roles a ON a.oid = m.member "
            f"JOIN pg_roles b ON b.oid = m.roleid WHERE a.rolname = '{role}'"
        )
        assert member_of.split() == ["gh_readonly"]
    assert _wait_until_gone(pg, role, timeout_s=2.0) < 2.0

    created = ephemeral.wait_for_events(
        lambda evs: any(e["payload"]["credential"] == role for e in evs),
        action="credential.created",
    )
    dropped = ephemeral.wait_for_events(
        lambda evs: any(e["payload"]["credential"] == role for e in evs),
        action="credential.dropped",
    )
    for events in (created, dropped):
        event = next(e for e in events if e["payload"]["credential"] == role)
        assert event["actor_name"] == "reader-bot"
        assert event["resource"] == RESOURCE
        assert event["payload"]["access_level"] == "read-only"
        assert event["payload"]["upstream_role"] == "gh_readonly"


def test_without_a_level_or_a_default_the_session_is_refused(ephemeral: Gateway) -> None:
    pg, token = ephemeral.pg, _account(ephemeral, "levelless-bot", RESOURCE, NO_DEFAULT_RESOURCE)
    before = _session_roles(pg)

    async def connect() -> None:
        await asyncpg.connect(
            host="127.0.0.1",
            port=ephemeral.agent.postgres_port,
            user="gatehouse",
            password=token,
            database=NO_DEFAULT_RESOURCE,
            ssl="require",
        )

    with pytest.raises(  # 28000
        asyncpg.InvalidAuthorizationSpecificationError, match="no access level"
    ):
        asyncio.run(connect())
    assert _session_roles(pg).keys() <= before.keys()


def _hold_session(dsn: str, ready: threading.Event, seen: dict[str, object]) -> None:
    try:
        with psycopg.connect(dsn) as conn:
            seen["role"] = conn.execute("select current_user").fetchone()[0]
            ready.set()
            conn.execute("select pg_sleep(30)")
    except psycopg.OperationalError as exc:
        seen["error"] = str(exc)


def test_revoking_the_grant_ends_the_session_and_drops_its_role(ephemeral: Gateway) -> None:
    pg, token = ephemeral.pg, _account(ephemeral, "revoked-bot", RESOURCE)
    ready, seen = threading.Event(), {}
    worker = threading.Thread(
        target=_hold_session, args=(ephemeral.dsn(RESOURCE, token=token), ready, seen)
    )
    worker.start()
    assert ready.wait(15)
    role = str(seen["role"])
    assert role in _session_roles(pg)
    ephemeral.cp.api(
        "POST", f"/api/v1/grants/{ephemeral.grants[('revoked-bot', RESOURCE)]}/revoke", {}
    )
    worker.join(10)
    assert "access grant ended" in str(seen["error"])
    _wait_until_gone(pg, role, timeout_s=2.0)
    backends = pg.admin_psql(f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{role}'")
    assert backends.strip() == "0"


def test_the_reconciler_drops_the_roles_a_killed_agent_left_behind(ephemeral: Gateway) -> None:
    pg, token = ephemeral.pg, _account(ephemeral, "crash-bot", RESOURCE)
    ready, seen = threading.Event(), {}
    worker = threading.Thread(
        target=_hold_session, args=(ephemeral.dsn(RESOURCE, token=token), ready, seen)
    )
    worker.start()
    assert ready.wait(15)
    role = str(seen["role"])
    agent_process = ephemeral.agent.process
    assert agent_process is not None
    agent_process.kill()  # SIGKILL by its pid: no cleanup runs
    ephemeral.agent.process = None
    worker.join(10)
    assert role in _session_roles(pg)  # left behind

    ephemeral.agent.start()
    _wait_until_gone(pg, role, timeout_s=15.0)
    dropped = ephemeral.wait_for_events(
        lambda evs: any(e["payload"]["credential"] == role for e in evs),
        action="credential.dropped",
    )
    event = next(e for e in dropped if e["payload"]["credential"] == role)
    assert event["actor_name"] == "crash-bot"
    assert "reconciler" in event["payload"]["reason"]


# -- quoting against the real server --------------------------------------------------------
def _manager_spec(pg: PostgresCluster) -> ResourceSpec:
    return ResourceSpec(
        name="quoting",
        protocol="postgres",
        host=pg.host,
        port=pg.port,
        database="postgres",
        upstream_user=pg.scram.user,
        upstream_password=pg.scram.password,
        upstream_tls="disable",
    )


async def _round_trip(pg: PostgresCluster, texts: list[str]) -> list[tuple[str | None, ...]]:
    rows: list[tuple[str | None, ...]] = []
    async with admin_connection(_manager_spec(pg)) as connection:
        for standard in ("on", "off"):
            (await run_query(connection, f"SET standard_conforming_strings = {standard}"))
            for text in texts:
                query = await run_query(
                    connection,
                    f"SELECT {quote_literal(text)} AS {quote_identifier(text[:20] or 'x')}",
                )
                query.raise_for_error()
                rows += query.rows
    return rows


_TEXT = st.text(
    st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_TEXT.map(lambda t: t + "'\\\"; select 1; --"), min_size=1, max_size=5))
def test_quoted_literals_reach_the_server_unchanged(pg: PostgresCluster, texts: list[str]) -> None:
    rows = asyncio.run(_round_trip(pg, texts))
    assert [row[0] for row in rows] == texts * 2
