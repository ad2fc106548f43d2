"""`make bench`: every benchmark, in order; `python -m bench NAME...` runs only those named.

pgbench (data-plane throughput and memory), revocation (grant revoke -> live session cut),
exchange (token exchange throughput against plain token minting), verify-bundle (the offline
audit verifier over a 1,000,000-entry bundle), ledger-core (Merkle root over 1,000,000 leaf
hashes, leaf parsing, proof checks, on one core), audit-append (audit log append throughput
into PostgreSQL with checkpoints signed), audit-proofs (proof latency at 1,000,000 entries),
masking-accuracy (precision/recall per entity vs Presidio on a seeded corpus), masking-speed
(scan MB/s per core: hyperscan, Python fallback, Presidio), masking-inline (pgbench TPS and
1,000-row latency through the agent with masking on vs off), guardrails-judge (parse-and-judge
time per statement, cold and cached, p50/p99), guardrails-pgbench (pgbench -S through the agent,
guardrails on vs off), llm-gateway (latency the gateway adds to model calls against the provider
directly; wrk requests/s through an http resource vs nginx vs the upstream alone).
Each prints its tables and writes JSON under bench/results/; with more than one, each runs in
its own process.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

from bench import (
    audit_append,
    audit_proofs,
    ledger_verify,
    ledger_verify_bundle,
    llm_gateway,
    pgbench_compare,
    revocation_latency,
    token_exchange,
)
from bench.guardrails import judge as guardrails_judge
from bench.guardrails import pgbench as guardrails_pgbench
from bench.masking import accuracy as masking_accuracy
from bench.masking import inline as masking_inline
from bench.masking import throughput as masking_throughput

BENCHMARKS: dict[str, Callable[[], object]] = {
    "pgbench": pgbench_compare.main,
    "revocation": revocation_latency.main,
    "exchange": token_exchange.main,
    "verify-bundle": ledger_verify_bundle.main,
    "ledger-core": ledger_verify.main,
    "audit-append": audit_append.main,
    "audit-proofs": audit_proofs.main,
    "masking-accuracy": masking_accuracy.main,
    "masking-speed": masking_throughput.main,
    "masking-inline": masking_inline.main,
    "guardrails-judge": guardrails_judge.main,
    "guardrails-pgbench": guardrails_pgbench.main,
    "llm-gateway": llm_gateway.main,
}


def main(names: list[str]) -> int:
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}", file=sys.stderr)
        return 2
    if len(names) == 1:
        print(f"\n=== bench: {names[0]} ===", flush=True)
        BENCHMARKS[names[0]]()
        return 0
    # Each in its own process: some configure Django for their own throwaway cluster, and
    # Django reads its settings once per process.
    failed = [name for name in names or BENCHMARKS if _run_alone(name) != 0]
    if failed:
        print(f"benchmarks that failed: {failed}", file=sys.stderr)
    return 1 if failed else 0


def _run_alone(name: str) -> int:
    return subprocess.run([sys.executable, "-m", "bench", name], check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
