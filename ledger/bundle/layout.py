"""Names and small encodings shared by the bundle writer and reader (format 1, FORMAT.md)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

FORMAT = 1

MANIFEST = "manifest.json"
MANIFEST_SIG = "manifest.json.sig"
ENTRIES = "entries.jsonl"
CHECKPOINTS = "checkpoints.txt"
PROOFS = "proofs.json"
CONSISTENCY = "consistency.jsonl"
KEYS = "keys.txt"

# The first line keeps a manifest signature apart from checkpoint signatures by the same key.
MANIFEST_NOTE_HEADER = "gatehouse.bundle/v1"

KEY_ROLES = ("log", "witness")


class BundleError(Exception):
    """The bundle is malformed: a file is missing, unreadable or not in format 1."""


def manifest_note_text(manifest_sha256_hex: str) -> str:
    """The text the log key signs for a manifest with this SHA-256."""
    return f"{MANIFEST_NOTE_HEADER}\nsha256 {manifest_sha256_hex}\n"


def entry_line(seq: int, leaf_hash: bytes, leaf: bytes) -> bytes:
    """One entries.jsonl line; the leaf bytes are carried verbatim as a JSON string."""
    leaf_json = json.dumps(leaf.decode("utf-8"), ensure_ascii=False)
    return f'{{"seq":{seq},"leaf_hash":"{leaf_hash.hex()}","leaf":{leaf_json}}}\n'.encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: object, *, length: int = 32) -> bytes:
    """Strict base64 of a hash of the given length; BundleError otherwise."""
    if not isinstance(text, str):
        raise BundleError(f"expected a base64 string, got {type(text).__name__}")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BundleError(f"bad base64 {text!r}") from exc
    if len(raw) != length:
        raise BundleError(f"expected {length} bytes, got {len(raw)}")
    return raw


@dataclass(frozen=True)
class KeyRecord:
    """One keys.txt line: a vkey with its role and (for log keys) its validity window."""

    role: str
    vkey: str
    valid_from: str | None = None
    valid_until: str | None = None

    def line(self) -> str:
        window = f"from={self.valid_from or '-'} until={self.valid_until or '-'}"
        return f"{self.role} {self.vkey} {window}\n"

    @classmethod
    def parse(cls, line: str) -> KeyRecord:
        parts = line.split()
        if len(parts) < 2 or parts[0] not in KEY_ROLES:
            raise BundleError(f"bad keys.txt line {line!r}")
        window = dict(_window_field(part) for part in parts[2:])
        return cls(parts[0], parts[1], window.get("from"), window.get("until"))


def _window_field(part: str) -> tuple[str, str | None]:
    name, sep, value = part.partition("=")
    if not sep or name not in ("from", "until"):
        raise BundleError(f"bad keys.txt field {part!r}")
    return name, None if value == "-" else value
