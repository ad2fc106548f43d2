"""Checking the stored log against its signed checkpoints, on the server, for the console.

Two reads: the latest checkpoint's status (its log signature and each witness cosignature
verified again, not taken from the row), and a bounded range of entries verified as the
offline verifier (``python -m ledger.verify``) verifies a bundle: each stored leaf
recomputed from its event's columns by the sequencer's own ``leaf_text`` (``ledger.leaf``
canonical form), the entry pass of ``ledger.verify.entries`` over the rows (seq contiguity,
canonical leaves, the recorded leaf hashes, per-agent ``agent_seq``, the root at every
checkpoint inside the range), inclusion proofs of the range's ends, the end of the range
proved consistent with the latest checkpoint, and the checkpoints just before and after the
range proved consistent with it.

Trust: the log keys this control plane recorded (``log_keys_list``), as the evidence report
does; an auditor anchors trust offline with ``--log-key``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from controlplane.audit.log import (
    ProofUnavailable,
    consistency_proof_build,
    inclusion_proof_build,
    log_keys_list,
)
from controlplane.audit.models import AuditEvent, Checkpoint, Cosignature, MerkleNode
from controlplane.audit.sequencer import Entry, Person, frontier_load, leaf_text
from ledger.checkpoint import Checkpoint as CheckpointBody
from ledger.checkpoint import CheckpointError, open_checkpoint
from ledger.cosignature import verify_cosignature
from ledger.leaf import LeafError
from ledger.merkle import (
    MissingNodeError,
    ProofError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from ledger.note import NoteError, Verifier, parse_note
from ledger.verify.entries import EntryScan, RootCheck
from ledger.verify.report import Report

logger = logging.getLogger(__name__)

# Entries one run may check: about a second of work; larger ranges go to an export.
RANGE_MAX_ENTRIES = 50_000
ROWS_PER_QUERY = 5_000
_LEAF_COLUMNS = (
    "seq", "leaf", "source", "agent__name", "agent_seq", "occurred_at", "action",
    "actor_sub", "actor_kind", "actor_name", "on_behalf_of_sub", "on_behalf_of_kind",
    "on_behalf_of_name", "resource", "protocol", "session", "payload",
)  # fmt: skip


class RangeRefused(ValueError):
    """A range the server will not verify (empty, too large, or not yet checkpointed)."""


@dataclass(frozen=True)
class CosignatureStatus:
    witness: str
    key_id: str
    cosigned_at: datetime
    valid: bool
    problem: str = ""


@dataclass(frozen=True)
class CheckpointStatus:
    """The latest checkpoint as the console shows it, its signatures checked again."""

    size: int
    root_hex: str
    signed_at: datetime
    key_id: str
    signature_valid: bool
    problem: str
    cosignatures: list[CosignatureStatus]
    witnesses_missing: list[str]  # configured witnesses with no cosignature on it


@dataclass
class RangeVerdict:
    """The outcome of one range verification: ok, or the first failing seq and why."""

    first: int
    last: int
    tree_size: int
    report: Report = field(default_factory=Report)

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def first_problem(self) -> str:
        return self.report.problems[0].line() if self.report.problems else ""

    @property
    def failing_seq(self) -> int | None:
        return self.report.problems[0].seq if self.report.problems else None

    @property
    def line(self) -> str:
        if not self.ok:
            return self.report.verdict()
        count = self.last - self.first + 1
        return (
            f"VERIFIED: {count} entries, seq {self.first}..{self.last}, "
            f"against checkpoint size {self.tree_size}, root {self.report.root}"
        )


def log_verifiers() -> list[Verifier]:
    """Verifiers for every log key that signs or signed checkpoints."""
    return [Verifier.from_vkey(key.vkey) for key in log_keys_list() if key.role == "log"]


def checkpoint_status(checkpoint: Checkpoint) -> CheckpointStatus:
    """``checkpoint`` with its log signature and each witness cosignature verified."""
    body, problem = _opened(checkpoint, log_verifiers())
    cosignatures = [_cosignature_status(row, checkpoint) for row in _cosignatures(checkpoint)]
    present = {status.witness for status in cosignatures if status.valid}
    configured = [witness.verifier.name for witness in settings.GATEHOUSE_LOG.witnesses]
    return CheckpointStatus(
        size=checkpoint.size,
        root_hex=bytes(checkpoint.root_hash).hex(),
        signed_at=checkpoint.signed_at,
        key_id=checkpoint.key_id,
        signature_valid=body is not None,
        problem=problem,
        cosignatures=cosignatures,
        witnesses_missing=[name for name in configured if name not in present],
    )


def _cosignatures(checkpoint: Checkpoint) -> list[Cosignature]:
    return list(checkpoint.cosignatures.order_by("id"))


def _opened(checkpoint: Checkpoint, verifiers: list[Verifier]) -> tuple[CheckpointBody | None, str]:
    """The checkpoint body its note signs, or None and why not (the row's size and root
    must be what was signed: the columns are what the console shows)."""
    try:
        body, _ = open_checkpoint(checkpoint.note, verifiers)
    except (NoteError, CheckpointError) as error:
        return None, f"signature does not verify: {error}"
    if body.size != checkpoint.size or body.root_hash != bytes(checkpoint.root_hash):
        return None, "the stored size or root differs from the signed note"
    return body, ""


def _cosignature_status(row: Cosignature, checkpoint: Checkpoint) -> CosignatureStatus:
    witness = next(
        (w for w in settings.GATEHOUSE_LOG.witnesses if w.verifier.key_id.hex() == row.key_id),
        None,
    )
    status = CosignatureStatus(row.witness, row.key_id, row.cosigned_at, valid=False)
    if witness is None:
        return replace(status, problem="not a configured witness key")
    try:
        text = parse_note(checkpoint.note).text
        timestamp = verify_cosignature(text, row.line, witness.verifier)
    except NoteError as error:
        return replace(status, problem=str(error))
    return replace(status, valid=True, cosigned_at=datetime.fromtimestamp(timestamp, tz=UTC))


# --- range verification ---------------------------------------------------------------------


def log_range_verify(*, first: int, last: int) -> RangeVerdict:
    """Verify entries ``first..last`` (inclusive) against the latest checkpoint; raises
    `RangeRefused` for a range it will not run. Never raises on tampering: that is the
    verdict's first problem."""
    final = _covering_checkpoint(first, last)
    verdict = RangeVerdict(first=first, last=last, tree_size=final.size)
    verifiers = log_verifiers()
    body, problem = _opened(final, verifiers)
    if body is None:
        verdict.report.fail(f"checkpoint size={final.size}", problem)
    else:
        _range_check(verdict.report, first, last, body, verifiers)
    _log_outcome(verdict)
    return verdict


def _covering_checkpoint(first: int, last: int) -> Checkpoint:
    """The latest checkpoint, when the range is one the server runs against it."""
    if first < 0 or last < first:
        raise RangeRefused("give a range first..last with 0 <= first <= last")
    if last - first + 1 > RANGE_MAX_ENTRIES:
        raise RangeRefused(
            f"at most {RANGE_MAX_ENTRIES} entries per run; export the period and run "
            "python -m ledger.verify on the bundle for more"
        )
    final = Checkpoint.objects.order_by("-size").first()
    if final is None or last >= final.size:
        covered = final.size if final else 0
        raise RangeRefused(
            f"seq {last} is not covered by a signed checkpoint yet (the latest covers "
            f"seq 0..{covered - 1}); try again in a moment"
        )
    return final


def _range_check(
    report: Report, first: int, last: int, final: CheckpointBody, verifiers: list[Verifier]
) -> None:
    report.tree_size, report.root = final.size, final.root_hash.hex()
    _range_scan(report, first, last, final, _root_checks(report, first, last, verifiers))
    _range_ends(report, first, last, final)
    _neighbours_consistent(report, first, last, final, verifiers)


def _root_checks(
    report: Report, first: int, last: int, verifiers: list[Verifier]
) -> list[RootCheck]:
    """The signed roots of the checkpoints the scan passes through (sizes first..last+1)."""
    checks = []
    inside = Checkpoint.objects.filter(size__gte=first, size__lte=last + 1).order_by("size")
    for checkpoint in inside.iterator():
        body, problem = _opened(checkpoint, verifiers)
        label = f"checkpoint size={checkpoint.size}"
        if body is None:
            report.fail(label, problem, seq=max(checkpoint.size - 1, 0))
            continue
        checks.append(RootCheck(body.size, body.root_hash, label))
        report.checkpoints += 1
    return checks


def _range_scan(
    report: Report, first: int, last: int, final: CheckpointBody, checks: list[RootCheck]
) -> None:
    """The offline verifier's entry pass, fed from the rows; then the end of the range
    proved a prefix of the final tree."""
    try:
        frontier = frontier_load(first)
    except MissingNodeError as error:
        report.fail(f"entry seq={first}", f"the tree's nodes before it are missing: {error}")
        return
    report.first_seq = first
    scan = EntryScan(report, frontier, checks).run(_entry_lines(report, first, last))
    report.last_seq = scan.next_seq - 1
    if scan.next_seq <= last:
        report.fail(f"entry seq={scan.next_seq}", "missing: the log ends before the range")
    try:
        proof = consistency_proof_build(old=scan.frontier.size, new=final.size)
        verify_consistency(
            scan.frontier.size, final.size, scan.frontier.root(), final.root_hash, proof
        )
    except (ProofError, ProofUnavailable) as error:
        report.fail(
            f"checkpoint size={final.size}",
            f"the entries do not lead to its root: {_reason(error)}",
            seq=last,
        )


def _entry_lines(report: Report, first: int, last: int) -> Iterator[bytes]:
    """Each row as a bundle's entries.jsonl line (seq, leaf_hash, leaf), after checking
    that the stored leaf is the one its columns make."""
    for start in range(first, last + 1, ROWS_PER_QUERY):
        end = min(start + ROWS_PER_QUERY, last + 1)
        rows = AuditEvent.objects.filter(seq__gte=start, seq__lt=end).order_by("seq")
        hashes = _leaf_hashes(start, end)
        for row in rows.values_list(*_LEAF_COLUMNS):
            columns = dict(zip(_LEAF_COLUMNS, row, strict=True))
            _check_columns(report, columns)
            recorded = hashes.get(columns["seq"])
            leaf_hash = f'"{recorded.hex()}"' if recorded else "null"
            leaf = json.dumps(columns["leaf"])
            yield f'{{"seq":{columns["seq"]},"leaf_hash":{leaf_hash},"leaf":{leaf}}}'.encode()


def _leaf_hashes(start: int, end: int) -> dict[int, bytes]:
    """The leaf hashes the tree stored (level 0) for seqs ``start..end-1``."""
    stored = MerkleNode.objects.filter(level=0, index__gte=start, index__lt=end)
    return {index: bytes(value) for index, value in stored.values_list("index", "hash")}


def _check_columns(report: Report, columns: dict[str, Any]) -> None:
    """The stored leaf must be exactly the leaf the sequencer makes of the event's columns."""
    seq = columns["seq"]
    try:
        expected = leaf_text(_entry(columns), seq=seq, payload=columns["payload"] or {})
    except LeafError as error:
        report.fail(f"entry seq={seq}", f"its columns make no valid leaf: {error}", seq=seq)
        return
    if expected != columns["leaf"]:
        what = _differing_fields(expected, columns["leaf"])
        report.fail(f"entry seq={seq}", f"the stored leaf differs from the event's {what}", seq=seq)


def _entry(columns: dict[str, Any]) -> Entry:
    """The event as the sequencer received it (received_at is not in the leaf)."""
    behalf = Person(*(columns[f"on_behalf_of_{part}"] for part in ("sub", "kind", "name")))
    return Entry(
        source=columns["source"],
        occurred_at=columns["occurred_at"],
        received_at=columns["occurred_at"],
        action=columns["action"],
        actor=Person(*(columns[f"actor_{part}"] for part in ("sub", "kind", "name"))),
        on_behalf_of=behalf if any((behalf.sub, behalf.kind, behalf.name)) else None,
        resource=columns["resource"],
        protocol=columns["protocol"],
        session=columns["session"],
        agent_name=columns["agent__name"],
        agent_seq=columns["agent_seq"],
    )


def _differing_fields(expected: str, stored: str) -> str:
    try:
        mine, theirs = json.loads(expected), json.loads(stored)
    except ValueError:
        return "columns (the leaf is not JSON)"
    if not isinstance(theirs, dict):
        return "columns (the leaf is not a JSON object)"
    names = sorted(key for key in mine.keys() | theirs.keys() if mine.get(key) != theirs.get(key))
    return ("columns: " + ", ".join(names)) if names else "columns (byte form)"


def _range_ends(report: Report, first: int, last: int, final: CheckpointBody) -> None:
    """Inclusion proofs of the first and last entries in the final tree, from the rows'
    own leaves (what an auditor asks the API for, checked here)."""
    leaves = dict(AuditEvent.objects.filter(seq__in={first, last}).values_list("seq", "leaf"))
    for seq in sorted({first, last}):
        if seq not in leaves:
            continue  # the scan named it missing already
        try:
            proof = inclusion_proof_build(seq=seq, size=final.size)
            verify_inclusion(
                leaf_hash(leaves[seq].encode()), seq, final.size, proof, final.root_hash
            )
        except (ProofError, ProofUnavailable) as error:
            report.fail(f"entry seq={seq}", f"inclusion proof fails: {_reason(error)}", seq=seq)


def _neighbours_consistent(
    report: Report, first: int, last: int, final: CheckpointBody, verifiers: list[Verifier]
) -> None:
    """The checkpoints just before and just after the range (the scan recomputed those
    inside it) must be prefixes of the final tree, as the verifier proves a bundle's."""
    before = Checkpoint.objects.filter(size__lt=first, size__gt=0).order_by("-size").first()
    after = (
        Checkpoint.objects.filter(size__gt=last + 1, size__lt=final.size).order_by("size").first()
    )
    for checkpoint in (c for c in (before, after) if c is not None):
        label = f"checkpoint size={checkpoint.size}"
        body, problem = _opened(checkpoint, verifiers)
        if body is None:
            report.fail(label, problem, seq=checkpoint.size - 1)
            continue
        try:
            proof = consistency_proof_build(old=body.size, new=final.size)
            verify_consistency(body.size, final.size, body.root_hash, final.root_hash, proof)
        except (ProofError, ProofUnavailable) as error:
            report.fail(
                label, f"not consistent with the latest checkpoint: {_reason(error)}",
                seq=checkpoint.size - 1,
            )  # fmt: skip


def _reason(error: Exception) -> str:
    return getattr(error, "reason", None) or str(error)


def _log_outcome(verdict: RangeVerdict) -> None:
    if verdict.ok:
        logger.info("audit range seq %d..%d verified", verdict.first, verdict.last)
    else:
        logger.warning(
            "audit range seq %d..%d failed verification: %s",
            verdict.first, verdict.last, verdict.first_problem,
        )  # fmt: skip
