"""`python -m bench guardrails-pgbench`: pgbench select-only through the agent, guardrails on
vs off, same run (target: guardrails cost under 10 %).

Two resources point at the same pgbench database through one agent: `plain` (no guardrail
policy) and `guarded` (the corpus's "standard" production policy: no DDL, DROP, TRUNCATE,
role or server-file work, WHERE required, server functions denied, secrets off limits).
pgbench -S runs against the direct connection and both, with the simple protocol (a new
literal every transaction: the judge's normalised-text cache at work) and the prepared one
(judged once per Parse), at -c 1 and -c 8.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from bench.pgbench_compare import libpq_env, pgbench
from dataplane.guardrails.document import policy_to_document
from devstack.gatehouse import REPO, Agent, ControlPlane
from devstack.postgres import PostgresCluster
from tests.dataplane.guardrails.corpus import POLICIES

SCALE = 10
CLIENTS = (1, 8)
PROTOCOLS = ("simple", "prepared")
RESULTS = REPO / "bench" / "results"
ACCOUNT = "bench"


def stack(pg: PostgresCluster, root: Path) -> tuple[ControlPlane, Agent, str]:
    """Control plane, resources `plain` and `guarded` on one database, a grant on each, the
    standard policy on `guarded`, an agent; returns (control plane, agent, gateway token)."""
    cp = ControlPlane(root / "cp")
    cp.bootstrap()
    cp.start()
    key = cp.api("POST", "/api/v1/service-accounts", {"name": ACCOUNT})["api_key"]
    agent_token = cp.api("POST", "/api/v1/agents", {"name": "bench-agent"})["token"]
    for name in ("plain", "guarded"):
        cp.api(
            "POST",
            "/api/v1/resources",
            {
                "name": name,
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
            {"identity": ACCOUNT, "resource": name, "duration_seconds": 7200, "reason": "bench"},
        )
    document = root / "standard.json"
    document.write_text(json.dumps(policy_to_document(POLICIES["standard"])))
    cp.manage(
        "set_guardrail_policy",
        "bench-standard",
        "--file",
        str(document),
        "--resource",
        "guarded",
        "--applies-to",
        "service_accounts",
    )
    agent = Agent(
        root / "agent", control_plane_url=cp.url, token=agent_token, allow_plaintext=True
    ).start()
    token = cp.api("POST", "/api/v1/tokens", {"ttl_seconds": 7200}, api_key=key)["token"]
    return cp, agent, token


def _wait_until_guarded(env: dict[str, str]) -> None:
    dsn = " ".join(f"{k.removeprefix('PG').lower()}={v}" for k, v in env.items())
    dsn = dsn.replace("database=", "dbname=")
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("TRUNCATE pgbench_history")
        except psycopg.errors.InsufficientPrivilege:
            return
        except psycopg.Error:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("the guardrail policy never reached the agent")
        time.sleep(0.2)


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="gatehouse-bench-guardrails-"))
    with PostgresCluster() as pg:
        direct = libpq_env(
            pg.port,
            user=pg.scram.user,
            password=pg.scram.password,
            database="postgres",
            sslmode="disable",
        )
        subprocess.run(
            ["pgbench", "-i", "-q", "-s", str(SCALE)],
            check=True,
            capture_output=True,
            env={**os.environ, **direct},
        )
        cp, agent, token = stack(pg, root)
        try:
            targets = {
                "direct": direct,
                "agent": libpq_env(
                    agent.postgres_port,
                    user=ACCOUNT,
                    password=token,
                    database="plain",
                    sslmode="disable",
                ),
                "agent+guardrails": libpq_env(
                    agent.postgres_port,
                    user=ACCOUNT,
                    password=token,
                    database="guarded",
                    sslmode="disable",
                ),
            }
            _wait_until_guarded(targets["agent+guardrails"])
            runs = []
            for protocol in PROTOCOLS:
                for clients in CLIENTS:
                    for name, env in targets.items():
                        tps, latency = pgbench(env, clients, protocol=protocol)
                        runs.append(
                            {
                                "target": name,
                                "protocol": protocol,
                                "clients": clients,
                                "tps": tps,
                                "latency_ms": latency,
                            }
                        )
                        print(
                            f"  {name:>16} -M {protocol:<8} -c {clients}: {tps:9.0f} tps",
                            flush=True,
                        )
        finally:
            agent.stop()
            cp.stop()
    report = {"when": time.strftime("%Y-%m-%dT%H:%M:%S"), "scale": SCALE, "runs": runs}
    out = RESULTS / f"guardrails-pgbench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\n{'protocol':>9} {'clients':>7} {'agent':>9} {'guarded':>9} {'ratio':>6} {'cost':>6}")
    for protocol in PROTOCOLS:
        for clients in CLIENTS:
            tps = {
                r["target"]: r["tps"]
                for r in runs
                if r["protocol"] == protocol and r["clients"] == clients
            }
            ratio = tps["agent+guardrails"] / tps["agent"]
            print(
                f"{protocol:>9} {clients:>7} {tps['agent']:>9.0f} "
                f"{tps['agent+guardrails']:>9.0f} {ratio:>6.2f} {100 * (1 - ratio):>5.1f}%"
            )
    print(f"\nresults written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
