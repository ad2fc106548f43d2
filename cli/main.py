"""``gatehouse``: argument parsing and error reporting; the work is in ``cli.commands``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from cli import commands
from cli.commands import CommandError, Context
from cli.config import ConfigError, config_load, config_path
from cli.durations import DurationError, duration_parse
from cli.tokens import SignInError
from cli.transport import HttpError, Unreachable

EXAMPLES = """\
examples:
  gatehouse --control-plane https://gatehouse.example.com login
  gatehouse login --device          # over SSH: enter a code on another device
  gatehouse request appdb --for 30m --reason "INC-42: check the orders table" --level read-only
  gatehouse status
  gatehouse psql appdb -- -c 'select 1'
  psql "$(gatehouse dsn appdb --agent gatehouse-agent:6432)"
"""


LOGIN_DESCRIPTION = """\
Sign in to Gatehouse as yourself at your organisation's identity provider, or (service
accounts) remember an API key file.

--browser  opens the provider's sign-in page in your browser and receives the answer on
           http://127.0.0.1:<random port>/callback (the URL is printed too).
--device   prints a URL and a code to enter on any device (phone, laptop), for SSH
           sessions and machines without a browser.
Default: --browser in a local desktop session (macOS, Windows, or $DISPLAY /
$WAYLAND_DISPLAY set, and not over SSH), --device otherwise.

Where the provider offers offline_access, the sign-in is renewed silently with a refresh
token before each command; when that is refused, run `gatehouse login` again. Tokens are
kept in $XDG_CONFIG_HOME/gatehouse/config.json (mode 0600) and never printed.
"""


def duration_argument(text: str) -> int:
    try:
        return duration_parse(text)
    except DurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parser_build() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--control-plane",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="the control plane (default: $GATEHOUSE_URL, else the one you logged in to)",
    )
    parser = argparse.ArgumentParser(
        prog="gatehouse",
        description="Just-in-time access through Gatehouse.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    login = sub.add_parser(
        "login",
        parents=[common],
        help="sign in (browser or device flow) or use a key",
        description=LOGIN_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    how = login.add_mutually_exclusive_group()
    how.add_argument(
        "--browser", dest="flow", action="store_const", const=commands.BROWSER,
        help="sign in in a browser on this machine (authorization code + PKCE)",
    )  # fmt: skip
    how.add_argument(
        "--device", dest="flow", action="store_const", const=commands.DEVICE,
        help="sign in on any device with a code (device flow; for SSH and headless machines)",
    )  # fmt: skip
    how.add_argument(
        "--api-key-file", metavar="FILE", help="service accounts: a file holding an API key"
    )
    login.set_defaults(run=commands.login, flow=None)

    request = sub.add_parser("request", parents=[common], help="ask for access to a resource")
    request.add_argument("resource")
    request.add_argument(
        "--for", dest="duration", required=True, type=duration_argument, metavar="DURATION",
        help="how long, e.g. 30m, 1h, 1h30m",
    )  # fmt: skip
    request.add_argument("--reason", required=True, help="why; approvers and auditors see it")
    request.add_argument("--level", help="access level, e.g. read-only (default: the policy's)")
    request.set_defaults(run=commands.request)

    status = sub.add_parser("status", parents=[common], help="your grants and requests")
    status.set_defaults(run=commands.status)

    for name, run, what in (
        ("dsn", commands.dsn, "print a libpq connection string with a fresh token"),
        ("psql", commands.psql, "run psql on a resource (extra arguments after --)"),
    ):
        connect = sub.add_parser(name, parents=[common], help=what)
        connect.add_argument("resource")
        connect.add_argument("--agent", metavar="HOST:PORT", help="where the agent listens")
        connect.add_argument("--ttl", type=duration_argument, help="token lifetime (max: server's)")
        connect.add_argument("--sslmode", default="require", help="libpq sslmode (require)")
        connect.set_defaults(run=run)
    connect.add_argument("--psql", default="psql", help="the psql program (default: psql)")
    connect.add_argument("psql_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None, *, context: Context | None = None) -> int:
    args = parser_build().parse_args(argv)
    args.control_plane = getattr(args, "control_plane", None)
    try:
        ctx = context or _context()
        status: int = args.run(args, ctx)
        return status
    except HttpError as exc:
        _error(_http_error_message(exc))
    except (CommandError, ConfigError, SignInError, Unreachable) as exc:
        _error(str(exc))
    except KeyboardInterrupt:
        _error("interrupted")
    return 1


def _context() -> Context:
    path = config_path()
    return Context(config=config_load(path), config_path=path, environ=dict(os.environ))


def _http_error_message(exc: HttpError) -> str:
    if exc.status == 401:
        return f"the control plane refused your credentials ({exc.message}): run `gatehouse login`"
    if exc.status == 403:
        return f"not allowed: {exc.message}"
    if exc.status == 404:
        return f"not found: {exc.message}"
    return f"the control plane answered {exc.status}: {exc.message}"


def _error(message: str) -> None:
    print(f"gatehouse: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
