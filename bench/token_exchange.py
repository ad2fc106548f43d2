"""Token exchange throughput: ``POST /api/v1/token-exchange`` against ``POST /api/v1/tokens``.

A pool of HTTP clients (threads, one keep-alive connection each) posts for BENCH_SECONDS per
case against one control plane (uvicorn, SQLite, as `make run` starts it). Cases:

- ``tokens (API key)``: the baseline, a gateway token minted for the API key's own account;
- ``exchange (API key)``: RFC 8693 with the API key as ``urn:gatehouse:api-key`` subject;
- ``exchange (IdP JWT)``: an RS256 client-credentials access token from the real devstack
  OpenID provider (oidc-provider), checked against its JWKS (cached after the first request),
  bound to the same service account. One token is reused: the exchange keeps no replay list.

Every request mints and signs a token and writes an audit event, so all three cases do the
same database work; ratios are against the baseline measured in the same run.
"""

from __future__ import annotations

import http.client
import json
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.percentiles import HEADER, LatencySummary
from devstack.gatehouse import REPO, ControlPlane
from devstack.oidc_provider import (
    GATEHOUSE_AUDIENCE,
    SERVICE_CLIENT_ID,
    OidcProvider,
    service_account_client,
)

DURATION_S = float(os.environ.get("BENCH_SECONDS", "10"))
CLIENTS = int(os.environ.get("BENCH_HTTP_CLIENTS", "4"))
WARMUP_REQUESTS = 20
ACCOUNT = "bench-exchanger"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
RESULTS = REPO / "bench" / "results"


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    body: bytes
    headers: dict[str, str]
    expect: int


@dataclass
class Outcome:
    case: str
    clients: int
    seconds: float
    requests: int
    errors: int
    requests_per_s: float
    latency: LatencySummary
    first_error: str = ""


def cases(api_key: str, idp_token: str | None) -> list[Case]:
    json_headers = {"Content-Type": "application/json", "Authorization": f"ApiKey {api_key}"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    def exchange(token: str, token_type: str) -> bytes:
        body = {"grant_type": GRANT_TYPE, "subject_token": token, "subject_token_type": token_type}
        return urlencode(body).encode()

    found = [
        Case("tokens (API key)", "/api/v1/tokens", b"{}", json_headers, 201),
        Case(
            "exchange (API key)",
            "/api/v1/token-exchange",
            exchange(api_key, "urn:gatehouse:api-key"),
            form,
            200,
        ),
    ]
    if idp_token is not None:
        access_token = "urn:ietf:params:oauth:token-type:access_token"
        body = exchange(idp_token, access_token)
        found.append(Case("exchange (IdP JWT)", "/api/v1/token-exchange", body, form, 200))
    return found


class Client(threading.Thread):
    """One keep-alive connection posting the case until the deadline."""

    def __init__(self, port: int, case: Case, deadline: float) -> None:
        super().__init__(daemon=True)
        self.port, self.case, self.deadline = port, case, deadline
        self.latencies: list[float] = []
        self.errors = 0
        self.first_error = ""

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            while time.perf_counter() < self.deadline:
                self._one(connection)
        finally:
            connection.close()

    def _one(self, connection: http.client.HTTPConnection) -> None:
        started = time.perf_counter()
        connection.request("POST", self.case.path, body=self.case.body, headers=self.case.headers)
        response = connection.getresponse()
        payload = response.read()
        if response.status == self.case.expect:
            self.latencies.append(time.perf_counter() - started)
        else:
            self.errors += 1
            self.first_error = self.first_error or f"HTTP {response.status}: {payload[:200]!r}"


def load(port: int, case: Case, *, clients: int, seconds: float) -> Outcome:
    warmup = Client(port, case, float("inf"))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(WARMUP_REQUESTS):  # JWKS fetch, connection setup, caches
        warmup._one(connection)
    connection.close()
    if warmup.errors:
        raise RuntimeError(f"{case.name}: {warmup.first_error}")
    started = time.perf_counter()
    pool = [Client(port, case, started + seconds) for _ in range(clients)]
    for client in pool:
        client.start()
    for client in pool:
        client.join()
    elapsed = time.perf_counter() - started
    latencies = [s for client in pool for s in client.latencies]
    errors = sum(client.errors for client in pool)
    first_error = next((c.first_error for c in pool if c.first_error), "")
    return Outcome(
        case.name, clients, elapsed, len(latencies), errors, len(latencies) / elapsed,
        LatencySummary.of(latencies), first_error,
    )  # fmt: skip


def idp_token(cp: ControlPlane, root: Path) -> tuple[OidcProvider | None, str | None, str]:
    """A client-credentials JWT from the devstack OpenID provider, trusted and bound to the
    bench account; (None, None, why) when node or its packages are missing."""
    client = service_account_client()
    try:
        provider = OidcProvider(root / "oidc", clients=[client]).start()
    except RuntimeError as exc:
        return None, None, str(exc).splitlines()[0]
    cp.api(
        "POST",
        "/api/v1/trusted-issuers",
        {
            "name": "bench-idp",
            "issuer": provider.issuer,
            "audience": GATEHOUSE_AUDIENCE,
            "algorithms": ["RS256", "PS256", "ES256", "EdDSA"],
        },
    )
    cp.api(
        "POST",
        "/api/v1/trusted-issuers/bench-idp/bindings",
        {"subject": SERVICE_CLIENT_ID, "service_account": ACCOUNT},
    )
    return provider, provider.client_credentials_token(), ""


def table(outcomes: list[Outcome]) -> str:
    base = outcomes[0]
    lines = [f"  {'case':<20} {'req/s':>8} {'ratio':>6} {'errors':>6}   {HEADER} (ms)"]
    for o in outcomes:
        ratio = o.requests_per_s / base.requests_per_s
        rate = f"{o.requests_per_s:>8.1f} {ratio:>6.2f} {o.errors:>6}"
        lines.append(f"  {o.case:<20} {rate}   {o.latency.row()}")
    return "\n".join(lines)


def main() -> dict[str, Any]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="gatehouse-bench-exchange-"))
    cp = ControlPlane(root / "cp")
    cp.bootstrap()
    cp.start()
    provider: OidcProvider | None = None
    try:
        api_key = cp.api("POST", "/api/v1/service-accounts", {"name": ACCOUNT})["api_key"]
        provider, jwt, skipped = idp_token(cp, root)
        outcomes = [
            load(cp.port, case, clients=CLIENTS, seconds=DURATION_S) for case in cases(api_key, jwt)
        ]
    finally:
        if provider is not None:
            provider.stop()
        cp.stop()
    base = outcomes[0].requests_per_s
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "duration_s": DURATION_S,
        "clients": CLIENTS,
        "outcomes": [{**asdict(o), "ratio_to_tokens": o.requests_per_s / base} for o in outcomes],
        "idp_case_skipped": skipped,
    }
    out = RESULTS / f"token-exchange-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"\ntoken exchange throughput, {CLIENTS} keep-alive clients, {DURATION_S:.0f} s a case:")
    print(table(outcomes))
    if skipped:
        print(f"  (IdP JWT case skipped: {skipped})")
    print(f"results written to {out.relative_to(REPO)}")
    return result


if __name__ == "__main__":
    main()
