"""Read an export bundle (format 1). Parses; trusts nothing: `ledger.verify` does the checking.

Only format 1 exists, so there is no upgrade path yet: any other `format` is refused with
`UnsupportedFormat` (a future reader upgrades format 1 here, in one place).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.bundle import layout
from ledger.bundle.layout import BundleError, KeyRecord

MAX_SMALL_FILE = 64 << 20  # manifest, proofs, keys: never this big in a real bundle


class UnsupportedFormat(BundleError):
    """The manifest names a bundle format this reader does not know."""


@dataclass(frozen=True)
class Entry:
    """One entries.jsonl line: its position in the file, the seq it claims, its leaf."""

    line_number: int
    seq: int
    leaf: bytes
    recorded_leaf_hash: bytes | None


@dataclass(frozen=True)
class ConsistencyRecord:
    old_size: int
    old_root: bytes
    new_size: int
    proof: list[bytes]


@dataclass(frozen=True)
class RangeProof:
    start_size: int
    start_nodes: dict[tuple[int, int], bytes]
    end_size: int
    tree_size: int
    end_consistency: list[bytes]


class BundleReader:
    """A bundle directory. Construction reads and format-checks the manifest only."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise BundleError(f"{self.path} is not a bundle directory")
        self.manifest_bytes = self._read_small(layout.MANIFEST)
        self.manifest = _parse_manifest(self.manifest_bytes)

    @property
    def origin(self) -> str:
        return str(self.manifest["origin"])

    @property
    def range(self) -> dict[str, Any]:
        return dict(self.manifest["range"])

    @property
    def final_checkpoint_note(self) -> str:
        return str(self.manifest["final_checkpoint"])

    def manifest_signature(self) -> str:
        return self._read_small(layout.MANIFEST_SIG).decode("utf-8")

    def listed_files(self) -> dict[str, dict[str, Any]]:
        """name -> {"sha256", "size"} as the manifest lists them."""
        files = self.manifest.get("files")
        if not isinstance(files, dict):
            raise BundleError("manifest has no files table")
        return files

    def file_digest(self, name: str) -> tuple[str, int]:
        """SHA-256 hex and byte size of a bundle file as it is on disk."""
        sha, size = hashlib.sha256(), 0
        with self._open(name) as handle:
            while chunk := handle.read(1 << 20):
                sha.update(chunk)
                size += len(chunk)
        return sha.hexdigest(), size

    def entries_size(self) -> int:
        return (self.path / layout.ENTRIES).stat().st_size

    def entry_lines(self) -> Iterator[bytes]:
        """Raw entries.jsonl lines, streamed (parse each with `parse_entry_line`)."""
        with self._open(layout.ENTRIES) as handle:
            yield from handle

    def checkpoint_notes(self) -> list[str]:
        """Every signed note in checkpoints.txt, in file order."""
        text = self._read_small(layout.CHECKPOINTS).decode("utf-8")
        return split_notes(text)

    def range_proof(self) -> RangeProof:
        doc = _json_object(self._read_small(layout.PROOFS), layout.PROOFS)
        try:
            start, end = doc["start"], doc["end"]
            nodes = {(int(lvl), int(idx)): layout.unb64(h) for lvl, idx, h in start["nodes"]}
            proof = [layout.unb64(h) for h in end["consistency"]]
            return RangeProof(
                int(start["size"]), nodes, int(end["size"]), int(end["tree_size"]), proof
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"{layout.PROOFS}: malformed ({exc})") from exc

    def consistency_records(self) -> list[ConsistencyRecord]:
        return [
            _consistency(line)
            for line in self._read_small(layout.CONSISTENCY).splitlines()
            if line.strip()
        ]

    def keys(self) -> list[KeyRecord]:
        text = self._read_small(layout.KEYS).decode("utf-8")
        return [KeyRecord.parse(line) for line in text.splitlines() if line.strip()]

    def _open(self, name: str) -> Any:
        try:
            return (self.path / name).open("rb")
        except OSError as exc:
            raise BundleError(f"cannot read {name}: {exc.strerror}") from exc

    def _read_small(self, name: str) -> bytes:
        with self._open(name) as handle:
            data: bytes = handle.read(MAX_SMALL_FILE + 1)
        if len(data) > MAX_SMALL_FILE:
            raise BundleError(f"{name} is larger than {MAX_SMALL_FILE} bytes")
        return data


def parse_entry_line(raw: bytes, line_number: int) -> Entry:
    """Parse one entries.jsonl line; BundleError says what is wrong with it."""
    try:
        doc = json.loads(raw)
        seq, leaf = doc["seq"], doc["leaf"]
        recorded = doc.get("leaf_hash")
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"line {line_number} is not an entry object: {exc}") from exc
    if type(seq) is not int or not isinstance(leaf, str):
        raise BundleError(f"line {line_number}: seq must be an integer and leaf a string")
    return Entry(line_number, seq, leaf.encode("utf-8"), _recorded_hash(recorded, line_number))


def split_notes(text: str) -> list[str]:
    """Split concatenated signed notes (text, blank line, signature lines, blank line)."""
    notes: list[str] = []
    current: list[str] = []
    in_signatures = False
    for line in text.splitlines(keepends=True):
        if line == "\n" and in_signatures:
            notes.append("".join(current))
            current, in_signatures = [], False
            continue
        in_signatures = in_signatures or (line.startswith("\u2014 ") and current[-1:] == ["\n"])
        current.append(line)
    if any(line.strip() for line in current):
        notes.append("".join(current))
    return notes


def _recorded_hash(value: object, line_number: int) -> bytes | None:
    if value is None:
        return None
    try:
        return bytes.fromhex(str(value))
    except ValueError as exc:
        raise BundleError(f"line {line_number}: leaf_hash is not hex") from exc


def _parse_manifest(data: bytes) -> dict[str, Any]:
    manifest = _json_object(data, layout.MANIFEST)
    version = manifest.get("format")
    if version != layout.FORMAT:
        raise UnsupportedFormat(
            f"bundle format {version!r} is not supported (this reader knows format {layout.FORMAT})"
        )
    for field in ("origin", "range", "files", "final_checkpoint", "tree"):
        if field not in manifest:
            raise BundleError(f"{layout.MANIFEST}: missing {field!r}")
    return manifest


def _json_object(data: bytes, name: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise BundleError(f"{name} is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise BundleError(f"{name} is not a JSON object")
    return doc


def _consistency(line: bytes) -> ConsistencyRecord:
    try:
        doc = json.loads(line)
        old = doc["old"]
        proof = [layout.unb64(h) for h in doc["proof"]]
        return ConsistencyRecord(
            int(old["size"]), layout.unb64(old["root"]), int(doc["new"]), proof
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{layout.CONSISTENCY}: malformed line ({exc})") from exc
