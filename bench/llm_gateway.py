"""`python -m bench llm-gateway`: what the gateway adds to model calls and HTTP API calls.

One run, one machine, the same fake provider (devstack/model_upstream.py) behind every path:

- **LLM path**: Chat Completions through an `llm` resource (gateway token in, provider key
  injected, prompt privacy "mask" scanning every prompt, usage and audit recorded) against
  the provider called directly. Sequential calls on one keep-alive connection each way,
  interleaved in rounds so drift hits both alike: added latency p50 and p99 (target: p50
  under 2 ms; LiteLLM reports about 2 ms median), and for streaming the time to the first
  chunk.
- **HTTP path**: requests per second with wrk through an `http` resource against an nginx
  reverse proxy in front of the same upstream, and the upstream alone.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.percentiles import HEADER, LatencySummary
from devstack.gatehouse import REPO, Agent, ControlPlane
from devstack.model_upstream import ModelUpstream
from devstack.nginx import NginxProxy
from devstack.ports import free_port

RESULTS = REPO / "bench" / "results"
ACCOUNT = "bench-ai"
ROUNDS = 10
CALLS_PER_ROUND = 100
STREAM_CALLS_PER_ROUND = 30
WRK_SECONDS = 10
WRK_CONNECTIONS = (1, 16)
PROMPT = (
    "Summarise the open tickets for the billing team in three short bullet points, "
    "and say which one is the most urgent and why."
)


def stack(upstream: ModelUpstream, root: Path) -> tuple[ControlPlane, Agent, str]:
    """Control plane, resources `llm` and `api` on the fake provider, grants, an agent with
    an HTTP listener; returns (control plane, agent, gateway token)."""
    cp = ControlPlane(root / "cp")
    cp.bootstrap()
    cp.start()
    key = cp.api("POST", "/api/v1/service-accounts", {"name": ACCOUNT})["api_key"]
    agent_token = cp.api("POST", "/api/v1/agents", {"name": "bench-agent"})["token"]
    port = int(upstream.url.rsplit(":", 1)[1])
    resources = {
        "llm": {"llm_api": "openai", "auth": "header", "scheme": "http"},
        "api": {"auth": "header", "scheme": "http", "base_path": "/api"},
    }
    for name, settings in resources.items():
        cp.api(
            "POST",
            "/api/v1/resources",
            {
                "name": name,
                "protocol": "llm" if name == "llm" else "http",
                "agent": "bench-agent",
                "host": "127.0.0.1",
                "port": port,
                "database": "",
                "upstream_user": "",
                "upstream_password": upstream.api_key,
                "http": settings,
            },
        )
        cp.api(
            "POST",
            "/api/v1/grants",
            {"identity": ACCOUNT, "resource": name, "duration_seconds": 7200, "reason": "bench"},
        )
    agent = Agent(
        root / "agent",
        control_plane_url=cp.url,
        token=agent_token,
        allow_plaintext=True,
        http_port=free_port(),
    ).start()
    token = cp.api("POST", "/api/v1/tokens", {"ttl_seconds": 7200}, api_key=key)["token"]
    return cp, agent, token


def chat_body(*, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "gpt-bench",
        "messages": [{"role": "user", "content": PROMPT}],
    }
    if stream:
        body["stream"] = True
    return body


def timed_call(client: httpx.Client, url: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    response = client.post(url, json=chat_body(stream=False), headers=headers)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


def time_to_first_chunk(client: httpx.Client, url: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    first = 0.0
    with client.stream("POST", url, json=chat_body(stream=True), headers=headers) as response:
        response.raise_for_status()
        for _ in response.iter_raw():
            if not first:
                first = time.perf_counter() - started
    return first


def llm_latency(upstream: ModelUpstream, agent: Agent, token: str) -> dict[str, Any]:
    """Interleaved rounds of direct and gateway calls on one keep-alive connection each."""
    paths = {
        "direct": (
            f"{upstream.url}/v1/chat/completions",
            {"Authorization": f"Bearer {upstream.api_key}"},
        ),
        "gateway": (
            f"http://127.0.0.1:{agent.http_port}/llm/v1/chat/completions",
            {"Authorization": f"Bearer {token}"},
        ),
    }
    samples: dict[str, list[float]] = {f"{k}{s}": [] for k in paths for s in ("", "-ttfc")}
    with httpx.Client(timeout=30) as direct, httpx.Client(timeout=30) as gateway:
        clients = {"direct": direct, "gateway": gateway}
        for name, (url, headers) in paths.items():  # warm-up: connections, caches, JIT-free
            for _ in range(50):
                timed_call(clients[name], url, headers)
        for _ in range(ROUNDS):
            for name, (url, headers) in paths.items():
                client = clients[name]
                samples[name] += [timed_call(client, url, headers) for _ in range(CALLS_PER_ROUND)]
                samples[f"{name}-ttfc"] += [
                    time_to_first_chunk(client, url, headers) for _ in range(STREAM_CALLS_PER_ROUND)
                ]
    summaries = {name: LatencySummary.of(values) for name, values in samples.items()}
    print("\nLLM path: Chat Completions, sequential, one keep-alive connection (ms)")
    print(f"{'path':<16}{HEADER}")
    for name, summary in summaries.items():
        print(f"{name:<16}{summary.row()}")
    added = {
        "non_streaming_p50_ms": summaries["gateway"].p50_ms - summaries["direct"].p50_ms,
        "non_streaming_p99_ms": summaries["gateway"].p99_ms - summaries["direct"].p99_ms,
        "ttfc_p50_ms": summaries["gateway-ttfc"].p50_ms - summaries["direct-ttfc"].p50_ms,
        "ttfc_p99_ms": summaries["gateway-ttfc"].p99_ms - summaries["direct-ttfc"].p99_ms,
    }
    for name, value in added.items():
        print(f"added {name:<24}{value:>8.2f}")
    return {
        "latency": {name: summary.__dict__ for name, summary in summaries.items()},
        "added": added,
    }


WRK_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")


def wrk(url: str, *, connections: int, headers: dict[str, str]) -> float:
    argv = ["wrk", "-t", str(min(connections, 2)), "-c", str(connections)]
    argv += ["-d", f"{WRK_SECONDS}s"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run([*argv, url], check=True, capture_output=True, text=True).stdout
    match = WRK_RPS.search(out)
    if match is None:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    return float(match.group(1))


def http_throughput(upstream: ModelUpstream, agent: Agent, token: str) -> dict[str, Any]:
    """wrk GET /api/echo: upstream alone, behind nginx, behind the gateway's http resource."""
    key = {"Authorization": f"Bearer {upstream.api_key}"}
    rows: list[dict[str, Any]] = []
    with NginxProxy(upstream.url) as nginx:
        targets = {
            "direct": (f"{upstream.url}/api/echo", key),
            "nginx": (f"{nginx.url}/api/echo", key),
            "gateway": (
                f"http://127.0.0.1:{agent.http_port}/api/echo",
                {"Authorization": f"Bearer {token}"},
            ),
        }
        for connections in WRK_CONNECTIONS:
            rates = {
                name: wrk(url, connections=connections, headers=headers)
                for name, (url, headers) in targets.items()
            }
            rows.append({"connections": connections, **rates})
    print("\nHTTP path: wrk GET /api/echo, requests per second")
    print(f"{'conns':>6} {'direct':>10} {'nginx':>10} {'gateway':>10} {'gw/nginx':>9}")
    for row in rows:
        print(
            f"{row['connections']:>6} {row['direct']:>10.0f} {row['nginx']:>10.0f} "
            f"{row['gateway']:>10.0f} {row['gateway'] / row['nginx']:>9.2f}"
        )
    return {"wrk": rows}


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (make bench installs it: apt-get install wrk)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="gatehouse-bench-llm-"))
    with ModelUpstream() as upstream:
        cp, agent, token = stack(upstream, root)
        try:
            result = {
                **llm_latency(upstream, agent, token),
                **http_throughput(upstream, agent, token),
            }
        finally:
            agent.stop()
            cp.stop()
    (RESULTS / "llm_gateway.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
