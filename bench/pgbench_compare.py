"""`make bench`: pgbench select-only through the agent vs direct vs pgbouncer, same cluster.

Prints a table and writes JSON under bench/results/. Also measures the agent's resident
memory with 1,000 idle authenticated sessions and with 100 sessions streaming large results,
and samples the agent with py-spy to show where its time goes. Figures are ratios against the direct
connection measured in the same run, since absolute numbers depend on the machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import asyncpg

from devstack.gatehouse import REPO, Agent, ControlPlane
from devstack.pgbouncer import PgBouncer
from devstack.ports import free_port, wait_for_port
from devstack.postgres import PostgresCluster
from devstack.processes import ChildProcess

DURATION_S = int(os.environ.get("BENCH_SECONDS", "10"))
SCALE = 10
CLIENTS = (1, 8)
RESULTS = REPO / "bench" / "results"


@dataclass
class Run:
    target: str
    clients: int
    tps: float
    latency_ms: float


def pgbench(
    env: dict[str, str], clients: int, *, protocol: str = "simple", seconds: int | None = None
) -> tuple[float, float]:
    threads = min(clients, 2)
    done = subprocess.run(
        [
            "pgbench",
            "-n",
            "-S",
            "-M",
            protocol,
            "-c",
            str(clients),
            "-j",
            str(threads),
            "-T",
            str(DURATION_S),
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    tps = float(re.search(r"tps = ([\d.]+) \(without initial", done.stdout).group(1))
    latency = float(re.search(r"latency average = ([\d.]+) ms", done.stdout).group(1))
    return tps, latency


def libpq_env(port: int, *, user: str, password: str, database: str, sslmode: str) -> dict:
    return {
        "PGHOST": "127.0.0.1",
        "PGPORT": str(port),
        "PGUSER": user,
        "PGPASSWORD": password,
        "PGDATABASE": database,
        "PGSSLMODE": sslmode,
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler:
    """Peak RSS of a pid while the `with` block runs."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def idle_sessions(port: int, token: str, count: int) -> list[asyncpg.Connection]:
    semaphore = asyncio.Semaphore(50)

    async def one() -> asyncpg.Connection:
        async with semaphore:
            return await asyncpg.connect(
                host="127.0.0.1",
                port=port,
                user="bench",
                password=token,
                database="bench",
                ssl="require",
                statement_cache_size=0,
            )

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def stream_results(port: int, token: str, sessions: int, rows: int) -> None:
    async def one() -> None:
        conn = await asyncpg.connect(
            host="127.0.0.1",
            port=port,
            user="bench",
            password=token,
            database="bench",
            ssl="require",
        )
        try:
            async with conn.transaction():
                async for _ in conn.cursor(
                    "select i, repeat('x', 1000) from generate_series(1, $1) i", rows, prefetch=1000
                ):
                    pass
        finally:
            await conn.close()

    await asyncio.gather(*(one() for _ in range(sessions)))


def memory_figures(cp: ControlPlane, agent_token: str, token: str, root: Path) -> dict[str, float]:
    """RSS of a fresh agent per scenario, so one scenario's allocator leftovers don't count
    in the next: 1,000 idle sessions; 100 sessions streaming small and large results."""
    figures: dict[str, float] = {}

    def fresh_agent(label: str) -> Agent:
        return Agent(
            root / f"memory-{label}",
            control_plane_url=cp.url,
            token=agent_token,
            allow_plaintext=True,
        ).start()

    agent = fresh_agent("idle")
    assert agent.process is not None
    figures["agent_rss_start_mb"] = rss_mb(agent.process.pid)

    async def idle() -> None:
        conns = await idle_sessions(agent.postgres_port, token, 1000)
        await asyncio.sleep(1)
        assert agent.process is not None
        figures["agent_rss_1000_idle_sessions_mb"] = rss_mb(agent.process.pid)
        await asyncio.gather(*(c.close() for c in conns))

    asyncio.run(idle())
    agent.stop()
    for rows in (2_000, 50_000):
        agent = fresh_agent(f"stream-{rows}")
        assert agent.process is not None
        with RssSampler(agent.process.pid) as sampler:
            asyncio.run(stream_results(agent.postgres_port, token, 100, rows))
        figures[f"agent_rss_peak_100_streams_{rows}_rows_mb"] = sampler.peak
        agent.stop()
    return figures


def stack(pg: PostgresCluster, root: Path) -> tuple[ControlPlane, Agent, str, str]:
    """Control plane, a bench resource, grant and token, and an agent; returns
    (control plane, agent, agent token, gateway token)."""
    cp = ControlPlane(root / "cp")
    cp.bootstrap()
    cp.start()
    key = cp.api("POST", "/api/v1/service-accounts", {"name": "bench"})["api_key"]
    agent_token = cp.api("POST", "/api/v1/agents", {"name": "bench-agent"})["token"]
    cp.api(
        "POST",
        "/api/v1/resources",
        {
            "name": "bench",
            "protocol": "postgres",
            "agent": "bench-agent",
            "host": pg.host,
            "port": pg.port,
            "database": "postgres",
            "upstream_user": pg.scram.user,
            "upstream_password": pg.scram.password,
            "upstream_tls": "disable",
        },
    )
    cp.api(
        "POST",
        "/api/v1/grants",
        {"identity": "bench", "resource": "bench", "duration_seconds": 7200, "reason": "benchmark"},
    )
    agent = Agent(
        root / "agent", control_plane_url=cp.url, token=agent_token, allow_plaintext=True
    ).start()
    token = cp.api("POST", "/api/v1/tokens", {"ttl_seconds": 7200}, api_key=key)["token"]
    return cp, agent, agent_token, token


def throughput(
    pg: PostgresCluster, bouncer: PgBouncer, relay_port: int, agent: Agent, token: str
) -> list[Run]:
    def upstream_role(port: int) -> dict[str, str]:
        return libpq_env(
            port,
            user=pg.scram.user,
            password=pg.scram.password,
            database="postgres",
            sslmode="disable",
        )

    def gateway(sslmode: str) -> dict[str, str]:
        return libpq_env(
            agent.postgres_port, user="bench", password=token, database="bench", sslmode=sslmode
        )

    targets = {
        "direct": upstream_role(pg.port),
        "pgbouncer": upstream_role(bouncer.port),
        "bare-relay": upstream_role(relay_port),
        "agent": gateway("disable"),
        "agent+tls": gateway("require"),
    }
    runs = []
    for clients in CLIENTS:
        for target, env in targets.items():
            tps, latency = pgbench(env, clients)
            runs.append(Run(target, clients, tps, latency))
            print(f"  {target:>10} -c {clients}: {tps:10.0f} tps  {latency:.3f} ms", flush=True)
    return runs


def table(runs: list[Run]) -> str:
    direct = {r.clients: r for r in runs if r.target == "direct"}
    lines = [
        f"{'target':>10} {'clients':>7} {'tps':>10} {'ratio':>6} {'latency ms':>10} {'added µs':>9}"
    ]
    for r in runs:
        base = direct[r.clients]
        added = (r.latency_ms - base.latency_ms) * 1000
        lines.append(
            f"{r.target:>10} {r.clients:>7} {r.tps:>10.0f} {r.tps / base.tps:>6.2f} "
            f"{r.latency_ms:>10.3f} {added:>9.1f}"
        )
    return "\n".join(lines)


def where_time_goes(agent: Agent, token: str, root: Path, lines: int = 20) -> str:
    """Sample the agent with py-spy during a -c 8 run; the frames with the most own time."""
    py_spy = shutil.which("py-spy")
    if py_spy is None or agent.process is None:
        return "(py-spy not installed)"
    folded = root / "agent.folded"
    sampler = subprocess.Popen(
        [
            py_spy,
            "record",
            "-p",
            str(agent.process.pid),
            "-d",
            "5",
            "-r",
            "250",
            "-f",
            "raw",
            "-o",
            str(folded),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pgbench(
        libpq_env(
            agent.postgres_port, user="bench", password=token, database="bench", sslmode="disable"
        ),
        8,
        seconds=6,
    )
    if sampler.wait() != 0 or not folded.exists():
        return "(py-spy could not sample the agent here)"
    own: dict[str, int] = {}
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        frame = stack.split(";")[-1]
        own[frame] = own.get(frame, 0) + int(count)
    top = sorted(own.items(), key=lambda item: -item[1])[:lines]
    return "\n".join(f"  {100 * n / total:5.1f}%  {frame[:110]}" for frame, n in top)


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="gatehouse-bench-"))
    with PostgresCluster(max_connections=1300) as pg:
        subprocess.run(
            ["pgbench", "-i", "-q", "-s", str(SCALE)],
            check=True,
            capture_output=True,
            env={
                **os.environ,
                **libpq_env(
                    pg.port,
                    user=pg.scram.user,
                    password=pg.scram.password,
                    database="postgres",
                    sslmode="disable",
                ),
            },
        )
        relay_port = free_port()
        relay = ChildProcess(
            [sys.executable, "-m", "bench.bare_relay", str(relay_port), str(pg.port)],
            log_path=root / "relay.log",
            cwd=REPO,
        )
        wait_for_port(relay_port)
        with PgBouncer(pg) as bouncer:
            cp, agent, agent_token, token = stack(pg, root)
            try:
                print(f"pgbench -S, {DURATION_S} s per run, scale {SCALE}:", flush=True)
                runs = throughput(pg, bouncer, relay_port, agent, token)
                profile = where_time_goes(agent, token, root)
                agent.stop()
                memory = memory_figures(cp, agent_token, token, root)
            finally:
                agent.stop()
                cp.stop()
                relay.stop()
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "duration_s": DURATION_S,
        "scale": SCALE,
        "runs": [asdict(r) for r in runs],
        "memory": memory,
    }
    out = RESULTS / f"pgbench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print("\n" + table(runs))
    print("\nagent memory (MB):")
    for name, value in memory.items():
        print(f"  {name:<42} {value:8.1f}")
    print("\nwhere the agent's time goes (py-spy, own time, -c 8):")
    print(profile)
    print(f"\nresults written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    sys.exit(main())
