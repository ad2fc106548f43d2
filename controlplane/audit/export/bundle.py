"""The auditor's export: a period of the log as a verifiable bundle (``ledger.bundle``
format 1) with its OCSF and CSV views, recorded in the log itself as ``audit.exported``.

The range is contiguous in ``seq`` (the bundle proves positions in the tree, so it cannot
skip): from the first entry *sequenced* at or after ``since`` to the last one sequenced
before ``until`` and covered by the newest signed checkpoint. Entries are sequenced in the
order they reach the log (``received_at``), so an agent event that occurred just before
``since`` but arrived after it is in the range; each entry's own ``time`` says when it
happened.

Entries stream from the database in seq order in chunks (constant memory) and each one is
written to ``entries.jsonl``, ``ocsf.jsonl`` and ``entries.csv`` in the same pass.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min, QuerySet

from controlplane.audit.checkpoints import checkpoint_sign, log_signer
from controlplane.audit.export.csv import CsvView
from controlplane.audit.export.ocsf import ocsf_event
from controlplane.audit.export.period import rfc3339
from controlplane.audit.models import AuditEvent, Checkpoint, Cosignature, LogKey
from controlplane.audit.sequencer import nodes_fetch
from controlplane.audit.services import audit_event_record
from ledger.bundle.writer import BundleWriter
from ledger.merkle import consistency_nodes, consistency_proof, root_at, root_nodes

CHUNK = 2000  # rows fetched per round trip while streaming
CSV_NAME, OCSF_NAME = "entries.csv", "ocsf.jsonl"
CHECKPOINT_POLL_S = 0.1
FINAL_WAIT_SLACK_S = 1.0
COSIGNATURE_WAIT_S = 5.0


class ExportAction(StrEnum):
    # Kept beside the export (as the access and policies apps keep theirs).
    EXPORTED = "audit.exported"


class ExportError(Exception):
    """The export cannot be made (no signed checkpoint covers the range yet, ...)."""


@dataclass(frozen=True)
class SeqRange:
    """``first`` .. ``last`` inclusive; empty when ``last < first``."""

    first: int
    last: int

    @property
    def count(self) -> int:
        return max(0, self.last - self.first + 1)

    @property
    def end_size(self) -> int:
        """The tree size right after the range's last entry."""
        return self.last + 1


@dataclass(frozen=True)
class Exported:
    out_dir: Path
    seqs: SeqRange
    tree_size: int
    manifest_sha256: str


def audit_export(
    *,
    actor: Any,
    since: datetime,
    until: datetime,
    out_dir: Path,
    consistency_from: Sequence[int] = (),
) -> Exported:
    """Write the bundle of the entries sequenced in ``[since, until)`` to ``out_dir`` and
    record who exported what (``audit.exported``: range, counts, manifest hash).

    The bundle also proves the final checkpoint consistent with every earlier export's final
    checkpoint and with the tree sizes in ``consistency_from`` (checkpoints an auditor kept),
    so ``ledger.verify --trusted-checkpoint`` ties it to what the auditor already holds."""
    final = _cosigned(
        _final_checkpoint(covering=seq_range(since=since, until=until, tree_size=None))
    )
    seqs = seq_range(since=since, until=until, tree_size=final.size)
    writer = _writer(out_dir, seqs, since=since, until=until)
    _write_entries(writer, out_dir, seqs)
    _write_checkpoints(writer, seqs, final)
    _write_earlier_heads(writer, final, sizes=[*_earlier_export_sizes(), *consistency_from])
    _write_keys(writer)
    end_proof = _consistency(seqs.end_size, final.size)
    manifest = writer.finish(checkpoint_note(final), end_proof=end_proof)
    digest = hashlib.sha256(manifest.read_bytes()).hexdigest()
    exported = Exported(out_dir, seqs, final.size, digest)
    _record(actor, exported, since=since, until=until)
    return exported


def seq_range(*, since: datetime, until: datetime, tree_size: int | None) -> SeqRange:
    """The contiguous seqs sequenced in ``[since, until)`` (within the first ``tree_size``
    entries, when given)."""
    log = (
        AuditEvent.objects.all()
        if tree_size is None
        else AuditEvent.objects.filter(seq__lt=tree_size)
    )
    window = log.filter(received_at__gte=since, received_at__lt=until).aggregate(
        first=Min("seq"), last=Max("seq")
    )
    if window["first"] is None:
        # Nothing in the period: an empty range placed where the period ends.
        after = log.filter(received_at__gte=until).aggregate(first=Min("seq"))["first"]
        first = after if after is not None else _size(log)
        return SeqRange(first, first - 1)
    return SeqRange(int(window["first"]), int(window["last"]))


def _size(log: QuerySet[AuditEvent]) -> int:
    highest = log.aggregate(highest=Max("seq"))["highest"]
    return 0 if highest is None else int(highest) + 1


def _final_checkpoint(*, covering: SeqRange) -> Checkpoint:
    """The newest checkpoint, once one covers the range's end: the signer signs at least
    every GATEHOUSE_LOG_CHECKPOINT_SECONDS, so this waits at most about that long. If none
    comes (no signer can run), the range is cut at the newest checkpoint instead."""
    deadline = time.monotonic() + settings.GATEHOUSE_LOG.checkpoint_seconds + FINAL_WAIT_SLACK_S
    while True:
        checkpoint_sign()
        final = Checkpoint.objects.order_by("-size").first()
        if final is not None and (final.size >= covering.end_size or time.monotonic() > deadline):
            return final
        if time.monotonic() > deadline:
            raise ExportError("the log has no signed checkpoint yet")
        time.sleep(CHECKPOINT_POLL_S)


def _cosigned(final: Checkpoint) -> Checkpoint:
    """``final`` once every configured witness cosigned it, or after COSIGNATURE_WAIT_S: a
    checkpoint signed a moment ago is still on its way to the witnesses, and an auditor
    wants the cosigned head. (Without witnesses, or past the wait, it goes as it is.)"""
    wanted = len(settings.GATEHOUSE_LOG.witnesses)
    deadline = time.monotonic() + COSIGNATURE_WAIT_S
    while wanted and time.monotonic() < deadline:
        if Cosignature.objects.filter(checkpoint=final).count() >= wanted:
            break
        time.sleep(CHECKPOINT_POLL_S)
    return Checkpoint.objects.prefetch_related("cosignatures").get(pk=final.pk)


def _writer(out_dir: Path, seqs: SeqRange, *, since: datetime, until: datetime) -> BundleWriter:
    return BundleWriter(
        out_dir,
        settings.GATEHOUSE_LOG.origin,
        log_signer(),
        first_seq=seqs.first,
        start_nodes=_nodes([(node.level, node.index) for node in root_nodes(seqs.first)]),
        since=rfc3339(since),
        until=rfc3339(until),
        generator="gatehouse audit_export",
    )


def _write_entries(writer: BundleWriter, out_dir: Path, seqs: SeqRange) -> None:
    csv_view, ocsf_view = CsvView(out_dir / CSV_NAME), OcsfView(out_dir / OCSF_NAME)
    try:
        for seq, leaf in leaves(seqs):
            writer.add_entry(seq, leaf.encode("utf-8"))
            document = json.loads(leaf)
            csv_view.add(document)
            ocsf_view.add(document)
    finally:
        csv_view.close()
        ocsf_view.close()
    writer.add_derived(CSV_NAME, out_dir / CSV_NAME)
    writer.add_derived(OCSF_NAME, out_dir / OCSF_NAME)


def leaves(seqs: SeqRange) -> Iterator[tuple[int, str]]:
    """``(seq, leaf)`` in seq order, fetched ``CHUNK`` at a time by keyset pagination (a
    server-side cursor would hold a transaction open for the whole export)."""
    next_seq = seqs.first
    while next_seq <= seqs.last:
        rows = list(
            AuditEvent.objects.filter(seq__gte=next_seq, seq__lte=seqs.last)
            .order_by("seq")
            .values_list("seq", "leaf")[:CHUNK]
        )
        if not rows:
            return
        yield from rows
        next_seq = rows[-1][0] + 1


def _write_checkpoints(writer: BundleWriter, seqs: SeqRange, final: Checkpoint) -> None:
    """Every checkpoint signed inside the range (the verifier checks each against the root
    it recomputes on the way); the final one is added by ``finish``."""
    inside = Checkpoint.objects.filter(size__gte=max(seqs.first, 1), size__lte=seqs.end_size)
    others = inside.exclude(pk=final.pk).prefetch_related("cosignatures").order_by("size")
    for checkpoint in others.iterator(chunk_size=CHUNK):  # up to one a second: stream them
        writer.add_checkpoint(checkpoint_note(checkpoint))


def _earlier_export_sizes() -> list[int]:
    """The final tree size of every earlier export (its ``audit.exported`` entry)."""
    payloads = AuditEvent.objects.filter(action=ExportAction.EXPORTED).values_list(
        "payload", flat=True
    )
    return [int(payload["tree_size"]) for payload in payloads if "tree_size" in payload]


def _write_earlier_heads(writer: BundleWriter, final: Checkpoint, *, sizes: list[int]) -> None:
    """A consistency proof from each earlier tree head (size and root, from the stored
    nodes) to the final checkpoint."""
    for size in sorted({size for size in sizes if 0 < size < final.size}):
        root = root_at(size, _nodes([(node.level, node.index) for node in root_nodes(size)]))
        writer.add_consistency_proof(size, root, final.size, _consistency(size, final.size))


def checkpoint_note(checkpoint: Checkpoint) -> str:
    """The signed note with its witnesses' cosignatures appended as extra signature lines."""
    lines = [cosignature.line.rstrip("\n") + "\n" for cosignature in checkpoint.cosignatures.all()]
    return checkpoint.note.rstrip("\n") + "\n" + "".join(lines)


def _write_keys(writer: BundleWriter) -> None:
    """The log's public keys, current and retired, with their windows; witness keys."""
    config = settings.GATEHOUSE_LOG
    listed = set()
    for key in LogKey.objects.order_by("created_at"):
        until = rfc3339(key.retired_at) if key.retired_at else None
        writer.add_key("log", key.vkey, valid_from=rfc3339(key.created_at), valid_until=until)
        listed.add(key.vkey)
    for retired in config.retired_keys:  # keys from before this database knew them
        if retired.vkey not in listed:
            writer.add_key("log", retired.vkey)
    for witness in config.witnesses:
        writer.add_key("witness", witness.verifier.vkey)


def _consistency(old_size: int, new_size: int) -> list[bytes]:
    if old_size in (0, new_size):
        return []
    coordinates = [(node.level, node.index) for node in consistency_nodes(old_size, new_size)]
    return consistency_proof(old_size, new_size, _nodes(coordinates))


def _nodes(coordinates: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    return nodes_fetch(coordinates)


def _record(actor: Any, exported: Exported, *, since: datetime, until: datetime) -> None:
    with transaction.atomic():
        audit_event_record(
            actor=actor,
            action=ExportAction.EXPORTED,
            payload={
                "since": rfc3339(since),
                "until": rfc3339(until),
                "first_seq": exported.seqs.first,
                "last_seq": exported.seqs.last,
                "count": exported.seqs.count,
                "tree_size": exported.tree_size,
                "manifest_sha256": exported.manifest_sha256,
            },
        )


class OcsfView:
    """``ocsf.jsonl`` written one entry at a time (constant memory, one pass)."""

    def __init__(self, path: Path) -> None:
        self._file: IO[str] = path.open("w", encoding="utf-8", newline="\n")
        self.count = 0

    def add(self, entry: Mapping[str, Any]) -> None:
        self._file.write(json.dumps(ocsf_event(entry), ensure_ascii=False, sort_keys=True))
        self._file.write("\n")
        self.count += 1

    def close(self) -> None:
        self._file.close()
