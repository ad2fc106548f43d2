"""Revocation latency: from the revoke API call to the end of a live session, as its client
sees it.

Each trial is a real revocation of a live session: a fresh grant for a service account, an
asyncpg connection through the agent (TLS) blocked in ``select pg_sleep(30)``, then
``POST /api/v1/grants/{id}/revoke``. The clock stops when the client receives the agent's
FATAL 57P01 "access grant ended" (asyncpg reports it as 08003 with that message). It starts
at the call's start and, separately, at its return: the push to the agent happens on commit,
so the session can end before the HTTP answer arrives, and that figure can be negative.

One run is sequential (the clean figure); the next runs lanes concurrently, each with its own
account so that one lane's revocation never ends another lane's session, with grants, pushes
and revocations of the other lanes in flight around each one. Target p99 < 1 s; goal 250 ms.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench.percentiles import HEADER, LatencySummary
from devstack.gatehouse import REPO, Agent, ControlPlane
from devstack.postgres import PostgresCluster

TRIALS = int(os.environ.get("BENCH_REVOCATION_TRIALS", "100"))
LANE_COUNTS = tuple(int(n) for n in os.environ.get("BENCH_REVOCATION_LANES", "1,4").split(","))
RESOURCE = "revocation"
SETTLE_S = 0.1  # after sending the sleep, so the statement is running upstream when revoked
END_TIMEOUT_S = 10.0
RESULTS = REPO / "bench" / "results"
TARGET_P99_MS, GOAL_P99_MS = 1000.0, 250.0


@dataclass
class Trial:
    lane: int
    from_call_start_s: float
    from_call_return_s: float
    revoke_call_s: float
    grant_usable_s: float  # grant created -> first accepted connection (the push to the agent)
    sqlstate: str
    message: str


@dataclass(frozen=True)
class Lane:
    number: int
    account: str
    token: str


class Stack:
    """A control plane, one static-credential resource and an agent, on a cluster."""

    def __init__(self, pg: PostgresCluster, root: Path) -> None:
        self.cp = ControlPlane(root / "cp")
        self.cp.bootstrap()
        self.cp.start()
        agent_token = self.cp.api("POST", "/api/v1/agents", {"name": "bench-agent"})["token"]
        self.cp.api("POST", "/api/v1/resources", _resource(pg))
        self.agent = Agent(root / "agent", control_plane_url=self.cp.url, token=agent_token)
        self.agent.start()

    def lane(self, number: int) -> Lane:
        account = f"bench-revoke-{number}"
        key = self.cp.api("POST", "/api/v1/service-accounts", {"name": account})["api_key"]
        token = self.cp.api("POST", "/api/v1/tokens", {"ttl_seconds": 3600}, api_key=key)["token"]
        return Lane(number, account, token)

    def stop(self) -> None:
        self.agent.stop()
        self.cp.stop()


def _resource(pg: PostgresCluster) -> dict[str, Any]:
    return {
        "name": RESOURCE,
        "protocol": "postgres",
        "agent": "bench-agent",
        "host": pg.host,
        "port": pg.port,
        "database": "postgres",
        "upstream_user": pg.scram.user,
        "upstream_password": pg.scram.password,
        "upstream_tls": "disable",
    }


async def connect_when_granted(stack: Stack, lane: Lane) -> asyncpg.Connection:
    """Connect as soon as the agent knows the grant (the snapshot push is asynchronous)."""
    deadline = time.perf_counter() + 10
    while True:
        try:
            return await asyncpg.connect(
                host="127.0.0.1",
                port=stack.agent.postgres_port,
                user="gatehouse",
                password=lane.token,
                database=RESOURCE,
                ssl="require",
                statement_cache_size=0,
            )
        except asyncpg.InvalidAuthorizationSpecificationError:  # 28000: no grant (yet)
            if time.perf_counter() > deadline:
                raise
            await asyncio.sleep(0.02)


async def _sleep_until_ended(conn: asyncpg.Connection) -> tuple[float, str, str]:
    """Run the long statement; when the session is cut, when and how."""
    try:
        await conn.execute("select pg_sleep(30)")
    except asyncpg.PostgresError as exc:
        return time.perf_counter(), str(exc.sqlstate), str(exc)
    except (ConnectionError, asyncpg.InterfaceError) as exc:
        return time.perf_counter(), "", f"{type(exc).__name__}: {exc}"
    return time.perf_counter(), "", "the statement finished: the session was not cut"


async def one_trial(stack: Stack, lane: Lane) -> Trial:
    created = time.perf_counter()
    grant = await asyncio.to_thread(
        stack.cp.api,
        "POST",
        "/api/v1/grants",
        {"identity": lane.account, "resource": RESOURCE, "duration_seconds": 600},
    )
    conn = await connect_when_granted(stack, lane)
    usable = time.perf_counter() - created
    sleeper = asyncio.ensure_future(_sleep_until_ended(conn))
    try:
        await asyncio.sleep(SETTLE_S)
        if sleeper.done():
            raise RuntimeError(f"the session ended before the revocation: {sleeper.result()}")
        call_start = time.perf_counter()
        await asyncio.to_thread(
            stack.cp.api, "POST", f"/api/v1/grants/{grant['id']}/revoke", {"reason": "benchmark"}
        )
        call_return = time.perf_counter()
        ended, sqlstate, message = await asyncio.wait_for(sleeper, END_TIMEOUT_S)
    finally:
        sleeper.cancel()
        conn.terminate()
    return Trial(
        lane.number, ended - call_start, ended - call_return, call_return - call_start,
        usable, sqlstate, message[:200],
    )  # fmt: skip


async def run_trials(stack: Stack, lanes: list[Lane], trials: int) -> list[Trial]:
    results: list[Trial] = []
    todo = iter(range(trials))

    async def lane_loop(lane: Lane) -> None:
        for _ in todo:  # shared iterator: lanes take trials until all are done
            results.append(await one_trial(stack, lane))

    await asyncio.gather(*(lane_loop(lane) for lane in lanes))
    return results


def report(trials: list[Trial], lanes: int, elapsed_s: float) -> dict[str, Any]:
    # psycopg reports the agent's FATAL as 57P01; asyncpg wraps it in 08003 with its message.
    cut = [t for t in trials if "access grant ended" in t.message]
    summaries = {
        "from_revoke_call_start": LatencySummary.of([t.from_call_start_s for t in cut]),
        "from_revoke_call_return": LatencySummary.of([t.from_call_return_s for t in cut]),
        "revoke_api_call": LatencySummary.of([t.revoke_call_s for t in cut]),
        "grant_created_to_usable": LatencySummary.of([t.grant_usable_s for t in trials]),
    }
    p99 = summaries["from_revoke_call_start"].p99_ms
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "trials": len(trials),
        "lanes": lanes,
        "elapsed_s": elapsed_s,
        "cut_by_the_agent": len(cut),
        "failures": [asdict(t) for t in trials if t not in cut],
        "summaries_ms": {name: asdict(s) for name, s in summaries.items()},
        "target_p99_ms": TARGET_P99_MS,
        "goal_p99_ms": GOAL_P99_MS,
        "meets_target": p99 < TARGET_P99_MS,
        "meets_goal": p99 < GOAL_P99_MS,
        "samples": [asdict(t) for t in trials],
    }


def print_report(result: dict[str, Any]) -> None:
    print(
        f"\nrevocation latency, {result['trials']} trials on {result['lanes']} lane(s) "
        f"in {result['elapsed_s']:.1f} s; {result['cut_by_the_agent']} sessions cut by the agent "
        "(ms):"
    )
    print(f"  {'measured':<26} {HEADER}")
    for name, values in result["summaries_ms"].items():
        print(f"  {name:<26} {LatencySummary(**values).row()}")
    verdict = "meets the goal" if result["meets_goal"] else (
        "meets the target" if result["meets_target"] else "MISSES the target"
    )  # fmt: skip
    print(f"  p99 from the call's start {verdict} (target < 1000 ms, goal < 250 ms)")
    for failure in result["failures"][:5]:
        print(f"  not cut as expected: {failure['sqlstate']} {failure['message']}")


def main() -> list[dict[str, Any]]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="gatehouse-bench-revocation-"))
    with PostgresCluster() as pg:
        stack = Stack(pg, root)
        try:
            lanes = [stack.lane(number) for number in range(max(LANE_COUNTS))]
            results = [_run(stack, lanes[:count]) for count in LANE_COUNTS]
        finally:
            stack.stop()
    out = RESULTS / f"revocation-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"runs": results}, indent=2))
    for result in results:
        print_report(result)
    print(f"results written to {out.relative_to(REPO)}")
    return results


def _run(stack: Stack, lanes: list[Lane]) -> dict[str, Any]:
    started = time.perf_counter()
    trials = asyncio.run(run_trials(stack, lanes, TRIALS))
    return report(trials, len(lanes), time.perf_counter() - started)


if __name__ == "__main__":
    main()
