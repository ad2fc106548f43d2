"""Audit append throughput into PostgreSQL, with checkpoints being signed.

A throwaway PostgreSQL cluster; the control plane's migrations; then agent batches of
BATCH events (the agent link's maximum, 500) go through the same code the agents' websocket
consumer runs: the frame's JSON text is decoded, checked by
``controlplane.agents.inbound.events_from`` and stored by ``audit_events_ingest`` (sequencer
lock, frontier, canonical leaves, Merkle nodes, COPY). ``manage.py run_log_signer`` signs
checkpoints beside it, as on embedded defaults. Cases: one agent, and AGENTS agents sending at
once (they queue on the sequencer). After each case the latest checkpoint is checked against a
root recomputed from the leaves.
Target: >= 10,000 entries/s on a 2-core machine.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from bench.percentiles import HEADER, LatencySummary
from devstack.gatehouse import REPO
from devstack.postgres import PostgresCluster
from devstack.processes import ChildProcess

DURATION_S = float(os.environ.get("BENCH_SECONDS", "10"))
BATCH = 500
AGENTS = int(os.environ.get("BENCH_AUDIT_AGENTS", "2"))
TARGET_PER_S = 10_000
RESULTS = REPO / "bench" / "results"


@dataclass
class Outcome:
    case: str
    agents: int
    seconds: float
    entries: int
    entries_per_s: float
    checkpoints_signed: int
    batch_latency: LatencySummary
    checkpoint_verified: bool
    # CPU seconds the run used: the ingesting process (Python: one core at most, the GIL)
    # and PostgreSQL's backends. On a shared machine wall-clock rates understate what the
    # code does; entries per ingesting-process CPU second is the rate one free core gives.
    ingest_cpu_s: float
    postgres_cpu_s: float
    entries_per_ingest_cpu_s: float
    load_average: float


SEQ_MARK = 987654321  # stands for the seq in the frame template


def frame_template(*, actor: str) -> str:
    """One statement event as an agent encodes it (the wire contract's own ``to_dict``),
    as JSON text with SEQ_MARK where its seq goes."""
    from dataplane.contract import Actor, AuditEvent

    event = AuditEvent(
        seq=SEQ_MARK,
        time=time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime()),
        action="statement",
        actor=Actor(sub="0f3c", kind="service_account", name=actor),
        resource="appdb",
        protocol="postgres",
        session="s-1",
        payload={
            "statement": f"SELECT id, total FROM orders WHERE id = {SEQ_MARK}",
            "rows": 1,
            "duration_ms": 0.4,
        },
    )
    return json.dumps(event.to_dict())


def events_frame(template: str, first_seq: int) -> str:
    """The body of an events frame as it arrives: BATCH events from ``first_seq`` on."""
    mark = str(SEQ_MARK)
    events = (template.replace(mark, str(seq)) for seq in range(first_seq, first_seq + BATCH))
    return '{"events": [' + ", ".join(events) + "]}"


def agent_loop(name: str, until: float, latencies: list[float], counts: list[int]) -> None:
    """What the websocket consumer does per frame: decode the JSON, check it against the
    contract, ingest. Building the frame text is the agent's work and stays outside."""
    from django.db import connection

    from controlplane.agents.inbound import events_from
    from controlplane.agents.models import Agent
    from controlplane.audit.selectors import audit_last_seq_for
    from controlplane.audit.services import audit_events_ingest

    agent = Agent.objects.get(name=name)
    seq = audit_last_seq_for(agent=agent) + 1
    template = frame_template(actor=f"{name}-ai")
    try:
        while time.monotonic() < until:
            frame = events_frame(template, seq)
            started = time.perf_counter()
            audit_events_ingest(agent=agent, events=events_from(json.loads(frame)))
            latencies.append(time.perf_counter() - started)
            counts.append(BATCH)
            seq += BATCH
    finally:
        connection.close()


def run_case(case: str, agents: list[str], pg: PostgresCluster) -> Outcome:
    from controlplane.audit.models import Checkpoint

    latencies: list[float] = []
    counts: list[int] = []
    signed_before = Checkpoint.objects.count()
    cpu_before, pg_before = time.process_time(), postgres_cpu_seconds(pg)
    started = time.monotonic()
    until = started + DURATION_S
    threads = [
        threading.Thread(target=agent_loop, args=(name, until, latencies, counts), name=name)
        for name in agents
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    ingest_cpu, pg_cpu = time.process_time() - cpu_before, postgres_cpu_seconds(pg) - pg_before
    time.sleep(1.5)  # let the signer catch up with the last batches
    entries = sum(counts)
    return Outcome(
        case=case,
        agents=len(agents),
        seconds=elapsed,
        entries=entries,
        entries_per_s=entries / elapsed,
        checkpoints_signed=Checkpoint.objects.count() - signed_before,
        batch_latency=LatencySummary.of(latencies),
        checkpoint_verified=latest_checkpoint_verifies(),
        ingest_cpu_s=ingest_cpu,
        postgres_cpu_s=pg_cpu,
        entries_per_ingest_cpu_s=entries / ingest_cpu if ingest_cpu else 0.0,
        load_average=os.getloadavg()[0],
    )


def postgres_cpu_seconds(pg: PostgresCluster) -> float:
    """User + system CPU of the postmaster's live children and of those already reaped."""
    assert pg.process is not None
    postmaster = pg.process.pid
    children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    ticks = _proc_ticks(postmaster, reaped=True)
    ticks += sum(_proc_ticks(int(child), reaped=False) for child in children)
    return ticks / os.sysconf("SC_CLK_TCK")


def _proc_ticks(pid: int, *, reaped: bool) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # the backend exited between listing and reading
        return 0
    # Fields after the command: utime, stime, cutime, cstime are the 12th..15th.
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return cutime + cstime if reaped else utime + stime


def latest_checkpoint_verifies() -> bool:
    """The latest signed root equals the root recomputed from every stored leaf."""
    from django.db import connection

    from controlplane.audit.log import checkpoint_latest
    from controlplane.audit.models import LogKey
    from ledger import merkle
    from ledger.checkpoint import open_checkpoint
    from ledger.note import Verifier

    checkpoint = checkpoint_latest()
    assert checkpoint is not None
    body, _ = open_checkpoint(
        checkpoint.note, [Verifier.from_vkey(LogKey.objects.active().get().vkey)]
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT leaf FROM audit_auditevent WHERE seq < %s ORDER BY seq", [body.size])
        root = merkle.root(merkle.leaf_hash(leaf.encode()) for (leaf,) in cursor.fetchall())
    return root == body.root_hash


def wait_for_first_checkpoint(signer: ChildProcess, timeout_s: float = 120) -> None:
    """The signer is up once it signed the first checkpoint (Django takes seconds to load)."""
    from controlplane.audit.models import Checkpoint

    deadline = time.monotonic() + timeout_s
    while not Checkpoint.objects.exists():
        if not signer.alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the checkpoint signer did not start:\n{signer.log_tail()}")
        time.sleep(0.1)


def environment(pg: PostgresCluster) -> dict[str, str]:
    url = f"postgres://{pg.scram.user}:{pg.scram.password}@{pg.host}:{pg.port}/gatehouse"
    return {
        "DATABASE_URL": url,
        "GATEHOUSE_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "GATEHOUSE_SECRET_KEY": os.urandom(32).hex(),
        "DJANGO_SETTINGS_MODULE": "controlplane.settings",
    }


def set_up(pg: PostgresCluster) -> None:
    pg.admin_psql("CREATE DATABASE gatehouse")
    os.environ.update(environment(pg))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", "--no-input", verbosity=0)
    from controlplane.agents.services import agent_register

    for number in range(AGENTS):
        agent_register(actor=None, name=f"bench-edge-{number}")


def table(outcomes: list[Outcome]) -> str:
    lines = [
        f"{'case':<18} {'entries/s':>9} {'per cpu-s':>9} {'entries':>8} {'ckpts':>5} ok"
        f" {'load':>5}  batch ms {HEADER}"
    ]
    for o in outcomes:
        verified = "yes" if o.checkpoint_verified else "NO "
        lines.append(
            f"{o.case:<18} {o.entries_per_s:>9,.0f} {o.entries_per_ingest_cpu_s:>9,.0f}"
            f" {o.entries:>8} {o.checkpoints_signed:>5} {verified} {o.load_average:>5.1f}"
            f"           {o.batch_latency.row()}"
        )
    return "\n".join(lines)


def main() -> dict[str, Any]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="gatehouse-bench-audit-"))
    with PostgresCluster() as pg:
        set_up(pg)
        signer = ChildProcess(
            [sys.executable, str(REPO / "manage.py"), "run_log_signer"],
            log_path=root / "log-signer.log", env={**os.environ}, cwd=REPO,
        )  # fmt: skip
        try:
            wait_for_first_checkpoint(signer)
            outcomes = [
                run_case("1 agent", ["bench-edge-0"], pg),
                run_case(
                    f"{AGENTS} agents at once", [f"bench-edge-{n}" for n in range(AGENTS)], pg
                ),
            ]
        finally:
            signer.stop()
            from django.db import connections

            connections.close_all()
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "duration_s": DURATION_S,
        "batch": BATCH,
        "target_entries_per_s": TARGET_PER_S,
        "outcomes": [asdict(o) for o in outcomes],
    }
    out = RESULTS / f"audit-append-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"\naudit append into PostgreSQL, batches of {BATCH}, checkpoints signed beside it:")
    print(table(outcomes))
    print(
        f"  target >= {TARGET_PER_S:,}/s. 'per cpu-s': entries per CPU second of the ingesting"
        " process (what one free core gives; the machine is shared, see 'load').\n"
        f"  results in {out.relative_to(REPO)}"
    )
    return result


if __name__ == "__main__":
    main()
