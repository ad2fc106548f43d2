"""Ledger core throughput on one core: what the offline verifier and the sequencer pay per entry.

- ``leaf hash``: SHA-256(0x00 || leaf) over realistic ~330-byte canonical leaves;
- ``root``: recomputing the tree head from BENCH_LEDGER_LEAVES (default 1,000,000) leaf
  hashes, the verifier's check of a bundle that starts at seq 0 (target >= 100,000 leaves/s);
- ``hash + root``: the sum of the two, the verifier's Merkle cost per entry;
- ``frontier append``: the sequencer's per-entry Merkle work (nodes returned, not stored);
- ``parse + hash``: `parse_leaf` (canonical check, v1 checks) + leaf hash on real documents;
- ``verify inclusion`` / ``verify consistency``: proofs per second at the full tree size.

Pure CPU, no servers. Prints a table and writes JSON under bench/results/.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledger.leaf import leaf_bytes, leaf_document, parse_leaf
from ledger.merkle import (
    Frontier,
    consistency_nodes,
    consistency_proof,
    inclusion_nodes,
    inclusion_proof,
    leaf_hash,
    root,
    root_at,
    root_nodes,
    verify_consistency,
    verify_inclusion,
)

LEAVES = int(os.environ.get("BENCH_LEDGER_LEAVES", "1000000"))
BATCH = 100_000
PARSED_LEAVES = min(LEAVES, 100_000)
PROOFS = 20_000
TARGET_LEAVES_PER_S = 100_000
RESULTS = Path(__file__).resolve().parent / "results"
ALICE = {"sub": "5b1f0d52-0000-4000-8000-00000000a11c", "kind": "user", "name": "alice"}
BOT = {"sub": "5b1f0d52-0000-4000-8000-0000000000a1", "kind": "service_account", "name": "bot"}


def _leaf(seq: int) -> bytes:
    """A realistic leaf: an AI service account's statement on behalf of alice."""
    return leaf_bytes(
        leaf_document(
            seq=seq,
            time=datetime(2026, 11, 30, 12, 0, 0, seq % 1_000_000, tzinfo=UTC),
            source="agent",
            agent="pg-eu-1",
            agent_seq=seq + 1,
            actor=BOT,
            on_behalf_of=ALICE,
            resource="orders-db",
            protocol="postgres",
            session=f"s-{seq // 50}",
            action="statement",
            payload={"sql": "SELECT total FROM orders WHERE id = $1", "rows": seq % 7, "ms": 0.4},
        )
    )


def _leaves(count: int, first: int = 0) -> Iterator[bytes]:
    """``count`` distinct leaves without building each document: the template leaf with
    its seq swapped (the bytes stay canonical: same keys, an integer in place of another)."""
    template = _leaf(0)
    head, tail = template.split(b'"seq":0,', 1)
    for seq in range(first, first + count):
        yield b'%s"seq":%d,%s' % (head, seq, tail)


def _timed(name: str, items: int, run: Callable[[], object]) -> dict[str, Any]:
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    return {"case": name, "items": items, "seconds": seconds, "per_second": items / seconds}


def _proof_cases(leaf_hashes: list[bytes]) -> list[dict[str, Any]]:
    """Verify proofs at the full size, built from a node map of just the nodes they need."""
    size, head = len(leaf_hashes), root(leaf_hashes)
    rng = random.Random(4)
    indices = [rng.randrange(size) for _ in range(PROOFS // 10)]
    olds = [rng.randrange(1, size + 1) for _ in range(PROOFS // 100)]
    wanted = {n for i in indices for n in inclusion_nodes(i, size)}
    wanted |= {n for old in olds for n in consistency_nodes(old, size)}
    wanted |= {n for old in olds for n in root_nodes(old)}
    nodes = {n: root(leaf_hashes[n.start : n.end]) for n in wanted}
    inclusion = [(i, inclusion_proof(i, size, nodes)) for i in indices]
    consistency = [(o, root_at(o, nodes), consistency_proof(o, size, nodes)) for o in olds]

    def verify_all_inclusion() -> None:
        for _ in range(10):
            for index, proof in inclusion:
                verify_inclusion(leaf_hashes[index], index, size, proof, head)

    def verify_all_consistency() -> None:
        for _ in range(100):
            for old, old_root, proof in consistency:
                verify_consistency(old, size, old_root, head, proof)

    return [
        _timed("verify inclusion", PROOFS, verify_all_inclusion),
        _timed("verify consistency", PROOFS, verify_all_consistency),
    ]


def _hash_in_batches(leaf_hashes: list[bytes]) -> dict[str, Any]:
    """Leaf-hash LEAVES leaves, making them 100,000 at a time (making them is not timed) so
    the benchmark never holds a million leaves in memory."""
    seconds = 0.0
    for first in range(0, LEAVES, BATCH):
        batch = list(_leaves(min(BATCH, LEAVES - first), first))
        start = time.perf_counter()
        leaf_hashes.extend(map(leaf_hash, batch))
        seconds += time.perf_counter() - start
    return {
        "case": "leaf hash",
        "items": LEAVES,
        "seconds": seconds,
        "per_second": LEAVES / seconds,
    }


def _combined(name: str, *parts: dict[str, Any]) -> dict[str, Any]:
    seconds = sum(part["seconds"] for part in parts)
    return {"case": name, "items": LEAVES, "seconds": seconds, "per_second": LEAVES / seconds}


def main() -> dict[str, Any]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    leaf_hashes: list[bytes] = []
    hashing = _hash_in_batches(leaf_hashes)
    rooting = _timed("root", LEAVES, lambda: root(leaf_hashes))
    sample = list(_leaves(PARSED_LEAVES))
    cases = [
        hashing,
        rooting,
        _combined("hash + root", hashing, rooting),
        _timed("frontier append", LEAVES, lambda: _append_all(leaf_hashes)),
        _timed("parse + hash", PARSED_LEAVES, lambda: _parse_all(sample)),
        *_proof_cases(leaf_hashes),
    ]
    print(f"ledger core, one core, {LEAVES:,} leaves (~{len(sample[0])} bytes each)")
    print(f"{'case':<20} {'items':>10} {'seconds':>9} {'per second':>12}")
    for case in cases:
        name, items, seconds, rate = (
            case["case"],
            case["items"],
            case["seconds"],
            case["per_second"],
        )
        print(f"{name:<20} {items:>10,} {seconds:>9.3f} {rate:>12,.0f}")
    verdict = cases[2]["per_second"] >= TARGET_LEAVES_PER_S
    print(f"hash + root target {TARGET_LEAVES_PER_S:,}/s: {'met' if verdict else 'NOT met'}")
    result = {"leaves": LEAVES, "cases": cases, "target_met": verdict}
    out = RESULTS / f"ledger-verify-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    return result


def _append_all(leaf_hashes: list[bytes]) -> None:
    frontier = Frontier()
    for value in leaf_hashes:
        frontier.append(value)


def _parse_all(leaves: list[bytes]) -> None:
    for data in leaves:
        parse_leaf(data)
        leaf_hash(data)


if __name__ == "__main__":
    main()
