"""`python -m ledger.witness --log-vkey VKEY --key-file FILE --state DIR [--port N]`

Every flag has an environment variable: GATEHOUSE_WITNESS_LOG_VKEYS (space or comma
separated), GATEHOUSE_WITNESS_KEY_FILE, GATEHOUSE_WITNESS_STATE, GATEHOUSE_WITNESS_HOST,
GATEHOUSE_WITNESS_PORT, GATEHOUSE_WITNESS_NAME (for --init-key). Prints one line on start:
`witness <name> listening on http://<host>:<port> vkey <vkey>` (port 0 picks a free one).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections import defaultdict
from pathlib import Path
from types import FrameType

from ledger.note import NoteError, NoteVerifier
from ledger.witness.keys import create_key, load_key, parse_log_vkey
from ledger.witness.protocol import Witness
from ledger.witness.server import WitnessServer
from ledger.witness.state import WitnessState

log = logging.getLogger("ledger.witness")


def parse_args(argv: list[str]) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m ledger.witness", description="C2SP tlog-witness for the Gatehouse audit log"
    )
    parser.add_argument(
        "--log-vkey",
        action="append",
        default=_split(env("GATEHOUSE_WITNESS_LOG_VKEYS", "")),
        metavar="[ORIGIN=]VKEY",
        help="a log public key to trust (repeatable)",
    )
    parser.add_argument(
        "--key-file",
        default=env("GATEHOUSE_WITNESS_KEY_FILE"),
        type=Path,
        required=not env("GATEHOUSE_WITNESS_KEY_FILE"),
    )
    parser.add_argument(
        "--init-key",
        action="store_true",
        help="create the key file (mode 0600) if it does not exist",
    )
    parser.add_argument(
        "--name",
        default=env("GATEHOUSE_WITNESS_NAME", "gatehouse-witness"),
        help="witness key name, for --init-key",
    )
    parser.add_argument(
        "--state",
        default=env("GATEHOUSE_WITNESS_STATE"),
        type=Path,
        required=not env("GATEHOUSE_WITNESS_STATE"),
    )
    parser.add_argument("--host", default=env("GATEHOUSE_WITNESS_HOST", "127.0.0.1"))
    parser.add_argument("--port", default=int(env("GATEHOUSE_WITNESS_PORT", "8731")), type=int)
    return parser.parse_args(argv)


def _split(value: str) -> list[str]:
    return value.replace(",", " ").split()


def trusted_logs(values: list[str]) -> dict[str, list[NoteVerifier]]:
    logs: dict[str, list[NoteVerifier]] = defaultdict(list)
    for value in values:
        origin, verifier = parse_log_vkey(value)
        logs[origin].append(verifier)
    return dict(logs)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        logs = trusted_logs(args.log_vkey)
        signer = (
            create_key(args.key_file, args.name)
            if args.init_key and not args.key_file.exists()
            else load_key(args.key_file)
        )
    except (NoteError, OSError, ValueError) as error:
        print(f"witness: {error}", file=sys.stderr)
        return 2
    if not logs:
        print("witness: no --log-vkey given: nothing to witness", file=sys.stderr)
        return 2
    server = WitnessServer((args.host, args.port), Witness(logs, signer, WitnessState(args.state)))
    host, port = str(server.server_address[0]), server.server_address[1]
    print(
        f"witness {signer.name} listening on http://{host}:{port} vkey {signer.verifier().vkey}",
        flush=True,
    )
    log.info("witnessing %s", ", ".join(sorted(logs)))
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        server.server_close()
    return 0


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
