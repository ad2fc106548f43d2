"""C2SP tlog-cosignature/v1: the spec's message and line layout, witness keys in vkeys, and
checking a checkpoint's log signature and cosignatures in one `open_note`.

The spec's example cosignature does not publish the witness key, so its signature cannot be
checked here; its bytes still pin the layout (key ID, big-endian timestamp, 64-byte sig)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.cosignature import (
    COSIGNATURE_V1,
    CosignatureSigner,
    CosignatureVerifier,
    cosign,
    cosignature_time,
    cosigned_message,
    verifier_from_vkey,
    verify_cosignature,
)
from ledger.note import (
    InvalidSignatureError,
    MalformedNoteError,
    Signer,
    UnknownKeyError,
    Verifier,
    add_signatures,
    open_note,
    parse_note,
    parse_signature_line,
)

SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_LINE = (
    "\u2014 witness.example.com/w1 "
    "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2"
    "oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)
SPEC_TIME = 1679315147

LOG = Signer.generate("gatehouse.local/audit")
WITNESS_KEY = Ed25519PrivateKey.generate()
WITNESS = CosignatureSigner("witness.example/w1", WITNESS_KEY, clock=lambda: SPEC_TIME)
BODY = Checkpoint("gatehouse.local/audit", 7, hashlib.sha256(b"head").digest()).body()


def test_the_signed_message_is_the_spec_example() -> None:
    assert cosigned_message(SPEC_BODY, SPEC_TIME) == (
        b"cosignature/v1\ntime 1679315147\n"
        b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


def test_the_spec_example_line_has_key_id_timestamp_and_signature() -> None:
    signature = parse_signature_line(SPEC_LINE.rstrip("\n"))
    assert signature.name == "witness.example.com/w1"
    assert signature.key_id.hex() == "8d66cf3f"
    assert len(signature.signature) == 8 + 64
    assert cosignature_time(signature) == SPEC_TIME


def test_our_cosignature_is_an_ed25519_signature_over_the_spec_message_layout() -> None:
    line = cosign(BODY, WITNESS, SPEC_TIME)
    signature = parse_signature_line(line.rstrip("\n"))
    public = WITNESS_KEY.public_key()
    raw_public = WITNESS.public_key
    # Rebuilt by hand from the spec text, independent of cosigned_message():
    expected_id = hashlib.sha256(b"witness.example/w1\n\x04" + raw_public).digest()[:4]
    message = b"cosignature/v1\ntime " + str(SPEC_TIME).encode() + b"\n" + BODY.encode()
    assert signature.key_id == expected_id
    assert signature.signature[:8] == SPEC_TIME.to_bytes(8, "big")
    Ed25519PublicKey.from_public_bytes(raw_public).verify(signature.signature[8:], message)
    assert public.public_bytes_raw() == raw_public


def test_verify_cosignature_returns_the_time() -> None:
    line = cosign(BODY, WITNESS, 1_800_000_000)
    assert verify_cosignature(BODY, line, WITNESS.verifier()) == 1_800_000_000


def test_a_plain_note_signer_cosigns_under_type_0x04() -> None:
    plain = Signer("witness.example/w1", WITNESS_KEY)
    line = cosign(BODY, plain, SPEC_TIME)
    assert verify_cosignature(BODY, line, WITNESS.verifier()) == SPEC_TIME
    assert parse_signature_line(line.rstrip("\n")).key_id != plain.key_id


def test_a_cosignature_over_another_checkpoint_or_time_fails() -> None:
    line = cosign(BODY, WITNESS, SPEC_TIME)
    with pytest.raises(InvalidSignatureError):
        verify_cosignature(BODY.replace("\n7\n", "\n8\n"), line, WITNESS.verifier())
    signature = parse_signature_line(line.rstrip("\n"))
    moved = signature.key_id + (SPEC_TIME + 1).to_bytes(8, "big") + signature.signature[8:]
    forged = f"\u2014 witness.example/w1 {base64.b64encode(moved).decode()}\n"
    with pytest.raises(InvalidSignatureError):
        verify_cosignature(BODY, forged, WITNESS.verifier())


def test_a_cosignature_by_another_witness_is_not_this_witness() -> None:
    other = CosignatureSigner.generate("witness.example/w2")
    with pytest.raises(UnknownKeyError):
        verify_cosignature(BODY, cosign(BODY, other, SPEC_TIME), WITNESS.verifier())


def test_a_log_signature_is_not_a_cosignature_even_with_the_same_key() -> None:
    log_as_witness = CosignatureVerifier(LOG.name, LOG.public_key)
    note = sign_checkpoint(Checkpoint.parse(BODY), [LOG])
    with pytest.raises(UnknownKeyError):  # key IDs differ by signature type
        open_note(note, [log_as_witness])


def test_open_note_checks_log_signature_and_cosignatures_together() -> None:
    note = add_signatures(
        sign_checkpoint(Checkpoint.parse(BODY), [LOG]), [cosign(BODY, WITNESS, SPEC_TIME)]
    )
    text, names = open_note(note, [LOG.verifier(), WITNESS.verifier()])
    assert (text, names) == (BODY, ["gatehouse.local/audit", "witness.example/w1"])
    assert sign_checkpoint(Checkpoint.parse(BODY), [LOG, WITNESS]).count("\u2014 ") == 2


def test_a_broken_cosignature_rejects_the_whole_note() -> None:
    note = add_signatures(
        sign_checkpoint(Checkpoint.parse(BODY), [LOG]), [cosign(BODY, WITNESS, SPEC_TIME)]
    )
    last = parse_note(note).signatures[-1]
    broken = last.key_id + last.signature[:-1] + bytes([last.signature[-1] ^ 1])
    tampered = note.replace(
        last.line(), f"\u2014 {last.name} {base64.b64encode(broken).decode()}\n"
    )
    with pytest.raises(InvalidSignatureError):
        open_note(tampered, [LOG.verifier(), WITNESS.verifier()])


def test_witness_vkeys_carry_type_0x04_and_dispatch_by_type() -> None:
    vkey = WITNESS.verifier().vkey
    assert base64.b64decode(vkey.split("+", 2)[2])[0] == COSIGNATURE_V1
    assert isinstance(verifier_from_vkey(vkey), CosignatureVerifier)
    assert type(verifier_from_vkey(LOG.verifier().vkey)) is Verifier
    with pytest.raises(MalformedNoteError, match="signature type"):
        Verifier.from_vkey(vkey)
    with pytest.raises(MalformedNoteError, match="signature type"):
        CosignatureVerifier.from_vkey(LOG.verifier().vkey)


def test_timestamps_beyond_the_spec_range_are_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        cosigned_message(BODY, 2**63)
    with pytest.raises(ValueError, match="outside"):
        cosign(BODY, WITNESS, -1)
