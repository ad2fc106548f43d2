"""Inline masking end to end: real clients read a customers table through the agent.

The AI service account's grant carries a masking policy; psql, psycopg (text, binary,
prepared, COPY) and asyncpg (binary, prepared) must never see a raw email, card number or
SSN, and the audit log must hold only masked values, with masking counts per entity.
"""

from __future__ import annotations

import asyncio
import csv as csv_module
import io
import json
import subprocess
import time
from collections.abc import Iterator

import asyncpg
import psycopg
import pytest

from devstack.postgres import PostgresCluster
from tests.integration.conftest import Gateway, _start_stack

pytestmark = pytest.mark.integration

CUSTOMERS = [
    # name, email, card, ssn, phone, birth date, note
    (
        "Ada Byron",
        "ada.byron@example.com",
        "4111 1111 1111 1111",
        "536-22-8714",
        "1815-12-10",
        "prefers mail to ada.byron@example.com",
    ),
    (
        "Alan Turing",
        "alan@bletchley.example.org",
        "5500 0000 0000 0004",
        "412-73-5520",
        "1912-06-23",
        "card on file 5500000000000004",
    ),
    (
        "Grace Hopper",
        "grace.hopper@navy.example.mil",
        "3400 0000 0000 009",
        "601-18-3345",
        "1906-12-09",
        "no notes",
    ),
]
RAW_VALUES = [
    value
    for name, email, card, ssn, _birth, _note in CUSTOMERS
    for value in (email, card, card.replace(" ", ""), ssn)
]


@pytest.fixture(scope="module")
def masked(pg: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A stack of its own: its AI account's results are masked on appdb."""
    pg.admin_psql(
        "drop table if exists customers;"
        "create table customers (id serial primary key, name text, email text, card text,"
        " ssn varchar(11), date_of_birth date, note text, profile jsonb);"
        f"grant select, insert on customers to {pg.scram.user};"
        f"grant usage on sequence customers_id_seq to {pg.scram.user};"
    )
    for name, email, card, ssn, birth, note in CUSTOMERS:
        profile = json.dumps({"contact": {"email": email}, "tier": "gold"}).replace("'", "''")
        pg.admin_psql(
            "insert into customers (name, email, card, ssn, date_of_birth, note, profile) values"
            f" ('{name}', '{email}', '{card}', '{ssn}', '{birth}', '{note}', '{profile}')"
        )
    stack = _start_stack(pg, tmp_path_factory.mktemp("masked"))
    stack.cp.manage(
        "set_masking_policy",
        "ai-agents",
        "--resource",
        "appdb",
        "--applies-to",
        "service_accounts",
        "--default",
        "redact",
    )
    try:
        yield stack
    finally:
        stack.agent.stop()
        stack.cp.stop()
        pg.admin_psql("drop table if exists customers")


def _psql(gateway: Gateway, *args: str) -> str:
    done = subprocess.run(
        ["psql", "-X", "-At", gateway.dsn(), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _no_raw_values(text: str) -> None:
    leaked = [value for value in RAW_VALUES if value in text]
    assert not leaked, f"raw values reached the client: {leaked}"


def _wait_for_masking_policy(gateway: Gateway) -> None:
    """The policy reaches the agent with the next snapshot: wait until psql sees it."""
    for _ in range(100):
        if "[EMAIL_ADDRESS]" in _psql(gateway, "-c", "select email from customers limit 1"):
            return
        time.sleep(0.1)
    raise AssertionError("the masking policy never reached the agent")


def test_psql_sees_masked_columns_and_free_text(masked: Gateway) -> None:
    _wait_for_masking_policy(masked)
    out = _psql(masked, "-c", "select name, email, card, ssn, note from customers order by id")
    _no_raw_values(out)
    first = out.splitlines()[0].split("|")
    assert first == [
        "Ada Byron",
        "[EMAIL_ADDRESS]",
        "[CREDIT_CARD]",
        "[US_SSN]",
        "prefers mail to [EMAIL_ADDRESS]",
    ]
    # Values with nothing to mask pass untouched.
    assert out.splitlines()[2].split("|")[-1] == "no notes"


def test_psql_copy_to_stdout_text_and_csv_is_masked(masked: Gateway) -> None:
    _wait_for_masking_policy(masked)
    text = _psql(
        masked, "-c", "copy (select name, email, note from customers order by id) to stdout"
    )
    _no_raw_values(text)
    assert text.splitlines()[0] == "Ada Byron\t[EMAIL_ADDRESS]\tprefers mail to [EMAIL_ADDRESS]"
    csv = _psql(
        masked, "-c", "copy (select name, card, ssn from customers order by id) to stdout with csv"
    )
    _no_raw_values(csv)
    # Still CSV a reader understands (the masked fields may come quoted).
    rows = list(csv_module.reader(io.StringIO(csv)))
    assert rows[1] == ["Alan Turing", "[CREDIT_CARD]", "[US_SSN]"]


def test_psycopg_text_binary_and_prepared_results_are_masked(masked: Gateway) -> None:
    _wait_for_masking_policy(masked)
    query = "select email, card, ssn, note, profile from customers where id = %s"
    with psycopg.connect(masked.dsn()) as conn:
        text_row = conn.execute(query, (1,)).fetchone()
        binary_row = conn.execute(query, (1,), binary=True).fetchone()
        prepared = [conn.execute(query, (i,), prepare=True).fetchone() for i in (1, 2, 3, 1, 2)]
    for row in (text_row, binary_row, *prepared):
        _no_raw_values(repr(row))
    assert text_row[:3] == ("[EMAIL_ADDRESS]", "[CREDIT_CARD]", "[US_SSN]")
    assert binary_row == text_row
    # jsonb stays valid JSON: the client decodes it, and only the value is masked.
    assert binary_row[4] == {"contact": {"email": "[EMAIL_ADDRESS]"}, "tier": "gold"}


def test_asyncpg_binary_prepared_statements_are_masked(masked: Gateway) -> None:
    _wait_for_masking_policy(masked)

    async def read() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(
            host="127.0.0.1",
            port=masked.agent.postgres_port,
            user="ai",
            password=masked.token(),
            database="appdb",
            ssl="require",
        )
        try:
            statement = await conn.prepare("select email, card, ssn from customers where id = $1")
            return [await statement.fetchrow(i) for i in (1, 2, 3, 1)]
        finally:
            await conn.close()

    rows = asyncio.run(read())
    _no_raw_values(repr(rows))
    assert tuple(rows[0]) == ("[EMAIL_ADDRESS]", "[CREDIT_CARD]", "[US_SSN]")


def test_the_audit_log_holds_only_masked_values_with_counts_per_entity(masked: Gateway) -> None:
    _wait_for_masking_policy(masked)
    with psycopg.connect(masked.dsn()) as conn:
        # The statement text itself carries an email: the audit log must not.
        conn.execute("select id from customers where email = 'ada.byron@example.com'").fetchall()
        conn.execute("select email, card from customers").fetchall()
        with pytest.raises(psycopg.errors.UniqueViolation) as failed:
            conn.execute("insert into customers (id, email) values (1, 'dup.person@example.com')")
        # The server echoes the key; the client sees it masked too.
        assert "dup.person@example.com" not in str(failed.value)
    events = masked.wait_for_events(_session_of_read_has_ended)
    everything = json.dumps(events)
    _no_raw_values(everything)
    assert "dup.person@example.com" not in everything
    statements = [e for e in events if e["action"] == "statement"]
    lookup = next(s for s in statements if "where email" in s["payload"]["statement"])
    assert "[EMAIL_ADDRESS]" in lookup["payload"]["statement"]
    read = next(
        s for s in statements if s["payload"]["statement"] == "select email, card from customers"
    )
    assert read["payload"]["masked"] == {"EMAIL_ADDRESS": 3, "CREDIT_CARD": 3}
    applied = [e for e in events if e["action"] == "masking.applied"]
    assert any(
        a["payload"]["profile"] == "ai-agents"
        and a["payload"]["entities"].get("EMAIL_ADDRESS", 0) >= 3
        for a in applied
    )


def test_statement_events_carry_columns_and_masked_sample_rows(masked: Gateway) -> None:
    """The replay shows a statement's result: its columns and up to three rows exactly as
    the client received them, masked (text, binary and prepared alike)."""
    _wait_for_masking_policy(masked)
    query = "select id, name, email, ssn, profile from customers order by id"
    with psycopg.connect(masked.dsn(application_name="sampled")) as conn:
        conn.execute(query).fetchall()
        conn.execute(query + " limit %s", (3,), binary=True).fetchall()
    events = masked.wait_for_events(
        lambda events: len(_sampled_statements(events)) >= 2, timeout_s=30
    )
    _no_raw_values(json.dumps(events))
    text, binary = _sampled_statements(events)[-2:]
    assert [c["name"] for c in text["columns"]] == ["id", "name", "email", "ssn", "profile"]
    assert [c["type"] for c in text["columns"]] == ["int4", "text", "text", "varchar", "jsonb"]
    assert text["columns"][4]["oid"] == 3802
    assert len(text["sample_rows"]) == 3
    assert text["sample_rows"][0][:4] == ["1", "Ada Byron", "[EMAIL_ADDRESS]", "[US_SSN]"]
    assert json.loads(text["sample_rows"][0][4])["contact"]["email"] == "[EMAIL_ADDRESS]"
    assert binary["sample_rows"][0][2:4] == ["[EMAIL_ADDRESS]", "[US_SSN]"]
    assert binary["sample_rows"][0][0].startswith("<binary")


def _sampled_statements(events: list[dict]) -> list[dict]:
    return [
        e["payload"]
        for e in events
        if e["action"] == "statement"
        and e["payload"].get("sample_rows")
        and e["payload"]["statement"].startswith("select id, name, email, ssn, profile")
    ]


def _session_of_read_has_ended(events: list[dict]) -> bool:
    """The session that read `email, card` has sent its masking.applied summary."""
    reads = {
        e["session"]
        for e in events
        if e["action"] == "statement"
        and e["payload"]["statement"] == "select email, card from customers"
    }
    return any(e["action"] == "masking.applied" and e["session"] in reads for e in events)


def test_a_session_both_masked_and_guarded_gets_both(masked: Gateway) -> None:
    """Masking and guardrails share the inspecting relay: a refused DROP and masked rows in
    one session, in the simple and the extended protocol."""
    _wait_for_masking_policy(masked)
    masked.cp.manage(
        "set_guardrail_policy",
        "no-drop",
        "--deny-classes",
        "drop",
        "--resource",
        "appdb",
        "--applies-to",
        "service_accounts",
    )
    try:
        _wait_for_guardrails(masked)
        done = subprocess.run(
            [
                "psql",
                "-X",
                "-At",
                "-v",
                "VERBOSITY=verbose",
                masked.dsn(),
                "-c",
                "select email from customers limit 1",
                "-c",
                "drop table customers",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert "42501" in done.stderr and "guardrail" in done.stderr, done.stderr
        assert done.stdout.strip() == "[EMAIL_ADDRESS]", (done.stdout, done.stderr)
        with psycopg.connect(masked.dsn()) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("drop table customers")
            conn.rollback()
            row = conn.execute("select email, card from customers where id = %s", (2,)).fetchone()
            assert row == ("[EMAIL_ADDRESS]", "[CREDIT_CARD]")
    finally:
        masked.cp.manage("set_guardrail_policy", "no-drop", "--delete")


def _wait_for_guardrails(gateway: Gateway) -> None:
    """The policy reaches the agent asynchronously: probe with a table that does not exist
    (refused by the guardrail once it applies; "does not exist" before)."""
    deadline = time.monotonic() + 30
    while "42501" not in _psql_error(gateway, "drop table no_such_table"):
        assert time.monotonic() < deadline, "the guardrail policy never reached the agent"
        time.sleep(0.2)


def _psql_error(gateway: Gateway, sql: str) -> str:
    return subprocess.run(
        ["psql", "-X", "-At", "-v", "VERBOSITY=verbose", gateway.dsn(), "-c", sql],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stderr
