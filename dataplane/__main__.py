"""`python -m dataplane`: run a data-plane agent.

Every option also reads an environment variable, so containers need no command line.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from dataplane.agent import AgentSettings, default_state_dir, run_agent
from dataplane.core.server import Listen


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m dataplane", description=__doc__)
    p.add_argument(
        "--control-plane",
        default=_env("GATEHOUSE_CONTROL_PLANE_URL", "http://127.0.0.1:8000"),
        help="control plane base URL (http(s) or ws(s))",
    )
    p.add_argument(
        "--agent-token-file",
        default=_env("GATEHOUSE_AGENT_TOKEN_FILE"),
        help="file holding the agent token (or set GATEHOUSE_AGENT_TOKEN)",
    )
    p.add_argument(
        "--state-dir",
        type=Path,
        default=Path(_env("GATEHOUSE_AGENT_STATE_DIR") or default_state_dir()),
    )
    p.add_argument(
        "--postgres-listen",
        type=_address,
        default=_address(_env("GATEHOUSE_POSTGRES_LISTEN", "127.0.0.1:6432") or ""),
    )
    p.add_argument(
        "--http-listen",
        type=_address,
        default=_address(http) if (http := _env("GATEHOUSE_HTTP_LISTEN")) else None,
        help="HOST:PORT for http and llm resources (no HTTP listener when absent)",
    )
    p.add_argument("--tls-cert", default=_env("GATEHOUSE_AGENT_TLS_CERT"))
    p.add_argument("--tls-key", default=_env("GATEHOUSE_AGENT_TLS_KEY"))
    p.add_argument(
        "--allow-plaintext",
        action="store_true",
        default=_env("GATEHOUSE_ALLOW_PLAINTEXT", "false") == "true",
        help="accept clients that do not ask for TLS (not for production)",
    )
    p.add_argument("--control-plane-ca", default=_env("GATEHOUSE_CONTROL_PLANE_CA"))
    p.add_argument("--log-level", default=_env("GATEHOUSE_LOG_LEVEL", "INFO"))
    return p


def _agent_token(args: argparse.Namespace) -> str:
    if args.agent_token_file:
        return Path(args.agent_token_file).read_text().strip()
    token = os.environ.get("GATEHOUSE_AGENT_TOKEN", "").strip()
    if not token:
        sys.exit("error: no agent token: pass --agent-token-file or set GATEHOUSE_AGENT_TOKEN")
    return token


def main() -> None:
    args = _parser().parse_args()
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    host, port = args.postgres_listen
    listens = [Listen("postgres", host, port)]
    if args.http_listen is not None:
        listens.append(Listen("http", *args.http_listen))
    settings = AgentSettings(
        control_plane_url=args.control_plane,
        agent_token=_agent_token(args),
        state_dir=args.state_dir,
        listens=tuple(listens),
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        allow_plaintext=args.allow_plaintext,
        control_plane_ca=args.control_plane_ca,
    )
    _run(settings)


def _run(settings: AgentSettings) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(run_agent(settings))
    else:
        uvloop.run(run_agent(settings))


if __name__ == "__main__":
    main()
