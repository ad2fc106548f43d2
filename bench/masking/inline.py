"""`python -m bench masking-inline`: what inline masking costs a PostgreSQL session.

One throwaway cluster holds a `customers` table with PII columns (seeded Faker data). Two
resources point at the same database through the same agent: `plain` (no masking policy)
and `masked` (the bench service account's results are redacted). In the same run:

- pgbench with a custom script (one customer row by primary key, every PII column) against
  the direct connection, the agent unmasked and the agent masked, at -c 1 and -c 8;
  the masking cost is masked TPS / unmasked TPS (target: masking costs under 20 %);
- the time to fetch a 1,000-row result (all columns) with psycopg, direct, unmasked and
  masked: the added latency of masking a whole result (p50 and p95 of 30 fetches).
"""

from __future__ import annotations

import json
import os
import random
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from faker import Faker

from bench.pgbench_compare import libpq_env
from devstack.gatehouse import REPO, Agent, ControlPlane
from devstack.postgres import PostgresCluster

DURATION_S = int(os.environ.get("BENCH_SECONDS", "10"))
CLIENTS = (1, 8)
CUSTOMERS = 10_000
FETCHES = 30
RESULTS = REPO / "bench" / "results"
SEED = 11
ACCOUNT = "bench"
ONE_CUSTOMER = (
    "\\set id random(1, {n})\n"
    "select id, name, email, phone, card, ssn, city, note from customers where id = :id;\n"
)


def load_customers(pg: PostgresCluster, root: Path) -> None:
    """10,000 customers: half the notes are prose, some carry a card number or an email."""
    fake, rng = Faker("en_US"), random.Random(SEED)
    fake.seed_instance(SEED)
    lines = []
    for i in range(1, CUSTOMERS + 1):
        note = fake.sentence()
        if rng.random() < 0.2:
            note += f" contact {fake.email()}"
        row = [
            str(i),
            fake.name(),
            fake.email(),
            fake.phone_number(),
            fake.credit_card_number(),
            fake.ssn(),
            fake.city(),
            note,
        ]
        lines.append("\t".join(value.replace("\t", " ") for value in row))
    data = root / "customers.tsv"
    data.write_text("\n".join(lines) + "\n")
    root.chmod(0o755)
    data.chmod(0o644)
    pg.admin_psql(
        "create table customers (id int primary key, name text, email text, phone text,"
        " card text, ssn text, city text, note text);"
        # The server reads the file itself: the directory must let its user in.
        f"copy customers from '{data}';"
        f"grant select on customers to {pg.scram.user};"
    )


def stack(pg: PostgresCluster, root: Path) -> tuple[ControlPlane, Agent, str]:
    """Control plane, resources `plain` and `masked` on one database, a grant on each, the
    masking policy on `masked`, an agent; returns (control plane, agent, gateway token)."""
    cp = ControlPlane(root / "cp")
    cp.bootstrap()
    cp.start()
    key = cp.api("POST", "/api/v1/service-accounts", {"name": ACCOUNT})["api_key"]
    agent_token = cp.api("POST", "/api/v1/agents", {"name": "bench-agent"})["token"]
    for name in ("plain", "masked"):
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
    cp.manage(
        "set_masking_policy",
        "bench-masked",
        "--resource",
        "masked",
        "--applies-to",
        "service_accounts",
        "--default",
        "redact",
    )
    agent = Agent(
        root / "agent", control_plane_url=cp.url, token=agent_token, allow_plaintext=True
    ).start()
    token = cp.api("POST", "/api/v1/tokens", {"ttl_seconds": 7200}, api_key=key)["token"]
    return cp, agent, token


def pgbench_script(env: dict[str, str], clients: int, script: Path) -> float:
    done = subprocess.run(
        [
            "pgbench",
            "-n",
            "-f",
            str(script),
            "-c",
            str(clients),
            "-j",
            str(min(clients, 2)),
            "-T",
            str(DURATION_S),
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(re.search(r"tps = ([\d.]+) \(without initial", done.stdout).group(1))


def fetch_ms(dsn: str) -> tuple[float, float]:
    """p50 and p95 of fetching 1,000 customers (every column), after a warm-up fetch."""
    timings = []
    with psycopg.connect(dsn) as conn:
        conn.execute("select * from customers order by id limit 1000").fetchall()
        for _ in range(FETCHES):
            started = time.perf_counter()
            rows = conn.execute("select * from customers order by id limit 1000").fetchall()
            timings.append((time.perf_counter() - started) * 1000)
            assert len(rows) == 1000
    return statistics.median(timings), statistics.quantiles(timings, n=20)[-1]


def check_masked(dsn: str) -> None:
    """The masked resource really masks (a benchmark of a no-op would be worthless)."""
    with psycopg.connect(dsn) as conn:
        email = conn.execute("select email from customers where id = 1").fetchone()[0]
    assert email == "[EMAIL_ADDRESS]", f"masking is not on: {email!r}"


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="gatehouse-bench-masking-"))
    script = root / "one_customer.sql"
    script.write_text(ONE_CUSTOMER.format(n=CUSTOMERS))
    with PostgresCluster() as pg:
        load_customers(pg, root)
        cp, agent, token = stack(pg, root)
        try:
            direct = libpq_env(
                pg.port,
                user=pg.scram.user,
                password=pg.scram.password,
                database="postgres",
                sslmode="disable",
            )
            targets = {
                "direct": direct,
                "agent": libpq_env(
                    agent.postgres_port,
                    user=ACCOUNT,
                    password=token,
                    database="plain",
                    sslmode="disable",
                ),
                "agent+masking": libpq_env(
                    agent.postgres_port,
                    user=ACCOUNT,
                    password=token,
                    database="masked",
                    sslmode="disable",
                ),
            }
            dsns = {name: _dsn(env) for name, env in targets.items()}
            _wait_until_masked(dsns["agent+masking"])
            print(f"pgbench, one customer row by key, {DURATION_S} s per run:", flush=True)
            tps = {}
            for clients in CLIENTS:
                for name, env in targets.items():
                    tps[(name, clients)] = pgbench_script(env, clients, script)
                    print(f"  {name:>14} -c {clients}: {tps[(name, clients)]:9.0f} tps", flush=True)
            fetches = {name: fetch_ms(dsn) for name, dsn in dsns.items()}
        finally:
            agent.stop()
            cp.stop()
    report = _report(tps, fetches)
    out = RESULTS / f"masking-inline-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    _print(report)
    print(f"\nresults written to {out.relative_to(REPO)}")


def _dsn(env: dict[str, str]) -> str:
    return (
        f"host={env['PGHOST']} port={env['PGPORT']} user={env['PGUSER']} "
        f"password={env['PGPASSWORD']} dbname={env['PGDATABASE']} sslmode={env['PGSSLMODE']}"
    )


def _wait_until_masked(dsn: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            check_masked(dsn)
            return
        except (AssertionError, psycopg.Error):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _report(tps: dict, fetches: dict) -> dict:
    pgbench_rows = [
        {
            "clients": clients,
            "direct_tps": tps[("direct", clients)],
            "agent_tps": tps[("agent", clients)],
            "masked_tps": tps[("agent+masking", clients)],
            "masked_vs_unmasked": tps[("agent+masking", clients)] / tps[("agent", clients)],
            "masked_vs_direct": tps[("agent+masking", clients)] / tps[("direct", clients)],
        }
        for clients in CLIENTS
    ]
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "duration_s": DURATION_S,
        "pgbench": pgbench_rows,
        "fetch_1000_rows_ms": {
            name: {"p50": p50, "p95": p95} for name, (p50, p95) in fetches.items()
        },
        "masking_added_ms_p50": fetches["agent+masking"][0] - fetches["agent"][0],
    }


def _print(report: dict) -> None:
    header = f"{'clients':>7} {'direct':>9} {'agent':>9} {'masked':>9} {'masked/agent':>13}"
    print(f"\n{header} {'cost':>6}")
    for row in report["pgbench"]:
        ratio = row["masked_vs_unmasked"]
        print(
            f"{row['clients']:>7} {row['direct_tps']:>9.0f} {row['agent_tps']:>9.0f} "
            f"{row['masked_tps']:>9.0f} {ratio:>13.2f} {100 * (1 - ratio):>5.1f}%"
        )
    print("\n1,000-row result (psycopg, all columns), ms:")
    for name, figures in report["fetch_1000_rows_ms"].items():
        print(f"  {name:>14}: p50 {figures['p50']:7.2f}  p95 {figures['p95']:7.2f}")
    print(f"  masking adds {report['masking_added_ms_p50']:.2f} ms (p50) to a 1,000-row result")


if __name__ == "__main__":
    main()
