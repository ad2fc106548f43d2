"""`python -m devstack.model_upstream --port P [--api-key K] [--tls-cert F --tls-key F]`."""

from __future__ import annotations

import argparse

import uvicorn

from devstack.model_upstream import (
    DEFAULT_API_KEY,
    DEFAULT_OAUTH_CLIENT_ID,
    DEFAULT_OAUTH_CLIENT_SECRET,
)
from devstack.model_upstream.app import create_app


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devstack.model_upstream")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--oauth-client-id", default=DEFAULT_OAUTH_CLIENT_ID)
    parser.add_argument("--oauth-client-secret", default=DEFAULT_OAUTH_CLIENT_SECRET)
    parser.add_argument("--oauth-expires-in", type=int, default=3, metavar="SECONDS")
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    return args


def main() -> None:
    args = parse_args()
    app = create_app(
        api_key=args.api_key,
        oauth_client_id=args.oauth_client_id,
        oauth_client_secret=args.oauth_client_secret,
        oauth_expires_in_s=args.oauth_expires_in,
    )
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        http="httptools",
        workers=1,
        access_log=False,  # the recorder keeps requests; a log line each would slow the benchmark
        log_level="warning",
        ssl_certfile=args.tls_cert,
        ssl_keyfile=args.tls_key,
        timeout_graceful_shutdown=1,
    )


if __name__ == "__main__":
    main()
