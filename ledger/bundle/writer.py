"""Write an export bundle (format 1) by streaming: constant memory for millions of entries.

The control plane's `audit_export` feeds entries in seq order, the checkpoints of the range,
consistency proofs for checkpoints outside the range, the keys, and derived views; `finish`
checks the entries really lead to the final checkpoint before signing the manifest, so a bad
export fails at the source instead of at the auditor's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from ledger.bundle import layout
from ledger.bundle.layout import BundleError, KeyRecord
from ledger.canonical import canonical_json
from ledger.checkpoint import Checkpoint
from ledger.merkle import Frontier, leaf_hash, root_nodes, verify_consistency
from ledger.note import Signer, parse_note, sign_note

GENERATOR = "gatehouse ledger.bundle"


class _HashedFile:
    """A file written once, front to back, hashing as it goes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO = path.open("wb", buffering=1 << 20)
        self._sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._sha.update(data)
        self.size += len(data)

    def close(self) -> dict[str, object]:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        return {"sha256": self._sha.hexdigest(), "size": self.size}


class BundleWriter:
    """Streams one bundle into `out_dir` (created if missing, must hold no earlier bundle).

    `first_seq` and `start_nodes` (the frontier of the log just before the first entry: the
    hashes at `ledger.merkle.root_nodes(first_seq)`) are needed when the range does not start at 0.
    """

    def __init__(
        self,
        out_dir: str | os.PathLike[str],
        origin: str,
        signer: Signer,
        *,
        first_seq: int = 0,
        start_nodes: Mapping[tuple[int, int], bytes] | None = None,
        since: str | None = None,
        until: str | None = None,
        generator: str = GENERATOR,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if (self.out_dir / layout.MANIFEST).exists():
            raise BundleError(f"{self.out_dir} already holds a bundle")
        self.origin, self._signer, self._generator = origin, signer, generator
        self._range = {"since": since, "until": until, "first_seq": first_seq}
        self._start = [
            [lvl, idx, layout.b64(hash_)] for (lvl, idx), hash_ in _start(first_seq, start_nodes)
        ]
        self._frontier = Frontier.from_nodes(first_seq, dict(_start(first_seq, start_nodes)))
        self._next_seq = first_seq
        self._entries = _HashedFile(self.out_dir / layout.ENTRIES)
        self._checkpoints = _HashedFile(self.out_dir / layout.CHECKPOINTS)
        self._consistency = _HashedFile(self.out_dir / layout.CONSISTENCY)
        self._checkpoint_sizes: set[int] = set()
        self._proved_sizes: set[int] = set()
        self._keys: list[KeyRecord] = []
        self._derived: dict[str, dict[str, object]] = {}

    @property
    def end_size(self) -> int:
        """Tree size after the last entry: the exporter proves it consistent with the final."""
        return self._next_seq

    def add_entry(self, seq: int, leaf_bytes: bytes) -> None:
        """Append the entry at log index `seq` (right after the previous one), exact leaf bytes."""
        if seq != self._next_seq:
            raise BundleError(
                f"entries must be contiguous: expected seq {self._next_seq}, got {seq}"
            )
        hashed = leaf_hash(leaf_bytes)
        self._frontier.append(hashed)
        self._entries.write(layout.entry_line(seq, hashed, leaf_bytes))
        self._next_seq += 1

    def add_checkpoint(self, note: str) -> None:
        """Add a signed checkpoint note (cosignatures as extra signature lines) from the range."""
        checkpoint = self._own_checkpoint(note)
        self._checkpoint_sizes.add(checkpoint.size)
        self._checkpoints.write((note.rstrip("\n") + "\n\n").encode())

    def add_consistency_proof(
        self, old_size: int, old_root: bytes, new_size: int, proof: Sequence[bytes]
    ) -> None:
        """Add the consistency proof from an earlier tree head to the final checkpoint's size."""
        record = {
            "old": {"size": old_size, "root": layout.b64(old_root)},
            "new": new_size,
            "proof": [layout.b64(h) for h in proof],
        }
        self._consistency.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")
        self._proved_sizes.add(old_size)

    add_proof = add_consistency_proof

    def add_key(
        self, role: str, vkey: str, *, valid_from: str | None = None, valid_until: str | None = None
    ) -> None:
        """List a public key: role `log` (with its rotation window) or `witness`."""
        if role not in layout.KEY_ROLES:
            raise BundleError(f"key role must be one of {layout.KEY_ROLES}, not {role!r}")
        self._keys.append(KeyRecord(role, vkey, valid_from, valid_until))

    def add_derived(self, name: str, path: str | os.PathLike[str]) -> None:
        """Include a derived view (OCSF JSONL, CSV): copied in if written elsewhere, then hashed."""
        if "/" in name or name.startswith(".") or name in _CORE_FILES:
            raise BundleError(f"bad derived file name {name!r}")
        target = self.out_dir / name
        if Path(path).resolve() != target.resolve():
            shutil.copyfile(path, target)
        self._derived[name] = _file_digest(target)

    def finish(
        self,
        final_checkpoint_note: str,
        *,
        end_proof: Sequence[bytes] = (),
        created_at: str | None = None,
    ) -> Path:
        """Check the entries lead to the final checkpoint; write proofs, keys, signed manifest."""
        final = self._own_checkpoint(final_checkpoint_note)
        self._check_end(final, end_proof)
        self._check_every_checkpoint_provable(final)
        self.add_checkpoint(final_checkpoint_note)
        files = {
            layout.ENTRIES: self._entries.close(),
            layout.CHECKPOINTS: self._checkpoints.close(),
            layout.CONSISTENCY: self._consistency.close(),
            layout.PROOFS: self._write_small(
                layout.PROOFS, canonical_json(self._proofs(final, end_proof)) + b"\n"
            ),
            layout.KEYS: self._write_small(
                layout.KEYS, "".join(k.line() for k in self._keys).encode()
            ),
            **self._derived,
        }
        manifest = self._manifest(final, final_checkpoint_note, files, created_at)
        return self._sign_manifest(canonical_json(manifest))

    def _own_checkpoint(self, note: str) -> Checkpoint:
        checkpoint = Checkpoint.parse(parse_note(note).text)
        if checkpoint.origin != self.origin:
            raise BundleError(f"checkpoint origin {checkpoint.origin!r} is not {self.origin!r}")
        return checkpoint

    def _check_end(self, final: Checkpoint, end_proof: Sequence[bytes]) -> None:
        if final.size < self.end_size:
            raise BundleError(
                f"final checkpoint size {final.size} ends before seq {self.end_size - 1}"
            )
        if final.size == self.end_size and self._frontier.root() != final.root_hash:
            raise BundleError("the exported entries do not hash to the final checkpoint's root")
        if final.size > self.end_size:
            verify_consistency(
                self.end_size, final.size, self._frontier.root(), final.root_hash, list(end_proof)
            )

    def _check_every_checkpoint_provable(self, final: Checkpoint) -> None:
        first = int(self._range["first_seq"] or 0)
        for size in self._checkpoint_sizes:
            inside = first <= size <= self.end_size or size == final.size
            if not inside and size not in self._proved_sizes:
                raise BundleError(
                    f"checkpoint of size {size} is outside the range and has no consistency proof"
                )

    def _proofs(self, final: Checkpoint, end_proof: Sequence[bytes]) -> dict[str, object]:
        return {
            "start": {"size": self._range["first_seq"], "nodes": self._start},
            "end": {
                "size": self.end_size,
                "tree_size": final.size,
                "consistency": [layout.b64(h) for h in end_proof],
            },
        }

    def _manifest(
        self,
        final: Checkpoint,
        final_note: str,
        files: dict[str, dict[str, object]],
        created_at: str | None,
    ) -> dict[str, object]:
        first = int(self._range["first_seq"] or 0)
        return {
            "format": layout.FORMAT,
            "origin": self.origin,
            "generator": self._generator,
            "created_at": created_at or _now(),
            "range": {**self._range, "last_seq": self.end_size - 1, "count": self.end_size - first},
            "tree": {"size": final.size, "root": layout.b64(final.root_hash)},
            "final_checkpoint": final_note.rstrip("\n") + "\n",
            "files": files,
            "derived": sorted(self._derived),
        }

    def _write_small(self, name: str, data: bytes) -> dict[str, object]:
        handle = _HashedFile(self.out_dir / name)
        handle.write(data)
        return handle.close()

    def _sign_manifest(self, manifest: bytes) -> Path:
        signature = sign_note(
            layout.manifest_note_text(hashlib.sha256(manifest).hexdigest()), [self._signer]
        )
        self._write_small(layout.MANIFEST_SIG, signature.encode())
        # The manifest goes last: its presence marks a complete bundle.
        self._write_small(layout.MANIFEST, manifest)
        _fsync_dir(self.out_dir)
        return self.out_dir / layout.MANIFEST


_CORE_FILES = {
    layout.MANIFEST,
    layout.MANIFEST_SIG,
    layout.ENTRIES,
    layout.CHECKPOINTS,
    layout.PROOFS,
    layout.CONSISTENCY,
    layout.KEYS,
}


def _start(
    first_seq: int, nodes: Mapping[tuple[int, int], bytes] | None
) -> list[tuple[tuple[int, int], bytes]]:
    needed = [(node.level, node.index) for node in root_nodes(first_seq)]
    missing = [c for c in needed if nodes is None or c not in nodes]
    if missing:
        raise BundleError(f"a range starting at seq {first_seq} needs the frontier nodes {missing}")
    return [(c, nodes[c]) for c in needed] if nodes is not None else []


def _file_digest(path: Path) -> dict[str, object]:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            sha.update(chunk)
    return {"sha256": sha.hexdigest(), "size": path.stat().st_size}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
