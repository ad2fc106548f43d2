"""C2SP tlog-checkpoint: the signed statement "the log of <origin> has <size> leaves and
this root hash".

The body is ``origin\\nsize\\nbase64(root)\\n`` plus optional extension lines, each non-empty.
Parsing is strict (one accepted spelling per checkpoint): decimal size without leading zeros,
canonical standard base64 of exactly 32 bytes, no empty lines, final newline required.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ledger.merkle import HASH_SIZE
from ledger.note import NoteSigner, NoteVerifier, open_note, sign_note

MAX_TREE_SIZE = 2**63 - 1
_SIZE = re.compile(r"0|[1-9][0-9]*", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f]")


class CheckpointError(ValueError):
    """Not a well-formed checkpoint body."""


@dataclass(frozen=True)
class Checkpoint:
    """A tree head for one log (``origin``) at ``size`` leaves."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"tree size {self.size} is outside 0..2**63-1")
        if len(self.root_hash) != HASH_SIZE:
            raise CheckpointError(f"root hash is {len(self.root_hash)} bytes, not {HASH_SIZE}")
        for line in self.extensions:
            _check_line(line, "extension line")

    def body(self) -> str:
        """The note text: origin, size, base64 root hash and extension lines, each ending \\n."""
        root = base64.b64encode(self.root_hash).decode()
        return "".join(
            f"{line}\n" for line in (self.origin, str(self.size), root, *self.extensions)
        )

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint body (the note text, not the signed note)."""
        if not text.endswith("\n"):
            raise CheckpointError("checkpoint must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("checkpoint needs origin, size and root hash lines")
        origin, size, root, *extensions = lines
        if not _SIZE.fullmatch(size):
            raise CheckpointError(f"tree size {size!r} is not a decimal without leading zeros")
        return cls(origin, int(size), _decode_root(root), tuple(extensions))


def _check_line(line: str, what: str) -> None:
    if not line:
        raise CheckpointError(f"{what} is empty")
    if _CONTROL.search(line):
        raise CheckpointError(f"{what} holds a newline or control character")


def _decode_root(text: str) -> bytes:
    try:
        root = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise CheckpointError("root hash is not valid base64") from error
    if base64.b64encode(root).decode() != text:
        raise CheckpointError("root hash is not canonical base64")
    if len(root) != HASH_SIZE:
        raise CheckpointError(f"root hash is {len(root)} bytes, not {HASH_SIZE}")
    return root


def sign_checkpoint(checkpoint: Checkpoint, signers: Iterable[NoteSigner]) -> str:
    """The signed checkpoint note."""
    return sign_note(checkpoint.body(), signers)


def open_checkpoint(
    note: str | bytes, verifiers: Iterable[NoteVerifier]
) -> tuple[Checkpoint, list[str]]:
    """Verify a signed checkpoint note and parse its body; returns the verified key names."""
    text, names = open_note(note, verifiers)
    return Checkpoint.parse(text), names
