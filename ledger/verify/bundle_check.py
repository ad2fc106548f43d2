"""Verify one bundle offline: signatures, file hashes, checkpoints, proofs, every entry.

Order matters only for which problem is named first: the manifest signature, the final
checkpoint and the others (equivocation), the trusted checkpoint, the streaming pass over
entries (which names the first bad entry), the end of the range against the final checkpoint,
and last the file hashes (so a changed file is named by its content problem when one is seen).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ledger.bundle import layout
from ledger.bundle.layout import BundleError
from ledger.bundle.reader import BundleReader, ConsistencyRecord, RangeProof
from ledger.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from ledger.merkle import Frontier, MissingNodeError, ProofError, verify_consistency
from ledger.note import NoteError, open_note
from ledger.verify.entries import EntryScan, RootCheck, ScanResult
from ledger.verify.report import Report
from ledger.verify.trust import Trust, trust_for

SMALL_FILES = (layout.KEYS, layout.CHECKPOINTS, layout.PROOFS, layout.CONSISTENCY)
Progress = Callable[[int, int], None]


@dataclass
class VerifyOptions:
    """What the auditor brings: their keys and the checkpoint they kept from earlier."""

    log_vkeys: list[str] = field(default_factory=list)
    witness_vkeys: list[str] = field(default_factory=list)
    trusted_checkpoint: str | None = None
    progress: Progress | None = None


def verify_bundle(path: str, options: VerifyOptions) -> Report:
    """Check everything; raises `BundleError` only when the bundle cannot be read at all."""
    started = time.monotonic()
    check = BundleCheck(BundleReader(path), options)
    check.run()
    check.report.seconds = time.monotonic() - started
    return check.report


class BundleCheck:
    """One verification run over one bundle, accumulating its `Report`."""

    def __init__(self, reader: BundleReader, options: VerifyOptions) -> None:
        self.reader, self.options, self.report = reader, options, Report()
        self.listed = reader.listed_files()
        self.trust: Trust = trust_for(
            self.report,
            log_vkeys=options.log_vkeys,
            witness_vkeys=options.witness_vkeys,
            bundle_keys=self._bundle_keys(),
        )
        self.root_checks: list[RootCheck] = []

    def run(self) -> None:
        self._manifest_signature()
        final = self._final_checkpoint()
        proof = self._range_proof(final)
        checkpoints = self._checkpoints(final, proof)
        records = self._consistency_records()
        self._prove_outside_range(checkpoints, final, proof, records)
        self._trusted_checkpoint(final, proof, records)
        scan = self._entries(proof)
        self._range_end(scan, final, proof)
        # Hashes last: a changed file is then named by what changed in it when that is known.
        for name in (*SMALL_FILES, *self.reader.manifest.get("derived", [])):
            self._file_hash(str(name))

    # --- manifest and files ---------------------------------------------------------------

    def _bundle_keys(self) -> list[layout.KeyRecord]:
        try:
            return self.reader.keys()
        except BundleError as error:
            self.report.fail(layout.KEYS, str(error))
            return []

    def _manifest_signature(self) -> None:
        digest = hashlib.sha256(self.reader.manifest_bytes).hexdigest()
        try:
            text, _ = open_note(self.reader.manifest_signature(), self.trust.log)
        except (NoteError, BundleError) as error:
            self.report.fail("manifest", f"signature does not verify: {error}")
            return
        if text != layout.manifest_note_text(digest):
            self.report.fail("manifest", "edited after signing: its SHA-256 is not the signed one")

    def _file_hash(self, name: str) -> None:
        listed = self.listed.get(name)
        if not isinstance(listed, dict):
            self.report.fail(f"file {name}", "not listed in the manifest")
            return
        try:
            digest, size = self.reader.file_digest(name)
        except BundleError as error:
            self.report.fail(f"file {name}", str(error))
            return
        self._compare_digest(name, listed, digest, size)

    def _compare_digest(self, name: str, listed: dict[str, object], digest: str, size: int) -> None:
        if listed.get("sha256") != digest or listed.get("size") != size:
            self.report.fail(
                f"file {name}", "SHA-256 or size differs from the manifest (file changed)"
            )

    # --- checkpoints ---------------------------------------------------------------------

    def _final_checkpoint(self) -> Checkpoint | None:
        final = self._open_checkpoint(self.reader.final_checkpoint_note, "final checkpoint")
        if final is None:
            return None
        tree = self.reader.manifest["tree"]
        if tree.get("size") != final.size or tree.get("root") != layout.b64(final.root_hash):
            self.report.fail("manifest", "tree size/root differ from the final checkpoint")
        self.report.tree_size, self.report.root = final.size, final.root_hash.hex()
        return final

    def _open_checkpoint(
        self, note: str, label: str, *, require_witnesses: bool = True
    ) -> Checkpoint | None:
        try:
            checkpoint, names = open_checkpoint(note, self.trust.all)
        except (NoteError, CheckpointError) as error:
            self.report.fail(label, f"signature does not verify: {error}")
            return None
        if not set(names) & {verifier.name for verifier in self.trust.log}:
            self.report.fail(label, "not signed by a log key (only by witnesses)")
            return None
        if checkpoint.origin != self.reader.origin:
            self.report.fail(
                label, f"origin {checkpoint.origin!r} is not the bundle's {self.reader.origin!r}"
            )
        self._witnesses(label, names, required=require_witnesses)
        return checkpoint

    def _witnesses(self, label: str, names: list[str], *, required: bool) -> None:
        for witness in self.trust.witnesses:
            if witness.name in names:
                if witness.name not in self.report.cosigned_by:
                    self.report.cosigned_by.append(witness.name)
            elif required:
                self.report.fail(label, f"no cosignature from witness {witness.name!r}")

    def _checkpoints(self, final: Checkpoint | None, proof: RangeProof | None) -> dict[int, bytes]:
        """Every checkpoint's root by size; two roots for one size is equivocation."""
        roots: dict[int, bytes] = {final.size: final.root_hash} if final else {}
        try:
            notes = self.reader.checkpoint_notes()
        except (BundleError, UnicodeDecodeError) as error:
            self.report.fail(f"file {layout.CHECKPOINTS}", f"unreadable: {error}")
            return roots
        for number, note in enumerate(notes, 1):
            checkpoint = self._open_checkpoint(
                note, f"checkpoint #{number}", require_witnesses=False
            )
            if checkpoint is not None:
                self._record_root(roots, checkpoint, number, proof)
        self.report.checkpoints = len(notes)
        return roots

    def _record_root(
        self, roots: dict[int, bytes], checkpoint: Checkpoint, number: int, proof: RangeProof | None
    ) -> None:
        seen = roots.setdefault(checkpoint.size, checkpoint.root_hash)
        if seen != checkpoint.root_hash:
            self.report.fail(
                f"checkpoint size={checkpoint.size}",
                f"equivocation: two signed roots for one size ({seen.hex()} and "
                f"{checkpoint.root_hash.hex()}, note #{number})",
                seq=checkpoint.size - 1,
            )
        elif proof is not None and proof.start_size <= checkpoint.size <= proof.end_size:
            self.root_checks.append(
                RootCheck(
                    checkpoint.size, checkpoint.root_hash, f"checkpoint size={checkpoint.size}"
                )
            )

    # --- proofs --------------------------------------------------------------------------

    def _range_proof(self, final: Checkpoint | None) -> RangeProof | None:
        try:
            proof = self.reader.range_proof()
        except BundleError as error:
            self.report.fail(f"file {layout.PROOFS}", str(error))
            return None
        span = self.reader.range
        if (
            proof.start_size != span.get("first_seq")
            or proof.end_size != span.get("last_seq", -2) + 1
        ):
            self.report.fail("manifest", "range first_seq/last_seq differ from the range proof")
        if final is not None and proof.tree_size != final.size:
            self.report.fail(f"file {layout.PROOFS}", "its tree size is not the final checkpoint's")
        return proof

    def _consistency_records(self) -> dict[int, ConsistencyRecord]:
        try:
            return {record.old_size: record for record in self.reader.consistency_records()}
        except BundleError as error:
            self.report.fail(f"file {layout.CONSISTENCY}", str(error))
            return {}

    def _prove_outside_range(
        self,
        roots: dict[int, bytes],
        final: Checkpoint | None,
        proof: RangeProof | None,
        records: dict[int, ConsistencyRecord],
    ) -> None:
        """Checkpoints the entries cannot recompute need a consistency proof to the final one."""
        if final is None or proof is None:
            return
        for size, root in sorted(roots.items()):
            if proof.start_size <= size <= proof.end_size or size == final.size:
                continue
            problem = self._consistent(size, root, final, records)
            if problem:
                self.report.fail(f"checkpoint size={size}", problem, seq=size - 1)

    def _consistent(
        self, size: int, root: bytes, final: Checkpoint, records: dict[int, ConsistencyRecord]
    ) -> str | None:
        """None when (size, root) is proved a prefix of the final tree, else why not."""
        if size > final.size:
            return f"newer than the final checkpoint (size {final.size}): cannot prove consistency"
        record = records.get(size)
        if record is None:
            return f"cannot prove consistency: the bundle has no consistency proof from size {size}"
        if record.old_root != root or record.new_size != final.size:
            return "the bundle's consistency proof is for another root or size (the log forked?)"
        try:
            verify_consistency(size, final.size, root, final.root_hash, record.proof)
        except ProofError as error:
            return f"not consistent with the final checkpoint: {error.reason}"
        return None

    def _trusted_checkpoint(
        self,
        final: Checkpoint | None,
        proof: RangeProof | None,
        records: dict[int, ConsistencyRecord],
    ) -> None:
        note = self.options.trusted_checkpoint
        if note is None or final is None or proof is None:
            return
        trusted = self._open_checkpoint(note, "trusted checkpoint", require_witnesses=False)
        if trusted is None:
            return
        self.report.trusted_checkpoint = f"size {trusted.size}, root {trusted.root_hash.hex()}"
        if trusted.size == final.size:
            if trusted.root_hash != final.root_hash:
                self.report.fail(
                    "trusted checkpoint",
                    "same size as the final checkpoint, different root (equivocation)",
                )
        elif proof.start_size <= trusted.size <= proof.end_size:
            self.root_checks.append(
                RootCheck(trusted.size, trusted.root_hash, "trusted checkpoint")
            )
        elif problem := self._consistent(trusted.size, trusted.root_hash, final, records):
            self.report.fail("trusted checkpoint", problem)

    # --- entries -------------------------------------------------------------------------

    def _entries(self, proof: RangeProof | None) -> ScanResult | None:
        if proof is None:
            return None
        try:
            frontier = Frontier.from_nodes(proof.start_size, proof.start_nodes)
        except (MissingNodeError, ValueError) as error:
            self.report.fail(f"file {layout.PROOFS}", f"start frontier incomplete: {error}")
            return None
        self.report.first_seq = proof.start_size
        scan = EntryScan(self.report, frontier, self.root_checks).run(
            self.reader.entry_lines(), self.options.progress
        )
        self.report.last_seq = scan.next_seq - 1
        return scan

    def _range_end(
        self, scan: ScanResult | None, final: Checkpoint | None, proof: RangeProof | None
    ) -> None:
        if scan is None or final is None or proof is None:
            return
        if scan.next_seq < proof.end_size:
            self.report.fail(
                f"entry seq={scan.next_seq}",
                f"missing: entries.jsonl ends at seq {scan.next_seq - 1}, "
                f"the range at seq {proof.end_size - 1}",
                seq=scan.next_seq,
            )
        elif scan.next_seq > proof.end_size:
            self.report.fail(
                f"entry seq={proof.end_size}",
                "beyond the range the manifest signs",
                seq=proof.end_size,
            )
        for check in scan.unreached:
            self.report.fail(
                check.label, f"not checked: the entries stop at tree size {scan.next_seq}"
            )
        self._end_root(scan, final, proof)
        self._compare_digest(
            layout.ENTRIES, self.listed.get(layout.ENTRIES) or {}, scan.file_sha256, scan.file_size
        )

    def _end_root(self, scan: ScanResult, final: Checkpoint, proof: RangeProof) -> None:
        try:
            verify_consistency(
                scan.frontier.size,
                final.size,
                scan.frontier.root(),
                final.root_hash,
                proof.end_consistency,
            )
        except ProofError as error:
            self.report.fail(
                "final checkpoint", f"the entries do not lead to its root: {error.reason}"
            )
