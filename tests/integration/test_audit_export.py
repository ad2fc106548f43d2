"""The auditor's export end to end: a real control plane on PostgreSQL, a real agent and a
real witness (``python -m ledger.witness``) cosigning the log's checkpoints.

agent-smith runs statements through the agent with psql; the operator exports the period
with ``manage.py audit_export``; ``python -m ledger.verify`` (a separate process, with the log
key taken from the API and the witness's key required) says VERIFIED. Then the two ways
history could be rewritten are tried: SQL against the audit tables as the database owner
(refused by the triggers), and edits to the exported bundle (each caught by the verifier,
which names the entry).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from devstack.gatehouse import REPO, Agent, ControlPlane
from devstack.ports import free_port, wait_for_port
from devstack.postgres import PostgresCluster, Role
from devstack.processes import ChildProcess
from ledger.note import Signer

pytestmark = pytest.mark.integration

LOG_ORIGIN = "gatehouse.local/audit"
AUDIT_TABLES = ("audit_auditevent", "audit_merklenode", "audit_checkpoint", "audit_cosignature")
STATEMENTS = [
    "CREATE TABLE IF NOT EXISTS export_items (id int primary key, name text)",
    "INSERT INTO export_items VALUES (1, 'first'), (2, 'second') ON CONFLICT DO NOTHING",
    "SELECT name FROM export_items ORDER BY id",
    "UPDATE export_items SET name = 'renamed' WHERE id = 2",
]


@dataclass
class ExportStack:
    pg: PostgresCluster
    cp: ControlPlane
    agent: Agent
    owner: Role
    smith_key: str
    witness_vkey: str

    def owner_connection(self) -> psycopg.Connection:
        return psycopg.connect(self.pg.dsn(self.owner, database="gh_export"), autocommit=True)

    def log_vkeys(self) -> list[str]:
        keys = self.cp.api("GET", "/api/v1/audit/keys")["keys"]
        return [key["vkey"] for key in keys if key["role"] == "log"]


@dataclass
class RunningWitness:
    process: ChildProcess
    url: str
    vkey: str


def start_witness(root: Path, *, log_vkey: str) -> RunningWitness:
    """The witness process with a fresh key, trusting the log's public key."""
    port = free_port()
    process = ChildProcess(
        [sys.executable, "-m", "ledger.witness", "--log-vkey", log_vkey, "--init-key",
         "--name", "witness.test", "--key-file", str(root / "witness.key"),
         "--state", str(root / "witness-state"), "--port", str(port)],
        log_path=root / "witness.log", cwd=REPO,
    )  # fmt: skip
    wait_for_port(port, timeout_s=30)
    deadline = time.monotonic() + 10
    while not (banner := re.search(r"listening on (\S+) vkey (\S+)", process.log_path.read_text())):
        assert time.monotonic() < deadline, process.log_tail()
        time.sleep(0.05)
    return RunningWitness(process, banner.group(1), banner.group(2))


@pytest.fixture(scope="module")
def stack(pg: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExportStack]:
    """The control plane's database belongs to its own owner role (who migrates and runs
    it): only the triggers stand between that owner and the audit rows. The log key is set
    in the environment, so the witness can be told it before the control plane starts."""
    owner = Role("gh_export_owner", "owner-" + os.urandom(8).hex())
    pg.admin_psql(f"CREATE ROLE {owner.user} LOGIN PASSWORD '{owner.password}'")
    pg.admin_psql(f"CREATE DATABASE gh_export OWNER {owner.user}")
    root = tmp_path_factory.mktemp("audit-export")
    log_key = Ed25519PrivateKey.generate()
    witness = start_witness(root, log_vkey=Signer(LOG_ORIGIN, log_key).verifier().vkey)
    seed = log_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    cp = ControlPlane(root / "controlplane", extra_env={
        "DATABASE_URL": f"postgres://{owner.user}:{owner.password}@{pg.host}:{pg.port}/gh_export",
        "GATEHOUSE_LOG_SIGNING_KEY": base64.b64encode(seed).decode(),
        "GATEHOUSE_LOG_WITNESSES": f"{witness.url} {witness.vkey}",
    })  # fmt: skip
    cp.bootstrap()
    cp.start()
    smith_key = cp.api("POST", "/api/v1/service-accounts", {"name": "agent-smith"})["api_key"]
    agent_token = cp.api("POST", "/api/v1/agents", {"name": "edge-export"})["token"]
    cp.api("POST", "/api/v1/resources", {
        "name": "appdb", "protocol": "postgres", "agent": "edge-export", "host": pg.host,
        "port": pg.port, "database": "postgres", "upstream_user": pg.scram.user,
        "upstream_password": pg.scram.password, "upstream_tls": "prefer",
    })  # fmt: skip
    cp.api("POST", "/api/v1/grants", {
        "identity": "agent-smith", "resource": "appdb", "duration_seconds": 3600,
        "reason": "export test",
    })  # fmt: skip
    agent = Agent(root / "agent", control_plane_url=cp.url, token=agent_token).start()
    try:
        yield ExportStack(pg, cp, agent, owner, smith_key, witness.vkey)
    finally:
        agent.stop()
        cp.stop()
        witness.process.stop()


def _psql(stack: ExportStack, sql: str) -> str:
    token = stack.cp.api("POST", "/api/v1/tokens", {}, api_key=stack.smith_key)["token"]
    done = subprocess.run(
        ["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql,
         stack.agent.dsn(resource="appdb", token=token)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def _wait_for_statements(stack: ExportStack, texts: list[str], timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        seen = {
            event["payload"].get("statement") for event in stack.cp.audit_events(action="statement")
        }
        if set(texts) <= seen:
            return
        assert time.monotonic() < deadline, f"statements never reached the log: {set(texts) - seen}"
        time.sleep(0.2)


def verify(stack: ExportStack, bundle: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """The verifier as an auditor runs it: the log's keys, and this witness's cosignature
    required on the final checkpoint."""
    log_keys = [argument for vkey in stack.log_vkeys() for argument in ("--log-key", vkey)]
    witness = ["--witness-key", stack.witness_vkey]
    return subprocess.run(
        [sys.executable, "-m", "ledger.verify", str(bundle), *log_keys, *witness, *options],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def bundle(stack: ExportStack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    for statement in STATEMENTS:
        _psql(stack, statement)
    _wait_for_statements(stack, STATEMENTS)
    out = tmp_path_factory.mktemp("exported") / "bundle"
    stack.cp.manage("audit_export", "--since", "1h", "--out", str(out))
    return out


def test_statements_run_through_the_agent_export_and_verify_offline(
    stack: ExportStack, bundle: Path
) -> None:
    result = verify(stack, bundle)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("VERIFIED: ")
    final = (bundle / "checkpoints.txt").read_text().rstrip("\n").split("\n\n")[-1]
    assert "\u2014 witness.test " in final  # the final checkpoint carries the cosignature
    leaves = [json.loads(json.loads(line)["leaf"]) for line in _entry_lines(bundle)]
    audited = {leaf["payload"].get("statement") for leaf in leaves if leaf["action"] == "statement"}
    assert set(STATEMENTS) <= audited
    assert {leaf["actor"]["name"] for leaf in leaves if leaf["action"] == "statement"} == {
        "agent-smith"
    }
    ocsf = (bundle / "ocsf.jsonl").read_text()
    assert '"class_uid": 6005' in ocsf and "export_items" in ocsf
    exported = stack.cp.audit_events(action="audit.exported")
    assert len(exported) == 1 and exported[0]["actor_kind"] == "system"


@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_the_database_owner_cannot_rewrite_the_audit_tables(
    stack: ExportStack, bundle: Path, table: str
) -> None:
    with stack.owner_connection() as conn:
        rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
        assert rows > 0  # row triggers fire only on rows: the witness filled audit_cosignature
        for sql in (
            f"UPDATE {table} SET id = id",
            f"DELETE FROM {table}",
            f"TRUNCATE {table} CASCADE",
        ):
            with pytest.raises(psycopg.Error) as refused:
                conn.execute(sql)
            assert "append-only" in str(refused.value), sql
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == rows  # type: ignore[index]


def _entry_lines(bundle: Path) -> list[str]:
    return (bundle / "entries.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)


def _write_lines(bundle: Path, lines: list[str]) -> None:
    (bundle / "entries.jsonl").write_text("".join(lines), encoding="utf-8")


def _seq_of_line(bundle: Path, index: int) -> int:
    return int(json.loads(_entry_lines(bundle)[index])["seq"])


def flip_a_byte(bundle: Path) -> str:
    """A statement's text changes by one bit: 'SELECT' becomes 'SELECU'."""
    lines = _entry_lines(bundle)
    index = next(i for i, line in enumerate(lines) if "SELECT name FROM export_items" in line)
    lines[index] = lines[index].replace("SELECT name FROM", "SELECU name FROM", 1)
    _write_lines(bundle, lines)
    return f"entry seq={_seq_of_line(bundle, index)}:"


def delete_an_entry(bundle: Path) -> str:
    lines = _entry_lines(bundle)
    missing = _seq_of_line(bundle, 3)
    _write_lines(bundle, lines[:3] + lines[4:])
    return f"entry seq={missing}:"


def reorder_two(bundle: Path) -> str:
    lines = _entry_lines(bundle)
    first = _seq_of_line(bundle, 2)
    lines[2], lines[3] = lines[3], lines[2]
    _write_lines(bundle, lines)
    return f"entry seq={first}:"


def truncate_the_tail(bundle: Path) -> str:
    lines = _entry_lines(bundle)
    first_cut = _seq_of_line(bundle, len(lines) - 2)
    _write_lines(bundle, lines[:-2])
    return f"entry seq={first_cut}:"


def replace_a_checkpoint_signature(bundle: Path) -> str:
    """The final checkpoint's log signature swapped for another 64 bytes under the same key ID."""
    path = bundle / "checkpoints.txt"
    text = path.read_text(encoding="utf-8")
    start = text.rindex("\u2014 ")
    end = text.index("\n", start)
    name, encoded = text[start:end].rsplit(" ", 1)
    raw = base64.b64decode(encoded)
    forged = raw[:4] + bytes(64)  # key ID kept, signature replaced
    path.write_text(text[:start] + f"{name} {base64.b64encode(forged).decode()}" + text[end:])
    return "checkpoint"


@pytest.mark.parametrize(
    "mutate",
    [flip_a_byte, delete_an_entry, reorder_two, truncate_the_tail, replace_a_checkpoint_signature],
)
def test_every_edit_to_the_exported_bundle_is_caught_and_named(
    stack: ExportStack, bundle: Path, tmp_path: Path, mutate: Callable[[Path], str]
) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    named = mutate(copy)

    result = verify(stack, copy, "--json")

    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"] == "FAILED"
    # The first problem may be a checkpoint the damage made uncheckable; the entry itself
    # must be named among the problems.
    problems = [f"{problem['where']}: {problem['what']}" for problem in report["problems"]]
    assert any(problem.startswith(named) for problem in problems), problems
