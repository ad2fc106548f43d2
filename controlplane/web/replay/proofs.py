"""What the browser needs to check each replayed event against the latest signed checkpoint.

Split of the work, so that the page's "verified" badge does not rest on the server's word
for the part a browser can check itself:

- server (here): the latest checkpoint's signature is verified with ``ledger``'s note
  verifier (``ledger.checkpoint.open_checkpoint``) against every log key this control plane
  recorded, and its size and root compared with the signed note; each event's stored leaf is
  compared with the canonical leaf its displayed columns make (``sequencer.leaf_text``), so
  a value changed in the table but not in the leaf is caught; the RFC 9162 inclusion proof
  of each leaf is folded from the stored Merkle nodes.
- browser (static/web/replay.js): SHA-256 over 0x00 || leaf and the proof's 0x01 nodes
  (WebCrypto), folded to the root, which must equal the checkpoint's root.

An event at or beyond the checkpoint's size is "pending": no checkpoint covers it yet.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import QuerySet

from controlplane.audit.log import checkpoint_latest, log_keys_list
from controlplane.audit.models import AuditEvent, Checkpoint
from controlplane.audit.sequencer import Entry, Person, leaf_text, nodes_fetch
from ledger import merkle
from ledger.checkpoint import CheckpointError, open_checkpoint
from ledger.leaf import LeafError
from ledger.note import NoteError, Verifier

logger = logging.getLogger(__name__)

# Coordinates per nodes query: SQLite binds two numbers for each (its limit is 32,766).
NODES_PER_QUERY = 4000


@dataclass(frozen=True)
class CheckpointCheck:
    """The latest checkpoint and whether its signature verified (on the server)."""

    size: int
    root_hash: str  # base64, as in the note
    signed_at: str
    key_id: str
    signature_valid: bool
    problem: str


@dataclass(frozen=True)
class EntryProof:
    """One event's leaf and its inclusion proof in the checkpoint's tree (None: pending)."""

    seq: int
    leaf: str
    matches_event: bool  # the leaf is what the event's shown columns make
    problem: str
    proof: list[str] | None  # base64 hashes, leaf to root


def session_proofs(*, events: QuerySet[AuditEvent]) -> dict[str, Any]:
    """The JSON the replay page verifies: ``{"checkpoint": ..., "entries": [...]}``."""
    latest = checkpoint_latest()
    check = checkpoint_check(latest) if latest is not None else None
    rows = list(events.select_related("agent"))
    size = check.size if check is not None else 0
    proofs = inclusion_proofs([row.seq for row in rows if row.seq < size], size)
    entries = [_entry(row, proofs) for row in rows]
    return {
        "checkpoint": asdict(check) if check is not None else None,
        "entries": [asdict(entry) for entry in entries],
    }


def checkpoint_check(checkpoint: Checkpoint) -> CheckpointCheck:
    """``checkpoint`` with its log signature verified against the recorded log keys."""
    verifiers = [Verifier.from_vkey(key.vkey) for key in log_keys_list() if key.role == "log"]
    problem = ""
    try:
        body, _names = open_checkpoint(checkpoint.note, verifiers)
        if body.size != checkpoint.size or body.root_hash != bytes(checkpoint.root_hash):
            problem = "the stored size or root differs from the signed note"
    except (NoteError, CheckpointError) as error:
        problem = f"the signature does not verify: {error}"
    if problem:
        logger.warning("checkpoint %s failed verification: %s", checkpoint.size, problem)
    return CheckpointCheck(
        size=checkpoint.size,
        root_hash=_b64(bytes(checkpoint.root_hash)),
        signed_at=checkpoint.signed_at.isoformat(),
        key_id=checkpoint.key_id,
        signature_valid=not problem,
        problem=problem,
    )


def inclusion_proofs(seqs: Sequence[int], size: int) -> dict[int, list[bytes] | str]:
    """Each seq's RFC 9162 inclusion proof in the tree of ``size`` (all nodes fetched in a
    few queries), or why there is none."""
    plans = {seq: merkle.inclusion_nodes(seq, size) for seq in seqs}
    wanted = sorted({node for plan in plans.values() for node in plan})
    nodes: dict[tuple[int, int], bytes] = {}
    for chunk in _chunks(wanted, NODES_PER_QUERY):
        nodes.update(nodes_fetch(chunk))
    proofs: dict[int, list[bytes] | str] = {}
    for seq in seqs:
        try:
            proofs[seq] = merkle.inclusion_proof(seq, size, nodes)
        except merkle.MissingNodeError as missing:
            proofs[seq] = f"the tree lacks a node: {missing}"
    return proofs


def _entry(row: AuditEvent, proofs: dict[int, list[bytes] | str]) -> EntryProof:
    matches, problem = _leaf_matches(row)
    proof = proofs.get(row.seq)
    if isinstance(proof, str):
        problem = problem or proof
    return EntryProof(
        seq=row.seq,
        leaf=row.leaf,
        matches_event=matches,
        problem=problem,
        proof=[_b64(node) for node in proof] if isinstance(proof, list) else None,
    )


def _leaf_matches(row: AuditEvent) -> tuple[bool, str]:
    try:
        expected = leaf_text(_entry_of(row), seq=row.seq)
    except (LeafError, TypeError, ValueError) as error:
        return False, f"the event's columns make no valid leaf: {error}"
    if expected != row.leaf:
        logger.warning("audit event seq=%s: its columns differ from its leaf", row.seq)
        return False, "the event's columns differ from its signed leaf"
    return True, ""


def _entry_of(row: AuditEvent) -> Entry:
    behalf = (row.on_behalf_of_sub, row.on_behalf_of_kind, row.on_behalf_of_name)
    return Entry(
        source=row.source,
        occurred_at=row.occurred_at,
        received_at=row.received_at,
        action=row.action,
        actor=Person(row.actor_sub, row.actor_kind, row.actor_name),
        on_behalf_of=Person(*behalf) if any(behalf) else None,
        resource=row.resource,
        protocol=row.protocol,
        session=row.session,
        payload=row.payload or {},
        agent_name=row.agent.name if row.agent is not None else None,
        agent_seq=row.agent_seq,
    )


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()
