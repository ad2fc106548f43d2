"""`python -m bench guardrails-judge`: parse-and-judge time per statement, cold and warm.

Over the benign corpus (pgbench's statements, an application's OLTP, analytics queries) under
the "read-only" and "standard" corpus policies. Cold: a fresh facts cache, so each judgement
parses (libpg_query via pglast) and walks the tree. Warm: the text is cached, so a judgement
is a lookup of the engine's memoised verdict, which is what the agent pays for statements it
has seen before (pgbench's, a driver's prepared ones). Facts cached, new policy: the rules
evaluated again over cached facts, the cost of the first judgement after a policy change.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from dataplane.guardrails import FactsCache, Guardrails
from tests.dataplane.guardrails.corpus import POLICIES, CorpusCase, load

RESULTS = Path(__file__).resolve().parent.parent / "results"
COLD_ROUNDS = 50
WARM_ROUNDS = 2000
PGBENCH_SELECT = "SELECT abalance FROM pgbench_accounts WHERE aid = 48291;"


def percentile(ordered: list[float], rank: int) -> float:
    """Nearest-rank percentile of already sorted samples."""
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


def summary_us(samples_ns: list[int]) -> dict[str, float]:
    ordered = sorted(s / 1000 for s in samples_ns)
    return {
        "n": len(ordered),
        "p50_us": percentile(ordered, 50),
        "p99_us": percentile(ordered, 99),
        "max_us": ordered[-1],
        "mean_us": sum(ordered) / len(ordered),
    }


def cold_samples(cases: list[CorpusCase], rounds: int) -> list[int]:
    """Judge each text with an empty cache: parse, walk and evaluate every time."""
    samples: list[int] = []
    for _ in range(rounds):
        for case in cases:
            judge = Guardrails(POLICIES[case.policy], FactsCache())
            start = time.perf_counter_ns()
            judge.judge(case.sql)
            samples.append(time.perf_counter_ns() - start)
    return samples


def warm_samples(cases: list[CorpusCase], rounds: int) -> list[int]:
    """Judge each text again and again through one engine per policy: served from the cache."""
    cache = FactsCache()
    judges = {name: Guardrails(policy, cache) for name, policy in POLICIES.items()}
    for case in cases:
        judges[case.policy].judge(case.sql)
    samples: list[int] = []
    for _ in range(rounds):
        for case in cases:
            judge = judges[case.policy]
            start = time.perf_counter_ns()
            judge.judge(case.sql)
            samples.append(time.perf_counter_ns() - start)
    if cache.parses != len({c.sql for c in cases}):
        raise RuntimeError(f"the warm run parsed {cache.parses} times: the cache is not working")
    return samples


def refacts_samples(cases: list[CorpusCase], rounds: int) -> list[int]:
    """Judge cached facts under the policy again: the cost after a policy change (no parse)."""
    cache = FactsCache()
    judges = {name: Guardrails(policy, cache) for name, policy in POLICIES.items()}
    samples: list[int] = []
    for _ in range(rounds):
        for case in cases:
            judge = judges[case.policy]
            start = time.perf_counter_ns()
            judge.judge_facts(cache.facts(case.sql))
            samples.append(time.perf_counter_ns() - start)
    return samples


def check_benign(cases: list[CorpusCase]) -> None:
    refused = [c.id for c in cases if not Guardrails(POLICIES[c.policy]).judge(c.sql).allowed]
    if refused:
        raise RuntimeError(f"benign statements refused, figures would be meaningless: {refused}")


def main() -> dict[str, Any]:
    cases = [c for c in load("benign") if c.sql.strip()]
    check_benign(cases)
    pgbench = [CorpusCase("pgbench-select-only", "read-only", "allow", PGBENCH_SELECT)]
    figures = {
        "cold": summary_us(cold_samples(cases, COLD_ROUNDS)),
        "warm": summary_us(warm_samples(cases, WARM_ROUNDS)),
        "facts_cached_new_policy": summary_us(refacts_samples(cases, WARM_ROUNDS // 4)),
        "pgbench_select_cold": summary_us(cold_samples(pgbench, COLD_ROUNDS * 20)),
        "pgbench_select_warm": summary_us(warm_samples(pgbench, WARM_ROUNDS * 20)),
    }
    print(f"{len(cases)} benign statements; microseconds per judgement")
    print(f"{'':<24} {'n':>7} {'p50':>9} {'p99':>9} {'max':>9} {'mean':>9}")
    for name, f in figures.items():
        print(
            f"{name:<24} {f['n']:>7} {f['p50_us']:>9.1f} {f['p99_us']:>9.1f} "
            f"{f['max_us']:>9.1f} {f['mean_us']:>9.1f}"
        )
    result = {"benchmark": "guardrails-judge", "format_version": 1, "statements": len(cases)}
    result["microseconds"] = figures
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"guardrails-judge-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()
