"""The audit log on real PostgreSQL, set up as docs/audit.md says: an owner role migrates, the
control plane runs as an application role with INSERT and SELECT only on the audit tables.

Every way of changing history through SQL is refused (UPDATE, DELETE, TRUNCATE, even by a
superuser with triggers switched off by session_replication_role); the sequencer keeps seq
gapless under concurrent writers; two signers never sign twice or fail.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
import pytest

from devstack.gatehouse import REPO, ControlPlane
from devstack.postgres import PostgresCluster, Role
from devstack.processes import ChildProcess
from ledger import merkle
from ledger.checkpoint import open_checkpoint
from ledger.note import Verifier

pytestmark = pytest.mark.integration

AUDIT_TABLES = ("audit_auditevent", "audit_merklenode", "audit_checkpoint", "audit_cosignature")
OWNER = Role("gatehouse_owner", "owner-" + "pw-1f3a9c")
APP = Role("gatehouse_app", "app-" + "pw-7b2e04")


def documented_sql(label: str) -> list[str]:
    """The statements of the SQL block in docs/audit.md that starts with
    ``-- least-privilege: <label>`` (one by one: CREATE DATABASE needs its own)."""
    text = (REPO / "docs" / "audit.md").read_text()
    block = re.search(rf"```sql\n-- least-privilege: {label}\n(.*?)```", text, re.S)
    assert block, f"docs/audit.md lost its {label!r} SQL"
    sql = block.group(1).replace("owner-password", OWNER.password)
    return [part.strip() for part in sql.replace("app-password", APP.password).split(";")[:-1]]


@dataclass
class LeastPrivilegeLog:
    pg: PostgresCluster
    cp: ControlPlane

    def connect(self, role: Role) -> psycopg.Connection:
        return psycopg.connect(self.pg.dsn(role, database="gatehouse"), autocommit=True)

    def url(self, role: Role) -> str:
        return f"postgres://{role.user}:{role.password}@{self.pg.host}:{self.pg.port}/gatehouse"


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LeastPrivilegeLog]:
    with PostgresCluster() as pg:
        for statement in documented_sql("setup"):
            pg.admin_psql(statement)
        root = tmp_path_factory.mktemp("audit-pg")
        stack = LeastPrivilegeLog(pg, ControlPlane(root / "controlplane"))
        _migrate_as_owner(stack)
        for statement in documented_sql("after-migrate"):
            pg.admin_psql(statement, database="gatehouse")
        stack.cp.env["DATABASE_URL"] = stack.url(APP)
        stack.cp.manage("create_admin", "admin", "--api-key-out", str(stack.cp.admin_key_file))
        stack.cp.start()
        try:
            yield stack
        finally:
            stack.cp.stop()


def _migrate_as_owner(stack: LeastPrivilegeLog) -> None:
    subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "migrate", "--no-input", "-v", "0"],
        env={**stack.cp.env, "DATABASE_URL": stack.url(OWNER)},
        cwd=REPO,
        check=True,
    )


def _some_activity(cp: ControlPlane, count: int, prefix: str) -> None:
    for number in range(count):
        cp.api("POST", "/api/v1/service-accounts", {"name": f"{prefix}-{number}"})


def _refused(conn: psycopg.Connection, sql: str) -> str:
    with pytest.raises(psycopg.Error) as refused:
        conn.execute(sql)
    return str(refused.value)


def test_the_control_plane_runs_as_the_application_role_and_signs(log: LeastPrivilegeLog) -> None:
    _some_activity(log.cp, 3, "pg-smoke")
    with log.connect(APP) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("gatehouse_app",)
    checkpoint = _wait_for_checkpoint(log, min_size=4)
    assert checkpoint.origin == "gatehouse.local/audit"


@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_the_application_role_cannot_change_or_empty_audit_tables(
    log: LeastPrivilegeLog, table: str
) -> None:
    with log.connect(APP) as conn:
        for sql in (
            f"UPDATE {table} SET id = id",
            f"DELETE FROM {table}",
            f"TRUNCATE {table} CASCADE",
            f"ALTER TABLE {table} DISABLE TRIGGER ALL",
            f"DROP TRIGGER {table}_no_change ON {table}",
        ):
            assert re.search("permission denied|must be owner", _refused(conn, sql)), sql
        assert (
            "permission denied" in _refused(conn, "SET session_replication_role = replica").lower()
        )


@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_even_the_owner_and_a_superuser_are_refused_by_the_triggers(
    log: LeastPrivilegeLog, table: str
) -> None:
    _ensure_rows_everywhere(log)
    for role in (OWNER, log.pg.scram):  # the scram role is a superuser
        with log.connect(role) as conn:
            for sql in (
                f"UPDATE {table} SET id = id",
                f"DELETE FROM {table}",
                f"TRUNCATE {table} CASCADE",
            ):
                assert "append-only" in _refused(conn, sql), (role.user, sql)
    with log.connect(log.pg.scram) as conn:
        conn.execute("SET session_replication_role = replica")
        assert "append-only" in _refused(conn, f"UPDATE {table} SET id = id")
        assert "append-only" in _refused(conn, f"DELETE FROM {table}")


def _ensure_rows_everywhere(log: LeastPrivilegeLog) -> None:
    """Row triggers only fire on rows: give every audit table one (a cosignature included)."""
    _wait_for_checkpoint(log, min_size=1)
    with log.connect(log.pg.scram) as conn:
        if conn.execute("SELECT count(*) FROM audit_cosignature").fetchone() == (0,):
            conn.execute(
                "INSERT INTO audit_cosignature (checkpoint_id, witness, key_id, line,"
                " cosigned_at, received_at) SELECT id, 'w', '00000000', 'x', now(), now()"
                " FROM audit_checkpoint ORDER BY size LIMIT 1"
            )


def test_concurrent_writers_and_two_signers_keep_one_gapless_signed_log(
    log: LeastPrivilegeLog,
) -> None:
    second_signer = ChildProcess(
        [sys.executable, str(REPO / "manage.py"), "run_log_signer", "--interval", "0.01"],
        log_path=log.cp.dir / "second-signer.log", env=log.cp.env, cwd=REPO,
    )  # fmt: skip
    try:
        writers = [
            threading.Thread(target=_some_activity, args=(log.cp, 15, f"writer{n}"))
            for n in range(4)
        ]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        with log.connect(APP) as conn:
            size = conn.execute("SELECT count(*) FROM audit_auditevent").fetchone()[0]
        _wait_for_checkpoint(log, min_size=size)
    finally:
        second_signer.stop()
    with log.connect(APP) as conn:
        seqs_and_leaves = conn.execute("SELECT seq, leaf FROM audit_auditevent ORDER BY seq")
        seqs, leaves = zip(*seqs_and_leaves.fetchall(), strict=True)
        checkpoints = conn.execute("SELECT size, note FROM audit_checkpoint ORDER BY size")
        signed = checkpoints.fetchall()
    assert list(seqs) == list(range(len(seqs)))
    hashes = [merkle.leaf_hash(leaf.encode()) for leaf in leaves]
    verifier = _log_verifier(log)
    for size, note in signed:
        body, _ = open_checkpoint(note, [verifier])
        assert body.root_hash == merkle.root(hashes[:size]), f"checkpoint {size}"
    for process_log in (log.cp.dir / "log-signer.log", log.cp.dir / "second-signer.log"):
        assert "Traceback" not in process_log.read_text(), process_log


def _log_verifier(log: LeastPrivilegeLog) -> Verifier:
    keys = log.cp.api("GET", "/api/v1/audit/keys")["keys"]
    return Verifier.from_vkey(next(k["vkey"] for k in keys if k["status"] == "active"))


def _wait_for_checkpoint(log: LeastPrivilegeLog, *, min_size: int, timeout_s: float = 20):
    deadline = time.monotonic() + timeout_s
    while True:
        with log.connect(APP) as conn:
            row = conn.execute("SELECT note FROM audit_checkpoint ORDER BY size DESC LIMIT 1")
            latest = row.fetchone()
        if latest:
            checkpoint, _ = open_checkpoint(latest[0], [_log_verifier(log)])
            if checkpoint.size >= min_size:
                return checkpoint
        if time.monotonic() > deadline:
            raise AssertionError(f"no checkpoint of size >= {min_size} within {timeout_s}s")
        time.sleep(0.1)


def test_migrations_leave_triggers_enabled_always(log: LeastPrivilegeLog) -> None:
    with log.connect(OWNER) as conn:
        states = conn.execute(
            "SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger"
            " WHERE tgname LIKE 'audit_%' ORDER BY 1, 2"
        ).fetchall()
    assert {(table, state) for table, _, state in states} == {
        (table, "A") for table in AUDIT_TABLES
    }
    assert len(states) == 2 * len(AUDIT_TABLES)


def test_services_that_bump_the_revision_and_audit_in_either_order_never_deadlock(
    log: LeastPrivilegeLog,
) -> None:
    """Grants bump the config revision then audit; an auto-approved request audits then
    bumps. Concurrently, on PostgreSQL, both must succeed every time."""
    cp = log.cp
    cp.api("POST", "/api/v1/agents", {"name": "pg-edge"})
    cp.api(
        "POST",
        "/api/v1/resources",
        {
            "name": "pgdb", "protocol": "postgres", "agent": "pg-edge", "host": log.pg.host,
            "port": log.pg.port, "database": "postgres", "upstream_user": log.pg.scram.user,
            "upstream_password": log.pg.scram.password, "upstream_tls": "disable",
        },
    )  # fmt: skip
    bot = cp.api("POST", "/api/v1/service-accounts", {"name": "pg-bot"})["api_key"]
    cp.api("POST", "/api/v1/service-accounts", {"name": "pg-granted"})
    cp.manage(
        "set_policy", "pgdb", "--max-duration", "3600", "--requester-service-account", "pg-bot",
        "--auto-approve", "service-account:pg-bot:3600",
    )  # fmt: skip
    failures: list[Exception] = []

    def repeatedly(call: Callable[[], object]) -> None:
        for _ in range(15):
            try:
                call()
            except Exception as exc:  # collected, asserted below
                failures.append(exc)

    grant = {"identity": "pg-granted", "resource": "pgdb", "duration_seconds": 600}
    request = {"resource": "pgdb", "duration_seconds": 600, "reason": "load test"}
    calls = [
        lambda: cp.api("POST", "/api/v1/grants", grant),
        lambda: cp.api("POST", "/api/v1/access-requests", request, api_key=bot),
    ]
    threads = [threading.Thread(target=repeatedly, args=(calls[n % 2],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
