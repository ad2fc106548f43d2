"""The witness's own Ed25519 key (a Go-style note signer key file) and the logs it trusts."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.cosignature import COSIGNATURE_V1, CosignatureSigner
from ledger.note import NoteVerifier, Verifier, check_key_name


def load_key(path: Path) -> CosignatureSigner:
    """Read `PRIVATE+KEY+<name>+<hex id>+<base64(0x04 || seed)>`; owner-only file."""
    if path.stat().st_mode & 0o077:
        raise PermissionError(f"{path} must be readable by its owner only (chmod 600)")
    return CosignatureSigner.from_skey(path.read_text(encoding="ascii").strip())


def create_key(path: Path, name: str) -> CosignatureSigner:
    """Generate a witness key into a new file with mode 0600 (never overwrites)."""
    signer = CosignatureSigner(check_key_name(name), Ed25519PrivateKey.generate())
    seed = signer.private_key.private_bytes_raw()
    encoded = base64.b64encode(bytes([COSIGNATURE_V1]) + seed).decode()
    skey = f"PRIVATE+KEY+{name}+{signer.key_id.hex()}+{encoded}\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(skey)
    return signer


def parse_log_vkey(value: str) -> tuple[str, NoteVerifier]:
    """`[<origin>=]<vkey>`: the origin defaults to the key name (vkeys never contain '=')."""
    origin, separator, vkey = value.rpartition("=")
    verifier = Verifier.from_vkey(vkey)
    return (origin if separator else verifier.name), verifier
