"""Tampering with a bundle on disk, the way an attacker or a bad copy would."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ledger.bundle.layout import manifest_note_text
from ledger.canonical import canonical_json
from ledger.note import Signer, sign_note


def entry_lines(bundle: Path) -> list[bytes]:
    return (bundle / "entries.jsonl").read_bytes().splitlines(keepends=True)


def write_entry_lines(bundle: Path, lines: list[bytes]) -> None:
    (bundle / "entries.jsonl").write_bytes(b"".join(lines))


def replace_in_line(bundle: Path, index: int, old: bytes, new: bytes) -> None:
    lines = entry_lines(bundle)
    assert old in lines[index]
    lines[index] = lines[index].replace(old, new, 1)
    write_entry_lines(bundle, lines)


def resign_manifest(bundle: Path, signer: Signer) -> None:
    """What a log operator holding the key could do: re-hash every file and re-sign."""
    manifest = json.loads((bundle / "manifest.json").read_bytes())
    for name, listed in manifest["files"].items():
        data = (bundle / name).read_bytes()
        listed.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    encoded = canonical_json(manifest)
    (bundle / "manifest.json").write_bytes(encoded)
    note = sign_note(manifest_note_text(hashlib.sha256(encoded).hexdigest()), [signer])
    (bundle / "manifest.json.sig").write_text(note)
