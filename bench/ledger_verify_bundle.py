"""Offline verifier throughput on a real bundle: `python -m ledger.verify`'s whole pass.

Writes a bundle of BENCH_LEDGER_BUNDLE_ENTRIES (default 1,000,000) genuine v1 leaves through
`ledger.bundle.BundleWriter` (a signed checkpoint every 1,000 entries, as the sequencer issues
them), then times `verify_bundle` on it: line parse, canonical leaf check, leaf hash, Merkle
root, per-agent gaps, file hash, checkpoint signatures. One process, one core. Also times a
bare pass (read, decode, hash, root; no leaf check) to show where the time goes. CPU time
is reported beside wall time: on a shared machine it is the per-core figure.
Target: >= 100,000 entries/s. Prints a table and writes JSON under bench/results/.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledger.bundle import BundleWriter
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.leaf import leaf_bytes, leaf_document
from ledger.merkle import Frontier, leaf_hash
from ledger.note import Signer
from ledger.verify import VerifyOptions, verify_bundle

ENTRIES = int(os.environ.get("BENCH_LEDGER_BUNDLE_ENTRIES", "1000000"))
CHECKPOINT_EVERY = 1000
TARGET_PER_S = 100_000
ORIGIN = "bench.gatehouse.local/audit"
RESULTS = Path(__file__).resolve().parent / "results"
ALICE = {"sub": "5b1f0d52-0000-4000-8000-00000000a11c", "kind": "user", "name": "alice"}
BOT = {"sub": "5b1f0d52-0000-4000-8000-0000000000a1", "kind": "service_account", "name": "bot"}


def _template() -> tuple[bytes, bytes, bytes]:
    """A realistic leaf split around its seq and agent_seq, to stamp out distinct leaves fast
    (swapping one integer for another keeps the bytes canonical)."""
    leaf = leaf_bytes(
        leaf_document(
            seq=111111111,
            time=datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC),
            source="agent",
            agent="pg-eu-1",
            agent_seq=222222222,
            actor=BOT,
            on_behalf_of=ALICE,
            resource="orders-db",
            protocol="postgres",
            session="s-4f1c",
            action="statement",
            payload={"sql": "SELECT total FROM orders WHERE id = $1", "rows": 3, "ms": 4},
        )
    )
    head, rest = leaf.split(b"222222222", 1)
    middle, tail = rest.split(b"111111111", 1)
    return head, middle, tail


def write_bundle(out: Path, signer: Signer) -> float:
    head, middle, tail = _template()
    frontier, writer = Frontier(), BundleWriter(out, ORIGIN, signer)
    started = time.perf_counter()
    for seq in range(ENTRIES):
        leaf = b"%s%d%s%d%s" % (head, seq + 1, middle, seq, tail)
        writer.add_entry(seq, leaf)
        frontier.append(leaf_hash(leaf))
        if (seq + 1) % CHECKPOINT_EVERY == 0:
            writer.add_checkpoint(_signed(frontier, signer))
    writer.add_key("log", signer.verifier().vkey)
    writer.finish(_signed(frontier, signer))
    return time.perf_counter() - started


def _signed(frontier: Frontier, signer: Signer) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, frontier.size, frontier.root()), [signer])


def _timed_verify(bundle: Path, vkey: str) -> dict[str, Any]:
    """Wall time, and CPU time of this process: the per-core figure on a shared machine."""
    started, cpu_started = time.perf_counter(), time.process_time()
    report = verify_bundle(str(bundle), VerifyOptions(log_vkeys=[vkey]))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "ok": report.ok,
        "verdict": report.verdict(),
        "seconds": seconds,
        "per_second": ENTRIES / seconds,
        "cpu_seconds": cpu,
        "per_cpu_second": ENTRIES / cpu,
    }


def _timed_hash_pass(bundle: Path) -> dict[str, Any]:
    """Where the time goes: the entry pass without the leaf check (`parse_leaf`): read each
    line, decode it, hash the file, hash the leaf, grow the tree, compute the root."""
    started, cpu_started = time.perf_counter(), time.process_time()
    frontier, file_hash = Frontier(), hashlib.sha256()
    with (bundle / "entries.jsonl").open("rb") as entries:
        for raw in entries:
            file_hash.update(raw)
            frontier.append(leaf_hash(json.loads(raw)["leaf"].encode()))
    frontier.root()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "seconds": seconds,
        "per_second": ENTRIES / seconds,
        "cpu_seconds": cpu,
        "per_cpu_second": ENTRIES / cpu,
    }


def main() -> dict[str, Any]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    signer = Signer.generate(ORIGIN)
    with tempfile.TemporaryDirectory(prefix="gatehouse-bench-bundle-") as scratch:
        bundle = Path(scratch) / "bundle"
        write_seconds = write_bundle(bundle, signer)
        size = sum(path.stat().st_size for path in bundle.iterdir())
        full = _timed_verify(bundle, signer.verifier().vkey)
        hashing = _timed_hash_pass(bundle)
    write = {"seconds": write_seconds, "per_second": ENTRIES / write_seconds}
    cases = [
        {"case": "write bundle", **write, "cpu_seconds": None, "per_cpu_second": None},
        {"case": "verify (full)", **full},
        {"case": "hash pass only", **hashing},
    ]
    _print(cases, size)
    met = full["per_cpu_second"] >= TARGET_PER_S
    result = {"entries": ENTRIES, "bundle_bytes": size, "cases": cases, "target_met": met}
    out = RESULTS / f"ledger-verify-bundle-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    return result


def _print(cases: list[dict[str, Any]], size: int) -> None:
    print(f"offline verifier, one core, {ENTRIES:,} entries, bundle {size / 1e6:,.0f} MB")
    print(f"{'case':<24} {'wall s':>8} {'entries/s':>10} {'cpu s':>8} {'entries/cpu-s':>14}")
    for case in cases:
        cpu = case["cpu_seconds"]
        cpu_cells = f"{cpu:>8.2f} {case['per_cpu_second']:>14,.0f}" if cpu else f"{'':>8} {'':>14}"
        print(
            f"{case['case']:<24} {case['seconds']:>8.2f} {case['per_second']:>10,.0f} {cpu_cells}"
        )
    met = cases[1]["per_cpu_second"] >= TARGET_PER_S
    print(f"verify target {TARGET_PER_S:,} entries per CPU-second: {'met' if met else 'NOT met'}")
    print(cases[1]["verdict"])


if __name__ == "__main__":
    main()
