"""`make run`: the control plane and one agent on embedded defaults, ready to use.

Migrates SQLite, creates an admin and a demo AI service account, registers a PostgreSQL
resource (the local server if one answers on 127.0.0.1:5432 without a password, else a
throwaway cluster started here), grants the demo account access, starts the control plane
and an agent, and prints a psql line that works through the gateway. Ctrl-C stops all of it.
State lives in var/embedded/ (or $GATEHOUSE_EMBEDDED_DIR) so a second run reuses the same
identities and keys.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

from devstack.gatehouse import REPO, Agent, ApiError, ControlPlane
from devstack.ports import free_port
from devstack.postgres import PostgresCluster

STATE = Path(os.environ.get("GATEHOUSE_EMBEDDED_DIR") or REPO / "var" / "embedded")
DEMO_ACCOUNT = "demo-agent"
DEMO_RESOURCE = "demo"
AGENT_NAME = "embedded-agent"
GRANT_SECONDS = 8 * 3600
TOKEN_SECONDS = 3600  # capped by the control plane's GATEHOUSE_TOKEN_TTL_SECONDS


def _port(preferred: int) -> int:
    import socket

    with socket.socket() as probe:
        # As the servers will: a port held only by old TIME_WAIT connections is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            return free_port()


def _local_postgres() -> dict[str, Any] | None:
    """The machine's own PostgreSQL, if it lets `postgres` in without a password."""
    try:
        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres "
            "connect_timeout=2 sslmode=prefer"
        ):
            pass
    except psycopg.Error:
        return None
    return {
        "host": "127.0.0.1",
        "port": 5432,
        "database": "postgres",
        "upstream_user": "postgres",
        "upstream_password": "",
    }


def _throwaway_postgres() -> tuple[PostgresCluster, dict[str, Any]]:
    cluster = PostgresCluster().start()
    return cluster, {
        "host": cluster.host,
        "port": cluster.port,
        "database": "postgres",
        "upstream_user": cluster.scram.user,
        "upstream_password": cluster.scram.password,
    }


def _secret_once(path: Path, create: Any, field: str) -> str:
    """Read a secret saved by an earlier run, or create it through the API and save it."""
    if path.exists():
        return path.read_text().strip()
    secret = str(create()[field])
    path.write_text(secret)
    path.chmod(0o600)
    return secret


def _ensure_resource(cp: ControlPlane, upstream: dict[str, Any]) -> None:
    body = {
        "name": DEMO_RESOURCE,
        "protocol": "postgres",
        "agent": AGENT_NAME,
        "upstream_tls": "prefer",
        **upstream,
    }
    try:
        cp.api("GET", f"/api/v1/resources/{DEMO_RESOURCE}")
    except ApiError as exc:
        if exc.status != 404:
            raise
        cp.api("POST", "/api/v1/resources", body)
        return
    cp.api("PATCH", f"/api/v1/resources/{DEMO_RESOURCE}", body)


def _set_up(cp: ControlPlane, upstream: dict[str, Any]) -> tuple[str, str]:
    """Returns (agent token, demo account API key)."""
    demo_key = _secret_once(
        STATE / "demo.api-key",
        lambda: cp.api("POST", "/api/v1/service-accounts", {"name": DEMO_ACCOUNT}),
        "api_key",
    )
    agent_token = _secret_once(
        STATE / "agent.token",
        lambda: cp.api("POST", "/api/v1/agents", {"name": AGENT_NAME}),
        "token",
    )
    _ensure_resource(cp, upstream)
    cp.api(
        "POST",
        "/api/v1/grants",
        {
            "identity": DEMO_ACCOUNT,
            "resource": DEMO_RESOURCE,
            "duration_seconds": GRANT_SECONDS,
            "reason": "make run: demo access",
        },
    )
    return agent_token, demo_key


def _banner(cp: ControlPlane, agent: Agent, token: dict[str, str], upstream: dict[str, Any]) -> str:
    key_file = STATE / "demo.api-key"
    # Lines the user copies and pastes stay whole, however long.
    return f"""
Gatehouse is running.
  control plane   {cp.url}   (API: {cp.url}/api/v1/  schema: {cp.url}/api/v1/schema/)
  agent           PostgreSQL on 127.0.0.1:{agent.postgres_port}
  resource        "{DEMO_RESOURCE}" -> {upstream["host"]}:{upstream["port"]}/{upstream["database"]}
  admin API key   {cp.admin_key_file}

Connect through the gateway as the demo AI service account "{DEMO_ACCOUNT}" (token valid until {token["expires_at"]}):

  psql "host=127.0.0.1 port={agent.postgres_port} dbname={DEMO_RESOURCE} user={DEMO_ACCOUNT} sslmode=require password={token["token"]}"

See every statement in the audit log:

  curl -s -H "Authorization: ApiKey $(cat {cp.admin_key_file})" '{cp.url}/api/v1/audit/events?actor={DEMO_ACCOUNT}'

A fresh token:  curl -s -X POST -H "Authorization: ApiKey $(cat {key_file})" {cp.url}/api/v1/tokens

Ctrl-C stops everything.
"""


def main() -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    cluster: PostgresCluster | None = None
    cp = ControlPlane(STATE / "controlplane", port=_port(8000))
    agent: Agent | None = None
    try:
        upstream = _local_postgres()
        if upstream is None:
            print("No PostgreSQL answers on 127.0.0.1:5432; starting a throwaway cluster.")
            cluster, upstream = _throwaway_postgres()
        cp.bootstrap()
        cp.start(housekeeping=True)
        agent_token, demo_key = _set_up(cp, upstream)
        agent = Agent(
            STATE / "agent", control_plane_url=cp.url, token=agent_token, postgres_port=_port(6432)
        ).start()
        token = cp.api("POST", "/api/v1/tokens", {"ttl_seconds": TOKEN_SECONDS}, api_key=demo_key)
        print(_banner(cp, agent, token, upstream), flush=True)
        while (
            not stopping
            and agent.process
            and agent.process.alive()
            and cp.process
            and cp.process.alive()
        ):
            time.sleep(0.2)
    finally:
        print("\nStopping...", file=sys.stderr)
        for part in (agent, cp, cluster):
            if part is not None:
                part.stop()


if __name__ == "__main__":
    main()
