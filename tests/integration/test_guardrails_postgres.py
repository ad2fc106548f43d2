"""Guardrails in native sessions: the dangerous corpus refused through psql (simple protocol)
and psycopg (extended protocol), each with a clear 42501 naming the rule and the session
still usable; the benign corpus passes untouched; verdicts are audited.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator

import psycopg
import pytest

from dataplane.guardrails.document import policy_to_document
from devstack.postgres import PostgresCluster
from tests.dataplane.guardrails.corpus import POLICIES, CorpusCase, load
from tests.integration.conftest import AI_ACCOUNT, Gateway, _start_stack

pytestmark = pytest.mark.integration

RESOURCES = {"standard": "guarded", "read-only": "readonly"}
ROW_LIMIT = 5
SCHEMA = """
drop schema if exists guarded cascade;
create schema guarded;
create table guarded.orders (id int primary key, customer_id int, status text, total numeric,
  created_at timestamptz default now());
create table guarded.canary (id int);
insert into guarded.orders select i, i % 10, 'open', i * 1.5 from generate_series(1, 20) i;
insert into guarded.canary values (1);
"""


@pytest.fixture(scope="module")
def guarded(pg: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A stack of its own: `guarded` runs the standard policy, `readonly` the read-only one,
    both on one database whose search_path starts at schema `guarded`."""
    pg.admin_psql(
        SCHEMA + f"grant all on schema guarded to {pg.scram.user};"
        f"grant all on all tables in schema guarded to {pg.scram.user};"
        f"alter role {pg.scram.user} set search_path = guarded, public;"
    )
    root = tmp_path_factory.mktemp("guarded")
    stack = _start_stack(pg, root)
    for policy, resource in RESOURCES.items():
        stack.cp.api(
            "POST",
            "/api/v1/resources",
            {
                "name": resource,
                "protocol": "postgres",
                "agent": "edge-1",
                "host": pg.host,
                "port": pg.port,
                "database": "postgres",
                "upstream_user": pg.scram.user,
                "upstream_password": pg.scram.password,
                "upstream_tls": "prefer",
            },
        )
        stack.grant(AI_ACCOUNT, resource)
        document = root / f"{policy}.json"
        document.write_text(json.dumps(policy_to_document(POLICIES[policy])))
        stack.cp.manage(
            "set_guardrail_policy",
            policy,
            "--file",
            str(document),
            "--resource",
            resource,
            "--applies-to",
            "service_accounts",
        )
    _limited_resource(stack, pg, root)
    for resource in (*RESOURCES.values(), "limited"):
        _wait_until_guarded(stack, resource)
    try:
        yield stack
    finally:
        stack.agent.stop()
        stack.cp.stop()
        pg.admin_psql(
            f"alter role {pg.scram.user} reset search_path;drop schema if exists guarded cascade"
        )


def _limited_resource(stack: Gateway, pg: PostgresCluster, root) -> None:
    """`limited`: the standard policy plus a cap of ROW_LIMIT rows per result."""
    stack.cp.api(
        "POST",
        "/api/v1/resources",
        {
            "name": "limited",
            "protocol": "postgres",
            "agent": "edge-1",
            "host": pg.host,
            "port": pg.port,
            "database": "postgres",
            "upstream_user": pg.scram.user,
            "upstream_password": pg.scram.password,
            "upstream_tls": "prefer",
        },
    )
    stack.grant(AI_ACCOUNT, "limited")
    stack.cp.manage(
        "set_guardrail_policy",
        "capped",
        "--deny-classes",
        "drop",
        "--max-rows",
        str(ROW_LIMIT),
        "--resource",
        "limited",
        "--applies-to",
        "service_accounts",
    )


def _psql(gateway: Gateway, resource: str, sql: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["psql", "-X", "-At", "-v", "VERBOSITY=verbose", gateway.dsn(resource), "-c", sql],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _wait_until_guarded(gateway: Gateway, resource: str) -> None:
    deadline = time.monotonic() + 30
    # A table that does not exist: "does not exist" until the guardrail applies.
    while "42501" not in _psql(gateway, resource, "DROP TABLE guarded.no_such_table").stderr:
        assert time.monotonic() < deadline, f"guardrails never reached {resource}"
        time.sleep(0.2)


def _cases(corpus: str, expect: str) -> list[CorpusCase]:
    return [c for c in load(corpus) if c.expect == expect and c.policy in RESOURCES]


def test_psql_refuses_every_dangerous_statement_with_42501_naming_the_rule(guarded) -> None:
    failures = []
    for case in _cases("dangerous", "deny"):
        done = _psql(guarded, RESOURCES[case.policy], case.sql)
        if "42501" not in done.stderr or "guardrail" not in done.stderr:
            failures.append((case.id, done.returncode, done.stderr[-300:]))
    assert not failures, failures
    # Nothing slipped through: the canary and the orders are still there.
    check = _psql(guarded, "guarded", "select count(*) from canary; select count(*) from orders")
    assert check.stdout.split() == ["1", "20"], check.stderr


def test_psycopg_extended_protocol_refuses_them_and_the_session_stays_usable(guarded) -> None:
    failures = []
    for policy, resource in RESOURCES.items():
        cases = [c for c in _cases("dangerous", "deny") if c.policy == policy]
        with psycopg.connect(guarded.dsn(resource), autocommit=True) as conn:
            for case in cases:
                try:
                    conn.execute(case.sql)
                    failures.append((case.id, "ran"))
                except psycopg.errors.InsufficientPrivilege as refused:
                    if "guardrail" not in str(refused):
                        failures.append((case.id, str(refused)))
                except psycopg.Error as other:
                    failures.append((case.id, f"{type(other).__name__}: {other}"))
                assert conn.execute("select 1").fetchone() == (1,)
    assert not failures, failures


def test_a_refusal_inside_a_transaction_aborts_it_as_postgresql_would(guarded) -> None:
    with psycopg.connect(guarded.dsn("guarded")) as conn:
        conn.execute("update orders set status = 'paid' where id = 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("delete from orders")
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("select 1")
        conn.rollback()
        assert conn.execute("select status from orders where id = 1").fetchone() == ("open",)


def test_the_benign_corpus_passes_untouched(guarded) -> None:
    refused = []
    for case in _cases("benign", "allow"):
        done = _psql(guarded, RESOURCES[case.policy], case.sql)
        if "guardrail" in done.stderr:
            refused.append((case.id, done.stderr[-300:]))
    assert not refused, refused


def test_each_verdict_is_an_audit_event_with_the_rule(guarded) -> None:
    marker = f"guardrail_audit_{time.time_ns()}"
    done = _psql(guarded, "guarded", f"DROP TABLE {marker}")
    assert "42501" in done.stderr
    events = guarded.wait_for_events(
        lambda evs: any(marker in e["payload"].get("statement", "") for e in evs),
        action="guardrail.denied",
    )
    event = next(e for e in events if marker in e["payload"]["statement"])
    assert event["payload"]["rule"] == "no-schema-changes"
    assert "DROP TABLE" in event["payload"]["reason"]


def test_a_guarded_unmasked_statement_event_records_columns_but_never_values(guarded) -> None:
    """The replay shows an inspected session's result columns; values only ever come from
    masked sessions, and this one is guarded, not masked."""
    marker = f"columns_{time.time_ns()}"
    for resource in ("guarded", "limited"):  # bytes passed as read; rows rewritten (limit)
        done = _psql(guarded, resource, f"select 'secret@example.com' as {marker}, 1::int8 as n")
        assert done.returncode == 0, done.stderr
    events = guarded.wait_for_events(
        lambda evs: sum(marker in e["payload"].get("statement", "") for e in evs) >= 2,
        action="statement",
    )
    recorded = [e["payload"] for e in events if marker in e["payload"]["statement"]]
    for payload in recorded:
        assert payload["columns"] == [
            {"name": marker, "type": "text", "oid": 25},
            {"name": "n", "type": "int8", "oid": 20},
        ]
        assert "sample_rows" not in payload


def test_a_result_past_the_row_limit_ends_in_an_error_and_no_extra_row_leaves(guarded) -> None:
    within = _psql(guarded, "limited", f"select i from generate_series(1, {ROW_LIMIT}) i")
    assert within.returncode == 0 and within.stdout.split() == [str(i) for i in range(1, 6)]
    with psycopg.connect(guarded.dsn("limited"), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.ProgramLimitExceeded) as cut:
            conn.execute("select i from generate_series(1, 1000) i").fetchall()
        assert f"limit of {ROW_LIMIT} rows" in str(cut.value)
        assert conn.execute("select 1").fetchone() == (1,)  # still usable
