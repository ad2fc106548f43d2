"""A small real log in memory, for the bundle, verifier and witness tests.

Entries are genuine v1 leaves (`ledger.leaf`) about the personas: alice requests access, bob
approves, carol audits, and an AI service account queries the database through agent-1 on
alice's behalf. Nodes are kept so any checkpoint and consistency proof can be produced, and
`export` writes a bundle through the real `BundleWriter` (as the control plane's export does).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path

from ledger.bundle import BundleWriter
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.cosignature import CosignatureSigner, cosign
from ledger.leaf import leaf_bytes, leaf_document, parse_leaf
from ledger.merkle import Frontier, consistency_proof, leaf_hash, root_at
from ledger.note import Signer, add_signatures

ORIGIN = "gatehouse.test/audit"
START = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
ALICE = {"sub": "u-alice", "kind": "user", "name": "alice"}
BOB = {"sub": "u-bob", "kind": "user", "name": "bob"}
CAROL = {"sub": "u-carol", "kind": "user", "name": "carol"}
AI = {"sub": "sa-copilot", "kind": "service_account", "name": "copilot"}


class SampleLog:
    """An append-only log with its signing key, Merkle nodes and per-agent counters."""

    def __init__(self, origin: str = ORIGIN, signer: Signer | None = None) -> None:
        self.origin = origin
        self.signer = signer or Signer.generate(origin)
        self.frontier = Frontier()
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.leaves: list[bytes] = []
        self.agent_seq: dict[str, int] = {}

    @property
    def size(self) -> int:
        return self.frontier.size

    @property
    def vkey(self) -> str:
        return self.signer.verifier().vkey

    def append(self, leaf: bytes) -> None:
        for level, index, node in self.frontier.append(leaf_hash(leaf)):
            self.nodes[(level, index)] = node
        self.leaves.append(leaf)

    def append_event(self, seq_offset: int = 0) -> bytes:
        """One persona event; every third is an agent statement with its own agent_seq."""
        seq = self.size
        leaf = leaf_bytes(self._document(seq, seq + seq_offset))
        self.append(leaf)
        return leaf

    def grow(self, count: int) -> SampleLog:
        for _ in range(count):
            self.append_event()
        return self

    def _document(self, seq: int, n: int) -> dict[str, object]:
        kind = n % 3
        agent = "agent-1" if kind == 2 else None
        agent_seq = self._next_agent_seq(agent) if agent else None
        actor, on_behalf, action, payload = _persona_event(kind, n)
        return leaf_document(
            seq=seq,
            time=START + dt.timedelta(milliseconds=n),
            source="agent" if agent else "controlplane",
            agent=agent,
            agent_seq=agent_seq,
            actor=actor,
            on_behalf_of=on_behalf,
            resource="db/orders",
            protocol="postgres" if agent else "",
            session=f"s-{n // 10}",
            action=action,
            payload=payload,
        )

    def lose_agent_event(self, agent: str = "agent-1") -> None:
        """An agent event that never reaches the log: its agent_seq is used, no entry written."""
        self._next_agent_seq(agent)

    def _next_agent_seq(self, agent: str) -> int:
        self.agent_seq[agent] = self.agent_seq.get(agent, 0) + 1
        return self.agent_seq[agent]

    def checkpoint(self, size: int | None = None) -> Checkpoint:
        size = self.size if size is None else size
        return Checkpoint(self.origin, size, root_at(size, self.nodes))

    def signed(
        self, size: int | None = None, *, witnesses: Iterable[CosignatureSigner] = ()
    ) -> str:
        checkpoint = self.checkpoint(size)
        note = sign_checkpoint(checkpoint, [self.signer])
        lines = [cosign(checkpoint.body(), witness, 1_764_000_000) for witness in witnesses]
        return add_signatures(note, lines) if lines else note

    def consistency(self, old: int, new: int | None = None) -> list[bytes]:
        return consistency_proof(old, self.size if new is None else new, self.nodes)

    def export(
        self,
        out_dir: Path,
        *,
        first: int = 0,
        end: int | None = None,
        checkpoint_every: int = 10,
        earlier_checkpoints: Iterable[int] = (),
        witnesses: Iterable[CosignatureSigner] = (),
    ) -> Path:
        """Write entries [first, end) and the final checkpoint at the current size."""
        end = self.size if end is None else end
        witnesses = list(witnesses)
        start_nodes = {coord: self.nodes[coord] for coord in _frontier_coords(first)}
        writer = BundleWriter(
            out_dir,
            self.origin,
            self.signer,
            first_seq=first,
            start_nodes=start_nodes,
            since="2026-11-30T09:00:00Z",
            until="2026-11-30T10:00:00Z",
        )
        for size in earlier_checkpoints:
            writer.add_checkpoint(self.signed(size))
            writer.add_consistency_proof(
                size, self.checkpoint(size).root_hash, self.size, self.consistency(size)
            )
        for seq in range(first, end):
            writer.add_entry(seq, self.leaves[seq])
            if (seq + 1) % checkpoint_every == 0:
                writer.add_checkpoint(self.signed(seq + 1))
        writer.add_key("log", self.vkey, valid_from="2026-01-01T00:00:00Z")
        for witness in witnesses:
            writer.add_key("witness", witness.verifier().vkey)
        _derived_views(writer, out_dir, self.leaves[first:end])
        writer.finish(self.signed(witnesses=witnesses), end_proof=self.consistency(end))
        return out_dir


def _persona_event(
    kind: int, n: int
) -> tuple[dict[str, str], dict[str, str] | None, str, dict[str, object]]:
    if kind == 0:
        return ALICE, None, "access_request.created", {"reason": f"incident {n}", "level": "read"}
    if kind == 1:
        return BOB, None, "access_request.approved", {"request": n - 1, "by": "bob"}
    return (
        AI,
        ALICE,
        "db.statement",
        {"sql": f"SELECT id, total FROM orders WHERE id = {n}", "rows": 1},
    )


def _frontier_coords(size: int) -> list[tuple[int, int]]:
    from ledger.merkle import root_nodes

    return [(node.level, node.index) for node in root_nodes(size)]


def _derived_views(writer: BundleWriter, out_dir: Path, leaves: list[bytes]) -> None:
    """Stand-ins for the export's OCSF and CSV views: the verifier checks only their hashes."""
    ocsf, csv = out_dir / "ocsf.jsonl", out_dir / "entries.csv"
    with ocsf.open("w") as ocsf_file, csv.open("w") as csv_file:
        csv_file.write("seq,action\n")
        for leaf in leaves:
            doc = parse_leaf(leaf)
            ocsf_file.write(json.dumps({"class_uid": 6003, "activity_name": doc["action"]}) + "\n")
            csv_file.write(f"{doc['seq']},{doc['action']}\n")
    writer.add_derived("ocsf.jsonl", ocsf)
    writer.add_derived("entries.csv", csv)
