"""`make run`: the control plane, one agent and an OpenID provider on embedded defaults,
ready to use.

Migrates SQLite, creates an admin and a demo AI service account, registers a PostgreSQL
resource (the local server if one answers on 127.0.0.1:5432 without a password, else a
throwaway cluster started here) with read-only and read-write access levels (per-session
roles inside gh_readonly / gh_readwrite) and a request policy, grants the demo account
standing read-only access, starts the devstack OpenID provider with three people (alice
requests, bob approves, carol audits), the control plane signed in through it, a Celery
worker with embedded beat (housekeeping, webhooks) on a broker that is a folder of files, a
fake model provider behind an LLM and an HTTP API resource (devstack/embedded_apis.py), and an
agent listening for PostgreSQL and HTTP, and prints what to do next. Ctrl-C stops all of it.

State lives in var/embedded/ (or $GATEHOUSE_EMBEDDED_DIR) so a second run reuses the same
identities, keys, passwords and provider port (people are matched by issuer, which includes
the port). GATEHOUSE_EMBEDDED_IDP=false, or your own GATEHOUSE_OIDC_ISSUER, leaves the
provider out.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg

from devstack import embedded_apis
from devstack.gatehouse import REPO, Agent, ApiError, ControlPlane
from devstack.model_upstream import ModelUpstream
from devstack.oidc_provider import (
    CLI_CLIENT_ID,
    PERSONAS,
    OidcProvider,
    cli_client,
    control_plane_client,
)
from devstack.ports import free_port
from devstack.postgres import PostgresCluster
from devstack.processes import ChildProcess

STATE = Path(os.environ.get("GATEHOUSE_EMBEDDED_DIR") or REPO / "var" / "embedded").resolve()
DEMO_ACCOUNT = "demo-agent"
DEMO_RESOURCE = "demo"
AGENT_NAME = "embedded-agent"
GRANT_SECONDS = 8 * 3600
TOKEN_SECONDS = 3600  # capped by the control plane's GATEHOUSE_TOKEN_TTL_SECONDS
REQUEST_MAX_SECONDS = 8 * 3600
# Level -> NOLOGIN upstream role; each session gets its own login role inside one of them.
ACCESS_LEVELS = {"read-only": "gh_readonly", "read-write": "gh_readwrite"}
DEMO_TABLE = "gatehouse_items"
IDP_PORT = 8010
IDP_STATE_FORMAT = 1
OFF = ("0", "false", "no", "off")


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
    _write_private(path, secret)
    return secret


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, never readable by others even for a moment."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    path.chmod(0o600)  # an older file may have had a wider mode


# -- the OpenID provider and its demo people --------------------------------------------------


def _idp_wanted() -> bool:
    """On unless GATEHOUSE_EMBEDDED_IDP is false or the user configured their own provider."""
    if os.environ.get("GATEHOUSE_EMBEDDED_IDP", "").strip().lower() in OFF:
        return False
    return not os.environ.get("GATEHOUSE_OIDC_ISSUER", "").strip()


def _idp_state() -> dict[str, Any]:
    """Passwords, the control plane's client secret and the port, made at the first start."""
    path = STATE / "idp.json"
    if path.exists():
        saved = json.loads(path.read_text())
        if saved.get("format") == IDP_STATE_FORMAT:
            return dict(saved)
    state = {
        "format": IDP_STATE_FORMAT,
        "port": IDP_PORT,
        "client_secret": secrets.token_urlsafe(32),
        "passwords": {person.username: secrets.token_urlsafe(12) for person in PERSONAS},
    }
    _write_private(path, json.dumps(state, indent=2))
    return state


def _idp_port(state: dict[str, Any]) -> int:
    """The saved port, so the issuer (and so who is who) survives restarts; another one,
    saved in turn, when something else holds it."""
    port = _port(int(state["port"]))
    if port != state["port"]:
        print(
            f"Port {state['port']} is taken: the OpenID provider moves to {port}. People who "
            "signed in before get new Gatehouse users (they are matched by issuer).",
            file=sys.stderr,
        )
        _write_private(STATE / "idp.json", json.dumps({**state, "port": port}, indent=2))
    return port


def _idp(cp_url: str) -> OidcProvider:
    state = _idp_state()
    people = tuple(
        dataclasses.replace(person, password=state["passwords"][person.username])
        for person in PERSONAS
    )
    return OidcProvider(
        STATE / "idp",
        clients=[control_plane_client(cp_url, secret=state["client_secret"]), cli_client()],
        users=people,
        port=_idp_port(state),
    )


def _sign_in_env(idp: OidcProvider) -> dict[str, str]:
    """GATEHOUSE_OIDC_* for the control plane: browser sign-in, groups from the ``groups``
    claim (``auditors`` is the auditor role; policies name the approver groups), and the
    device-flow client that `gatehouse login` uses."""
    return {
        **idp.relying_party_env(),
        "GATEHOUSE_OIDC_GROUPS_CLAIM": "groups",
        "GATEHOUSE_OIDC_CLI_CLIENT_ID": CLI_CLIENT_ID,
    }


# -- background jobs --------------------------------------------------------------------------


def _jobs_env() -> dict[str, str]:
    """Celery on a broker that needs no server: messages are files under var/embedded/broker
    (your own GATEHOUSE_CELERY_BROKER_URL wins)."""
    url = os.environ.get("GATEHOUSE_CELERY_BROKER_URL") or f"filesystem://{STATE / 'broker'}"
    return {"GATEHOUSE_CELERY_BROKER_URL": url}


def _celery_worker(cp: ControlPlane) -> ChildProcess:
    """A Celery worker with embedded beat, as production runs it (there as separate
    processes): beat schedules housekeeping, the worker runs it and delivers webhooks. One
    process, no pool children: `make run` stays light."""
    argv = [
        sys.executable, "-m", "celery", "-A", "controlplane.jobs.app", "worker", "--beat",
        "--pool", "solo", "--without-mingle", "--without-gossip", "--without-heartbeat",
        "--schedule", str(cp.dir / "celerybeat-schedule"), "--loglevel", "info",
    ]  # fmt: skip
    return ChildProcess(argv, log_path=cp.dir / "celery.log", env=cp.env, cwd=REPO)


# -- the demo resource ------------------------------------------------------------------------


def _prepare_access_levels(upstream: dict[str, Any]) -> None:
    """The demo table and the NOLOGIN roles behind the access levels (idempotent)."""
    conninfo = psycopg.conninfo.make_conninfo(
        host=upstream["host"],
        port=upstream["port"],
        dbname=upstream["database"],
        user=upstream["upstream_user"],
        password=upstream["upstream_password"],
        sslmode="prefer",
        connect_timeout=10,
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(_ACCESS_LEVEL_SQL)


_ACCESS_LEVEL_SQL = f"""
CREATE TABLE IF NOT EXISTS {DEMO_TABLE} (id serial PRIMARY KEY, label text);
INSERT INTO {DEMO_TABLE} (label)
  SELECT label FROM (VALUES ('first'), ('second'), ('third')) AS seed(label)
  WHERE NOT EXISTS (SELECT FROM {DEMO_TABLE});
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gh_readonly')
  THEN CREATE ROLE gh_readonly NOLOGIN; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gh_readwrite')
  THEN CREATE ROLE gh_readwrite NOLOGIN; END IF;
END $$;
GRANT SELECT ON {DEMO_TABLE} TO gh_readonly;
GRANT SELECT, INSERT, UPDATE, DELETE ON {DEMO_TABLE} TO gh_readwrite;
GRANT USAGE ON SEQUENCE {DEMO_TABLE}_id_seq TO gh_readwrite;
"""


def _ensure_resource(cp: ControlPlane, upstream: dict[str, Any]) -> None:
    body = {
        "name": DEMO_RESOURCE,
        "protocol": "postgres",
        "agent": AGENT_NAME,
        "upstream_tls": "prefer",
        **upstream,
        # Sessions run as a role made for them inside their level's role, so read-only is
        # enforced by PostgreSQL itself.
        "credential_mode": "ephemeral",
        "access_levels": [{"name": n, "upstream_role": r} for n, r in ACCESS_LEVELS.items()],
        "default_access_level": "read-only",
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
    _prepare_access_levels(upstream)
    _ensure_resource(cp, upstream)
    _set_policy(cp)
    _set_masking_policies(cp)
    _set_guardrail_policies(cp)
    # The AI account keeps a standing grant (renewed at every start) rather than an
    # auto-approval rule: an agent should not have to file requests to show the gateway.
    cp.api(
        "POST",
        "/api/v1/grants",
        {
            "identity": DEMO_ACCOUNT,
            "resource": DEMO_RESOURCE,
            "duration_seconds": GRANT_SECONDS,
            "access_level": "read-only",
            "reason": "make run: demo access",
        },
    )
    return agent_token, demo_key


def _set_policy(cp: ControlPlane) -> None:
    """People in "requesters" may ask for up to 8 h; one person in "approvers" decides."""
    cp.api(
        "PUT",
        f"/api/v1/resources/{DEMO_RESOURCE}/policy",
        {
            "requester_groups": ["requesters"],
            "approver_groups": ["approvers"],
            "min_approvals": 1,
            "max_duration_seconds": REQUEST_MAX_SECONDS,
            "access_levels": list(ACCESS_LEVELS),
            "default_access_level": "read-only",
        },
    )


# What each identity sees of the demo's results: an AI service account never sees PII; a
# person granted access sees enough of a card, SSN or phone number to recognise it.
MASKING_POLICIES = (
    {
        "name": "ai-agents-masked",
        "description": "make run: service accounts see every detected value redacted",
        "resource": DEMO_RESOURCE,
        "applies_to": "service_accounts",
        "priority": 100,
        "default_strategy": "redact",
    },
    {
        "name": "people-partial",
        "description": "make run: people see partial cards, SSNs and phone numbers",
        "resource": DEMO_RESOURCE,
        "applies_to": "people",
        "priority": 50,
        "default_strategy": "redact",
        "strategies": {e: "partial" for e in ("CREDIT_CARD", "US_SSN", "PHONE_NUMBER")},
    },
)


# What may run on the demo: no schema changes, no DROP/TRUNCATE, no server files or programs,
# no UPDATE/DELETE without WHERE, for everyone; a person's writes wait for an approver.
_DEMO_RULES: list[dict[str, Any]] = [
    {
        "kind": "deny_statements",
        "name": "no-schema-changes",
        "classes": [
            "ddl",
            "drop",
            "truncate",
            "alter_system",
            "grant_revoke",
            "role_management",
            "copy_program",
            "copy_server_file",
            "load",
        ],
    },
    {"kind": "where_required", "name": "where-required"},
    {"kind": "denied_functions", "name": "no-server-functions"},
]
GUARDRAIL_POLICIES = (
    {
        "name": "demo-guardrails",
        "description": "make run: no DDL, DROP, TRUNCATE or server files; WHERE required",
        "resource": DEMO_RESOURCE,
        "applies_to": "everyone",
        "priority": 10,
        "policy": {"format_version": 1, "rules": _DEMO_RULES},
    },
    {
        "name": "people-writes-held",
        "description": "make run: as demo-guardrails, and a person's writes wait for approval",
        "resource": DEMO_RESOURCE,
        "applies_to": "people",
        "priority": 50,
        "hold_timeout_s": 600,
        "policy": {
            "format_version": 1,
            "rules": [
                *_DEMO_RULES,
                {"kind": "read_only", "name": "writes-held", "verdict": "hold"},
            ],
        },
    },
)


def _set_guardrail_policies(cp: ControlPlane) -> None:
    """Create the demo's guardrail policies, or put them back as they were."""
    for body in GUARDRAIL_POLICIES:
        try:
            cp.api("PUT", f"/api/v1/guardrail-policies/{body['name']}", body)
        except ApiError as exc:
            if exc.status != 404:
                raise
            cp.api("POST", "/api/v1/guardrail-policies", body)


def _set_masking_policies(cp: ControlPlane) -> None:
    """Create the demo's masking policies, or put them back as they were."""
    for body in MASKING_POLICIES:
        try:
            cp.api("PUT", f"/api/v1/masking-policies/{body['name']}", body)
        except ApiError as exc:
            if exc.status != 404:
                raise
            cp.api("POST", "/api/v1/masking-policies", body)


def _banner(
    cp: ControlPlane,
    agent: Agent,
    token: dict[str, str],
    upstream: dict[str, Any],
    idp: OidcProvider | None,
) -> str:
    key_file = STATE / "demo.api-key"
    apis = embedded_apis.banner(
        http_port=agent.http_port,
        token=token["token"],
        cert=agent.state_dir / "tls" / "agent-cert.pem",
    )
    # Lines the user copies and pastes stay whole, however long.
    return f"""
Gatehouse is running.
  control plane   {cp.url}   (API: {cp.url}/api/v1/  schema: {cp.url}/api/v1/schema/)
  agent           PostgreSQL on 127.0.0.1:{agent.postgres_port}, HTTP on 127.0.0.1:{agent.http_port}
  resource        "{DEMO_RESOURCE}" -> {upstream["host"]}:{upstream["port"]}/{upstream["database"]}, table {DEMO_TABLE}
  admin API key   {cp.admin_key_file}
  masking         service accounts see PII redacted, people partial values (GET /api/v1/masking-policies)
  guardrails      no DDL/DROP/TRUNCATE, WHERE required; people's writes wait for approval in {cp.url}/inbox/
{_people(cp, idp)}
The demo AI service account "{DEMO_ACCOUNT}" has a standing read-only grant (8 h, renewed at every start), so it needs no request. Its token is valid until {token["expires_at"]}:

  psql "host=127.0.0.1 port={agent.postgres_port} dbname={DEMO_RESOURCE} user={DEMO_ACCOUNT} sslmode=require password={token["token"]}"

See every statement in the audit log:

  curl -s -H "Authorization: ApiKey $(cat {cp.admin_key_file})" '{cp.url}/api/v1/audit/events?actor={DEMO_ACCOUNT}'

The same token runs one statement through the exec API (no driver; rows come back masked as in psql):

  {_exec_curl(cp, token["token"])}

and opens the MCP server (Streamable HTTP; tools list_resources, query_database, call_http, request_access) at {cp.url}/mcp with the header "Authorization: Bearer <token>": this token or a fresh one (below).
{apis}
A fresh token:  curl -s -X POST -H "Authorization: ApiKey $(cat {key_file})" {cp.url}/api/v1/tokens

Ctrl-C stops everything.
"""


def _exec_curl(cp: ControlPlane, token: str) -> str:
    """The banner's exec API example: one SELECT on the demo table with the demo's token."""
    body = json.dumps({"sql": f"select label from {DEMO_TABLE} order by id limit 3"})
    return (
        f'curl -s -X POST -H "Authorization: Bearer {token}" '
        f"-H 'Content-Type: application/json' -d '{body}' "
        f"{cp.url}/api/v1/resources/{DEMO_RESOURCE}/exec"
    )


def _people(cp: ControlPlane, idp: OidcProvider | None) -> str:
    """What a person does: sign in, request, approve, connect."""
    hours = REQUEST_MAX_SECONDS // 3600
    if idp is None:
        return f"""
People sign in through your own provider (GATEHOUSE_OIDC_* / GATEHOUSE_SAML_*). Members of
its "requesters" group may request "{DEMO_RESOURCE}" (read-only or read-write, up to {hours} h)
on {cp.url}/resources/{DEMO_RESOURCE}/; one member of "approvers" approves in {cp.url}/inbox/.
"""
    users = "\n".join(
        f"  {user.username:<6}  password {user.password}   {_ROLE_OF[user.groups[0]]}"
        for user in idp.users.values()
    )
    return f"""
People sign in at the demo OpenID provider {idp.issuer} (passwords kept in {STATE / "idp.json"}):
{users}

Request access, approve it, connect:
  1. Open {cp.url}/ , choose "Sign in with your organisation" and sign in as alice.
  2. On Resources, open "{DEMO_RESOURCE}" and ask: read-only or read-write, up to {hours} h, with a reason.
  3. In another browser profile or a private window, open {cp.url}/inbox/ , sign in as bob and approve (one approval is enough).
  4. Back as alice, on My access: "Get a gateway token" shows a psql line; paste it.
  5. As bob, Sessions shows alice's session live (Terminate ends it); Grants has Revoke.
  6. As carol (auditor, read-only): Sessions -> a session replays step by step with masked values;
     Audit verifies a range against the signed checkpoint and downloads the export bundle;
     Agents shows each agent's health.
  From a terminal: gatehouse --control-plane {cp.url} login   (the same people)
"""


_ROLE_OF = {
    "requesters": "requesters: asks for access",
    "approvers": "approvers: approves requests",
    "auditors": "auditors: reads the audit log",
}


def _children(*parts: Any) -> list[Any]:
    return [part for part in parts if part is not None]


def _all_alive(
    *parts: Agent | ControlPlane | OidcProvider | ModelUpstream | ChildProcess | None,
) -> bool:
    # The servers keep their ChildProcess in .process (None once stopped); the worker is one.
    processes = [getattr(part, "process", part) for part in _children(*parts)]
    return all(process is not None and process.alive() for process in processes)


def main() -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    cluster: PostgresCluster | None = None
    cp_port, agent_port, http_port = _port(8000), _port(6432), _port(8443)
    idp = _idp(f"http://127.0.0.1:{cp_port}") if _idp_wanted() else None
    env = {
        "GATEHOUSE_AGENT_PUBLIC_ADDRESS": f"127.0.0.1:{agent_port}",
        "GATEHOUSE_AGENT_PUBLIC_HTTP_ADDRESS": f"127.0.0.1:{http_port}",
        **_jobs_env(),
    }
    if idp is not None:
        env.update(_sign_in_env(idp))
    cp = ControlPlane(
        STATE / "controlplane", port=cp_port, extra_env=env, relaxed_rate_limits=False
    )
    agent: Agent | None = None
    worker: ChildProcess | None = None
    models = embedded_apis.model_upstream(STATE)
    try:
        upstream = _local_postgres()
        if upstream is None:
            print("No PostgreSQL answers on 127.0.0.1:5432; starting a throwaway cluster.")
            cluster, upstream = _throwaway_postgres()
        # The provider boots while Django migrates; the pool's exit waits for it either way,
        # so the finally below never misses a provider that was still starting.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="boot") as pool:
            idp_started = pool.submit(idp.start) if idp is not None else None
            models_started = pool.submit(models.start)
            cp.bootstrap()
            cp.start(log_signer=False)  # the Celery worker's beat signs checkpoints here
            if idp_started is not None:
                idp_started.result()
            models_started.result()
        agent_token, demo_key = _set_up(cp, upstream)
        embedded_apis.set_up(cp, models, agent=AGENT_NAME, account=DEMO_ACCOUNT)
        agent = Agent(
            STATE / "agent",
            control_plane_url=cp.url,
            token=agent_token,
            postgres_port=agent_port,
            http_port=http_port,
        ).start()
        worker = _celery_worker(cp)  # last: nothing above waits for it
        token = cp.api("POST", "/api/v1/tokens", {"ttl_seconds": TOKEN_SECONDS}, api_key=demo_key)
        print(_banner(cp, agent, token, upstream, idp), flush=True)
        while not stopping and _all_alive(agent, cp, idp, worker, models):
            time.sleep(0.2)
        if not stopping:
            print(f"A part of Gatehouse stopped by itself; its log is in {STATE}.", file=sys.stderr)
    finally:
        print("\nStopping...", file=sys.stderr)
        for part in _children(agent, worker, cp, idp, models, cluster):
            part.stop()


if __name__ == "__main__":
    main()
