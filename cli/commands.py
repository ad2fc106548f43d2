"""One function per subcommand: read arguments, call the control plane, print the answer.

Each takes the parsed arguments and a Context and returns the exit status; failures raise
CommandError (or the transport's errors), which ``cli.main`` turns into one line on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from cli.browser_flow import BrowserFlow
from cli.client import ControlPlaneClient
from cli.config import Config, ConfigError, config_save
from cli.device_flow import DeviceFlow
from cli.durations import duration_format
from cli.libpq import address_split, conninfo
from cli.loopback import DEFAULT_TIMEOUT_SECONDS, LoopbackRedirect
from cli.provider import ProviderMetadata, provider_discover
from cli.renewal import config_renew_if_due
from cli.tokens import ProviderTokens


class CommandError(Exception):
    """A failure to report in one line (no traceback)."""


@dataclass
class Context:
    config: Config
    config_path: Path
    environ: dict[str, str]
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    exec_program: Callable[[str, list[str], dict[str, str]], Any] = os.execvpe
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    open_browser: Callable[[str], Any] = webbrowser.open
    browser_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def say(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)

    def tell(self, text: str) -> None:
        """Progress and instructions: stderr, so stdout stays clean for $(...)."""
        print(text, file=self.stderr, flush=True)

    def control_plane_url(self, args: argparse.Namespace) -> str:
        return self.config.control_plane_url(args.control_plane, self.environ)

    def client(self, args: argparse.Namespace) -> ControlPlaneClient:
        """The control plane as the signed-in caller, renewing the sign-in first if due."""
        url = self.control_plane_url(args)
        self.config = config_renew_if_due(self.config, path=self.config_path, now=self.clock())
        return ControlPlaneClient(url, authorization=self.config.authorization(now=self.clock()))


# -- login ---------------------------------------------------------------------------------

BROWSER, DEVICE = "browser", "device"


def login(args: argparse.Namespace, ctx: Context) -> int:
    """Sign in as a person (browser or device flow) or remember an API key file (service
    accounts); check the credential with the control plane before saving it."""
    url = ctx.control_plane_url(args)
    if args.api_key_file:
        login_data = {"kind": "api_key", "api_key_file": str(Path(args.api_key_file).resolve())}
    else:
        login_data = _person_login(ControlPlaneClient(url), args.flow, ctx)
    candidate = Config(control_plane=url, login=login_data)
    me = ControlPlaneClient(url, authorization=candidate.authorization()).me()
    config_save(ctx.config_path, candidate)
    ctx.say(f"signed in to {url} as {me['username']}")
    return 0


def login_flow_default(environ: dict[str, str], platform: str = sys.platform) -> str:
    """The browser flow where a browser can reach this machine's loopback listener (a local
    desktop session), the device flow elsewhere (SSH, containers, headless servers)."""
    if environ.get("SSH_CONNECTION") or environ.get("SSH_TTY"):
        return DEVICE
    if platform in ("darwin", "win32") or environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return BROWSER
    return DEVICE


def _person_login(anonymous: ControlPlaneClient, flow: str | None, ctx: Context) -> dict[str, Any]:
    auth = anonymous.auth_config()
    issuer, client_id = auth.get("issuer"), auth.get("cli_client_id")
    if not issuer or not client_id:
        raise CommandError(
            "this control plane offers no command-line sign-in (it needs an OIDC issuer and "
            "GATEHOUSE_OIDC_CLI_CLIENT_ID); service accounts use --api-key-file"
        )
    provider = provider_discover(issuer)
    scopes = provider.scopes_with_renewal(auth.get("scopes") or "openid")
    if (flow or login_flow_default(ctx.environ)) == BROWSER:
        tokens = _browser_login(provider, client_id=client_id, scopes=scopes, ctx=ctx)
    else:
        tokens = _device_login(provider, client_id=client_id, scopes=scopes, ctx=ctx)
    return tokens.as_login(issuer=issuer, client_id=client_id)


def _browser_login(
    provider: ProviderMetadata, *, client_id: str, scopes: str, ctx: Context
) -> ProviderTokens:
    flow = BrowserFlow(client_id=client_id, scopes=scopes, provider=provider)
    with LoopbackRedirect(timeout_seconds=ctx.browser_timeout_seconds) as redirect:
        url = flow.start(redirect.redirect_uri)
        # Printed as well as opened: the browser may not start, or be on another machine.
        ctx.tell(
            f"Opening your browser to sign in. If it does not open, visit:\n  {url}\n"
            f"Waiting for you to finish signing in..."
        )
        if not ctx.open_browser(url):
            ctx.tell("(no browser could be started here: open the URL above yourself)")
        return redirect.wait(flow.finish)


def _device_login(
    provider: ProviderMetadata, *, client_id: str, scopes: str, ctx: Context
) -> ProviderTokens:
    flow = DeviceFlow(
        client_id=client_id, scopes=scopes, endpoints=provider.device_endpoints(), sleep=ctx.sleep
    )
    authorization = flow.start()
    ctx.tell(
        f"To sign in, open {authorization.verification_uri} and enter the code "
        f"{authorization.user_code}\n"
        f"(or open {authorization.verification_uri_complete})\n"
        f"Waiting for you to finish signing in..."
    )
    return flow.wait()


# -- request and status --------------------------------------------------------------------


def request(args: argparse.Namespace, ctx: Context) -> int:
    """Ask for access; print the request's id and whether it was approved at once."""
    created = ctx.client(args).access_request_create(
        resource=args.resource,
        duration_seconds=args.duration,
        reason=args.reason,
        access_level=args.level or "",
    )
    status = created["status"]
    ctx.say(f"request {created['id']}: {status}")
    if status == "approved":
        how = "automatically" if created.get("auto_approved") else "by an approver"
        ctx.say(f"approved {how}; grant {created['grant']} on {created['resource']}")
    elif status == "pending":
        ctx.say(f"waiting for an approver; `gatehouse status` shows when {args.resource} opens")
    return 0


def status(args: argparse.Namespace, ctx: Context) -> int:
    """The caller's active grants (with time left) and their open and recent requests."""
    client = ctx.client(args)
    me = client.me()["username"]
    now = datetime.now().astimezone()
    grants = client.grants(identity=me, active="true")
    ctx.say(f"signed in as {me} at {client.url}")
    ctx.say("active grants:" if grants else "active grants: none")
    for grant in grants:
        left = _parse_time(grant["expires_at"]) - now
        level = grant.get("access_level") or "default"
        ctx.say(
            f"  {grant['resource']:<20} {level:<12} until {grant['expires_at']} "
            f"({duration_format(left.total_seconds())} left)"
        )
    mine = [item for item in client.access_requests() if item["requester"] == me]
    ctx.say("requests:" if mine else "requests: none")
    for item in mine[:10]:
        ctx.say(
            f"  {item['id']}  {item['resource']:<20} {item['status']:<9} "
            f"{duration_format(item['duration_seconds'])}  {item['reason']!r}"
        )
    return 0


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- dsn and psql --------------------------------------------------------------------------


@dataclass(frozen=True)
class Connection:
    host: str
    port: int
    database: str
    user: str
    token: str
    sslmode: str

    def conninfo(self, *, with_password: bool) -> str:
        parts: dict[str, str | int] = {
            "host": self.host,
            "port": self.port,
            "dbname": self.database,
            "user": self.user,
        }
        if with_password:
            parts["password"] = self.token
        return conninfo(**parts, sslmode=self.sslmode)


def dsn(args: argparse.Namespace, ctx: Context) -> int:
    """Mint a gateway token and print a libpq connection string holding it."""
    ctx.say(_connection(args, ctx).conninfo(with_password=True))
    return 0


def psql(args: argparse.Namespace, ctx: Context) -> int:
    """Run psql on the resource; the token goes in PGPASSWORD, never on the command line."""
    connection = _connection(args, ctx)
    extra = list(args.psql_args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    env = {**ctx.environ, "PGPASSWORD": connection.token}
    argv = [args.psql, connection.conninfo(with_password=False), *extra]
    try:
        ctx.exec_program(args.psql, argv, env)
    except OSError as exc:
        raise CommandError(f"cannot run {args.psql}: {exc.strerror}") from None
    return 0


def _connection(args: argparse.Namespace, ctx: Context) -> Connection:
    client = ctx.client(args)
    me = client.me()["username"]
    if not client.grants(identity=me, resource=args.resource, active="true"):
        raise CommandError(
            f"you have no active grant on {args.resource}: run "
            f"`gatehouse request {args.resource} --for 30m --reason ...` first"
        )
    host, port = _agent_address(args, client)
    minted = client.token_mint(ttl_seconds=args.ttl)
    return Connection(host, port, args.resource, me, minted["token"], args.sslmode)


def _agent_address(args: argparse.Namespace, client: ControlPlaneClient) -> tuple[str, int]:
    address = args.agent or client.auth_config().get("agent_postgres_address")
    if not address:
        raise CommandError("the control plane names no agent address: pass --agent host:port")
    try:
        return address_split(address)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


__all__ = [
    "BROWSER", "DEVICE", "CommandError", "ConfigError", "Context", "dsn", "login",
    "login_flow_default", "psql", "request", "status",
]  # fmt: skip
