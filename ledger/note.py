"""C2SP signed-note (Ed25519): the envelope of every checkpoint and bundle manifest.

A signed note is a text ending in a newline, a blank line, and signature lines
``— <key name> <base64(key ID || signature)>``. The key ID is the first four bytes of
SHA-256(key name || 0x0A || signature type || public key). Verifier keys ("vkeys") travel as
``<name>+<hex key ID>+<base64(signature type || public key)>``.

Stricter than the Go reference where the spec allows it, because a verifier here decides
security questions: duplicate signature lines (same name and key ID) make the whole note
malformed instead of being skipped, and a note over `MAX_NOTE_BYTES` or `MAX_SIGNATURES` is
refused before any signature is checked. As the spec requires, signatures from unknown keys
are ignored, a known key whose signature fails rejects the note, and a note with no verified
known signature is rejected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol, Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
MAX_NOTE_BYTES = 1 << 20
MAX_SIGNATURES = 100  # the spec asks for at least 16; post-quantum lines can be ~5 kB each

# Any ASCII control character but newline, and any Unicode space (names only).
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_NAME_FORBIDDEN = re.compile(r"[\s+]")  # \s is Unicode-aware on str: every Unicode space
_HEX_KEY_ID = re.compile(r"[0-9a-f]{8}", re.ASCII)


class NoteError(ValueError):
    """A note could not be opened; subclasses say why."""


class MalformedNoteError(NoteError):
    """Not a well-formed signed note (syntax, size, duplicates, bad key name or encoding)."""


class UnknownKeyError(NoteError):
    """No signature in the note is from a key the caller trusts."""


class InvalidSignatureError(NoteError):
    """A signature from a trusted key does not verify: the note is rejected whole."""


class NoteSigner(Protocol):
    """What `sign_note` needs: a key name, its key ID and a signature over the note text."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def sign(self, text: bytes) -> bytes: ...


class NoteVerifier(Protocol):
    """What `open_note` needs to recognise and check one key's signature."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def verify(self, text: bytes, signature: bytes) -> bool: ...


def key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    """The 4-byte key ID: SHA-256(name || 0x0A || signature type || public key)[:4]."""
    material = name.encode("utf-8") + b"\n" + bytes([signature_type]) + public_key
    return hashlib.sha256(material).digest()[:4]


def check_key_name(name: str) -> str:
    """Key names are non-empty and hold no Unicode space and no ``+``."""
    if not name or _NAME_FORBIDDEN.search(name) or _CONTROL.search(name):
        raise MalformedNoteError(f"key name {name!r} is empty or holds a space or '+'")
    return name


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


class Signer:
    """An Ed25519 note signer (signature type 0x01) under a key name.

    Subclasses change `SIGNATURE_TYPE` and what is signed (see `ledger.cosignature`).
    """

    SIGNATURE_TYPE: ClassVar[int] = ED25519

    def __init__(self, name: str, private_key: Ed25519PrivateKey | bytes) -> None:
        self._name = check_key_name(name)
        if isinstance(private_key, bytes):
            private_key = Ed25519PrivateKey.from_private_bytes(private_key)
        self._private_key = private_key
        self._public = _raw_public(private_key.public_key())
        self._key_id = key_id(name, self.SIGNATURE_TYPE, self._public)

    @classmethod
    def generate(cls, name: str) -> Self:
        """A signer with a fresh random key (tests, first start of a witness)."""
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> Self:
        """Parse a Go-style ``PRIVATE+KEY+<name>+<hex id>+<base64(type || seed)>`` string."""
        parts = skey.split("+", 4)  # base64 may itself hold "+"
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise MalformedNoteError("signer key is not PRIVATE+KEY+name+id+key")
        raw = _b64decode(parts[4], "signer key")
        if len(raw) != 33 or raw[0] != cls.SIGNATURE_TYPE:
            raise MalformedNoteError("signer key is not an Ed25519 seed of the expected type")
        signer = cls(parts[2], raw[1:])
        if signer.key_id.hex() != parts[3]:
            raise MalformedNoteError("signer key ID does not match its name and key")
        return signer

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> bytes:
        return self._key_id

    @property
    def private_key(self) -> Ed25519PrivateKey:
        return self._private_key

    @property
    def public_key(self) -> bytes:
        """The 32-byte raw Ed25519 public key."""
        return self._public

    def sign(self, text: bytes) -> bytes:
        """The signature bytes (after the key ID) over the note text."""
        return self._private_key.sign(text)

    def verifier(self) -> Verifier:
        return Verifier(self._name, self._public)

    def __repr__(self) -> str:  # never the private key
        return f"{type(self).__name__}({self._name!r}, key_id={self._key_id.hex()})"


class Verifier:
    """An Ed25519 note verifier (signature type 0x01) for one key name and public key."""

    SIGNATURE_TYPE: ClassVar[int] = ED25519

    def __init__(self, name: str, public_key: Ed25519PublicKey | bytes) -> None:
        self._name = check_key_name(name)
        if isinstance(public_key, Ed25519PublicKey):
            public_key = _raw_public(public_key)
        if len(public_key) != 32:
            raise MalformedNoteError("an Ed25519 public key is 32 bytes")
        self._public = bytes(public_key)
        self._key = Ed25519PublicKey.from_public_bytes(self._public)
        self._key_id = key_id(name, self.SIGNATURE_TYPE, self._public)

    @classmethod
    def from_vkey(cls, vkey: str) -> Self:
        """Parse ``<name>+<hex key ID>+<base64(type || public key)>``; the type must match."""
        name, signature_type, public = decode_vkey(vkey)
        if signature_type != cls.SIGNATURE_TYPE:
            raise MalformedNoteError(
                f"vkey {name!r} has signature type {signature_type:#04x}, "
                f"expected {cls.SIGNATURE_TYPE:#04x}"
            )
        return cls(name, public)

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> bytes:
        return self._key_id

    @property
    def public_key(self) -> bytes:
        return self._public

    @property
    def vkey(self) -> str:
        material = base64.b64encode(bytes([self.SIGNATURE_TYPE]) + self._public).decode()
        return f"{self._name}+{self._key_id.hex()}+{material}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        return self._verify_ed25519(text, signature)

    def _verify_ed25519(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.vkey!r})"


def decode_vkey(vkey: str) -> tuple[str, int, bytes]:
    """Split and check a vkey: (name, signature type, public key); the key ID must match."""
    name, _, rest = vkey.strip().partition("+")
    hex_id, _, material = rest.partition("+")
    check_key_name(name)
    if not _HEX_KEY_ID.fullmatch(hex_id):
        raise MalformedNoteError(f"vkey {name!r} key ID is not 8 lowercase hex digits")
    raw = _b64decode(material, "vkey")
    if len(raw) < 2:
        raise MalformedNoteError(f"vkey {name!r} has no key material")
    if key_id(name, raw[0], raw[1:]).hex() != hex_id:
        raise MalformedNoteError(f"vkey {name!r} key ID does not match its name and key")
    return name, raw[0], raw[1:]


def _b64decode(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise MalformedNoteError(f"{what} is not valid base64") from error
    if base64.b64encode(raw).decode() != text:  # one encoding per value: no trailing bits
        raise MalformedNoteError(f"{what} is not canonical base64")
    return raw


# --- notes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    """One parsed signature line (not yet verified)."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        encoded = base64.b64encode(self.key_id + self.signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {encoded}\n"


@dataclass(frozen=True)
class Note:
    """A parsed signed note: the text (with its final newline) and its signature lines."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def render(self) -> str:
        return self.text + "\n" + "".join(signature.line() for signature in self.signatures)


def check_text(text: str) -> None:
    """A note text is non-empty UTF-8 ending in a newline with no control characters."""
    if not text.endswith("\n"):
        raise MalformedNoteError("note text must end with a newline")
    if _CONTROL.search(text):
        raise MalformedNoteError("note text holds an ASCII control character")
    _utf8(text)


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise MalformedNoteError("note is not valid UTF-8") from error


def sign_note(text: str, signers: Iterable[NoteSigner]) -> str:
    """Sign ``text`` with each signer, in order; returns the signed note."""
    check_text(text)
    message = _utf8(text)
    signatures = tuple(
        NoteSignature(signer.name, signer.key_id, signer.sign(message)) for signer in signers
    )
    if not signatures:
        raise ValueError("a signed note needs at least one signer")
    note = Note(text, signatures)
    _check_unique(note.signatures)
    return note.render()


def add_signatures(note: str, lines: Iterable[str]) -> str:
    """Append signature lines (e.g. cosignatures) to a note, dropping exact duplicates."""
    parsed = parse_note(note)
    extra = [parse_signature_line(line.rstrip("\n")) for line in lines]
    merged = list(parsed.signatures)
    for signature in extra:
        if signature not in merged:
            merged.append(signature)
    combined = Note(parsed.text, tuple(merged))
    _check_unique(combined.signatures)
    return combined.render()


def parse_note(note: str | bytes) -> Note:
    """Parse a signed note's syntax (no verification); raise `MalformedNoteError`."""
    if len(note) > MAX_NOTE_BYTES:
        raise MalformedNoteError(f"note is larger than {MAX_NOTE_BYTES} bytes")
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as error:
            raise MalformedNoteError("note is not valid UTF-8") from error
    if len(_utf8(note)) > MAX_NOTE_BYTES:
        raise MalformedNoteError(f"note is larger than {MAX_NOTE_BYTES} bytes")
    if _CONTROL.search(note):
        raise MalformedNoteError("note holds an ASCII control character")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise MalformedNoteError("note has no blank line before signatures or no final newline")
    lines = note[split + 2 : -1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError(f"note has more than {MAX_SIGNATURES} signatures")
    signatures = tuple(parse_signature_line(line) for line in lines)
    _check_unique(signatures)
    return Note(note[: split + 1], signatures)


def parse_signature_line(line: str) -> NoteSignature:
    """Parse ``— <name> <base64(key ID || signature)>`` (without its newline)."""
    if not line.startswith(SIGNATURE_PREFIX):
        raise MalformedNoteError("signature line does not start with an em dash and a space")
    name, space, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not space:
        raise MalformedNoteError("signature line has no signature")
    check_key_name(name)
    raw = _b64decode(encoded, f"signature by {name!r}")
    if len(raw) < 5:
        raise MalformedNoteError(f"signature by {name!r} is too short")
    return NoteSignature(name, raw[:4], raw[4:])


def _check_unique(signatures: Sequence[NoteSignature]) -> None:
    seen: set[tuple[str, bytes]] = set()
    for signature in signatures:
        key = (signature.name, signature.key_id)
        if key in seen:
            raise MalformedNoteError(f"two signatures by the same key {signature.name!r}")
        seen.add(key)


def open_note(note: str | bytes, verifiers: Iterable[NoteVerifier]) -> tuple[str, list[str]]:
    """Verify ``note``; return its text and the names of the known keys that signed it.

    Signatures from unknown keys are ignored; a failing known key raises
    `InvalidSignatureError`; no known signature at all raises `UnknownKeyError`.
    """
    parsed = parse_note(note)
    known = {(verifier.name, verifier.key_id): verifier for verifier in verifiers}
    message = parsed.text.encode("utf-8")
    verified: list[str] = []
    for signature in parsed.signatures:
        verifier = known.get((signature.name, signature.key_id))
        if verifier is None:
            continue
        if not verifier.verify(message, signature.signature):
            raise InvalidSignatureError(f"signature by {signature.name!r} does not verify")
        verified.append(signature.name)
    if not verified:
        raise UnknownKeyError("no signature from a known key")
    return parsed.text, verified
