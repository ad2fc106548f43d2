"""C2SP tlog-cosignature/v1 (Ed25519): a witness's timestamped signature over a checkpoint.

A cosignature is a note signature line whose key ID uses signature type 0x04 and whose
signature bytes are ``timestamp (u64 big-endian) || Ed25519 signature`` over::

    cosignature/v1
    time <timestamp>
    <the checkpoint body, extension lines included>

`CosignatureSigner` / `CosignatureVerifier` plug into `ledger.note.sign_note` and
`open_note`, so one call checks a checkpoint's log signature and its cosignatures together.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from typing import ClassVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.note import (
    ED25519,
    SIGNATURE_PREFIX,
    InvalidSignatureError,
    MalformedNoteError,
    NoteSignature,
    Signer,
    UnknownKeyError,
    Verifier,
    check_text,
    decode_vkey,
    parse_signature_line,
)

COSIGNATURE_V1 = 0x04
MAX_TIMESTAMP = 2**63 - 1
_HEADER = b"cosignature/v1\n"
_SIGNATURE_SIZE = 8 + 64


def cosigned_message(checkpoint_body: str, timestamp: int) -> bytes:
    """The bytes a v1 cosignature signs: header line, time line, checkpoint body."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise ValueError(f"cosignature timestamp {timestamp} is outside 0..2**63-1")
    return _HEADER + b"time %d\n" % timestamp + checkpoint_body.encode("utf-8")


class CosignatureSigner(Signer):
    """A witness key as a note signer: each signature is stamped with ``clock()`` seconds."""

    SIGNATURE_TYPE: ClassVar[int] = COSIGNATURE_V1

    def __init__(
        self,
        name: str,
        private_key: Ed25519PrivateKey | bytes,
        clock: Callable[[], float] = _time.time,
    ) -> None:
        super().__init__(name, private_key)
        self._clock = clock

    def sign(self, text: bytes) -> bytes:
        return self.sign_at(text, int(self._clock()))

    def sign_at(self, text: bytes, timestamp: int) -> bytes:
        """``timestamp (8 bytes, big-endian) || Ed25519 signature`` over the cosigned message."""
        message = cosigned_message(text.decode("utf-8"), timestamp)
        return timestamp.to_bytes(8, "big") + self.private_key.sign(message)

    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self.name, self.public_key)


class CosignatureVerifier(Verifier):
    """Checks v1 cosignatures by one witness (name and Ed25519 public key)."""

    SIGNATURE_TYPE: ClassVar[int] = COSIGNATURE_V1

    def __init__(self, name: str, public_key: Ed25519PublicKey | bytes) -> None:
        super().__init__(name, public_key)

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != _SIGNATURE_SIZE:
            return False
        timestamp = int.from_bytes(signature[:8], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        message = cosigned_message(text.decode("utf-8"), timestamp)
        return self._verify_ed25519(message, signature[8:])


def verifier_from_vkey(vkey: str) -> Verifier:
    """A log key (type 0x01) or a witness key (type 0x04) from its vkey."""
    _, signature_type, _ = decode_vkey(vkey)
    if signature_type == ED25519:
        return Verifier.from_vkey(vkey)
    if signature_type == COSIGNATURE_V1:
        return CosignatureVerifier.from_vkey(vkey)
    raise MalformedNoteError(f"vkey signature type {signature_type:#04x} is not supported")


def cosign(checkpoint_body: str, signer: Signer, time: int) -> str:
    """The cosignature line (``— <name> <base64>\\n``) by ``signer``'s key at ``time``.

    A plain `ledger.note.Signer` is used as the same name and key under type 0x04.
    """
    check_text(checkpoint_body)
    cosigner = (
        signer
        if isinstance(signer, CosignatureSigner)
        else CosignatureSigner(signer.name, signer.private_key)
    )
    signature = cosigner.sign_at(checkpoint_body.encode("utf-8"), time)
    return NoteSignature(cosigner.name, cosigner.key_id, signature).line()


def verify_cosignature(
    checkpoint_body: str, signature_line: str, verifier: CosignatureVerifier
) -> int:
    """Check one cosignature line over ``checkpoint_body``; return its timestamp.

    Raises `UnknownKeyError` when the line is by another key, `InvalidSignatureError` when it
    does not verify, `MalformedNoteError` when it is not a signature line.
    """
    line = signature_line.removesuffix("\n")
    if not line.startswith(SIGNATURE_PREFIX):
        raise MalformedNoteError("cosignature line does not start with an em dash and a space")
    parsed = parse_signature_line(line)
    if (parsed.name, parsed.key_id) != (verifier.name, verifier.key_id):
        raise UnknownKeyError(f"cosignature by {parsed.name!r} is not from {verifier.name!r}")
    if not verifier.verify(checkpoint_body.encode("utf-8"), parsed.signature):
        raise InvalidSignatureError(f"cosignature by {parsed.name!r} does not verify")
    return int.from_bytes(parsed.signature[:8], "big")


def cosignature_time(signature: NoteSignature) -> int:
    """The timestamp a (verified) v1 cosignature carries."""
    if len(signature.signature) != _SIGNATURE_SIZE:
        raise MalformedNoteError(f"signature by {signature.name!r} is not a v1 cosignature")
    return int.from_bytes(signature.signature[:8], "big")
