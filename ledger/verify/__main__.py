"""`python -m ledger.verify BUNDLE [--trusted-checkpoint FILE] [--log-key VKEY] ...`

Prints one line, `VERIFIED: ...` or `FAILED: <where>: <what>` (the first problem), or a JSON
report with `--json`. Exit 0 verified, 1 failed, 2 usage error or unreadable bundle.
Standalone: stdlib + `cryptography`; no database, no network.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ledger.bundle import BundleError
from ledger.bundle.layout import ENTRIES
from ledger.verify.bundle_check import VerifyOptions, verify_bundle
from ledger.verify.progress import ProgressBar
from ledger.verify.report import Report

EXIT_VERIFIED, EXIT_FAILED, EXIT_UNREADABLE = 0, 1, 2


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ledger.verify", description=__doc__.split("\n\n")[1]
    )
    parser.add_argument("bundle", help="the bundle directory")
    parser.add_argument(
        "--trusted-checkpoint", metavar="FILE", help="a signed checkpoint note you kept earlier"
    )
    parser.add_argument(
        "--log-key",
        metavar="VKEY",
        action="append",
        default=[],
        help="log public key (repeatable, for rotated keys)",
    )
    parser.add_argument(
        "--witness-key",
        metavar="VKEY",
        action="append",
        default=[],
        help="require a cosignature from this witness on the final checkpoint",
    )
    parser.add_argument(
        "--json", action="store_true", help="print a JSON report instead of the verdict line"
    )
    parser.add_argument(
        "--progress",
        action="store_true",
        help="show the progress bar even when stderr is not a terminal",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bar, no warnings: the verdict only"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    bar = _progress_bar(args)
    try:
        options = _options(args)
        options.progress = bar
        report = verify_bundle(args.bundle, options)
    except BundleError as error:
        print(f"UNREADABLE: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        # A manifest of the right format but the wrong shape: never a traceback, never exit 0.
        print(f"UNREADABLE: malformed bundle ({type(error).__name__}: {error})", file=sys.stderr)
        return EXIT_UNREADABLE
    finally:
        if bar is not None:
            bar.close()
    _print(report, args)
    return EXIT_VERIFIED if report.ok else EXIT_FAILED


def _options(args: argparse.Namespace) -> VerifyOptions:
    options = VerifyOptions(log_vkeys=args.log_key, witness_vkeys=args.witness_key)
    if args.trusted_checkpoint:
        try:
            options.trusted_checkpoint = Path(args.trusted_checkpoint).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise BundleError(f"cannot read the trusted checkpoint: {error}") from error
    return options


def _progress_bar(args: argparse.Namespace) -> ProgressBar | None:
    if args.quiet or not (args.progress or sys.stderr.isatty()):
        return None
    try:
        return ProgressBar(os.path.getsize(Path(args.bundle) / ENTRIES))
    except OSError:
        return None  # the verifier itself reports the missing file


def _print(report: Report, args: argparse.Namespace) -> None:
    if not args.quiet:
        for warning in report.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print(report.verdict())


if __name__ == "__main__":
    sys.exit(main())
