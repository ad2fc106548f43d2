"""C2SP signed notes: the published Go sumdb/note vector, round trips, and every way a note
must be refused."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.note import (
    MAX_NOTE_BYTES,
    MAX_SIGNATURES,
    InvalidSignatureError,
    MalformedNoteError,
    Signer,
    UnknownKeyError,
    Verifier,
    add_signatures,
    decode_vkey,
    key_id,
    open_note,
    parse_note,
    sign_note,
)

# golang.org/x/mod/sumdb/note's documented example (also in C2SP-compatible ports' tests).
SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
SIGNED = (
    TEXT + "\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)

LOG = Signer("gatehouse.local/audit", Ed25519PrivateKey.generate())
OTHER_LOG = Signer("gatehouse.local/audit", Ed25519PrivateKey.generate())
CHECKPOINT_TEXT = "gatehouse.local/audit\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"


def test_the_go_sumdb_note_example_signs_to_the_published_bytes() -> None:
    signer = Signer.from_skey(SKEY)
    assert signer.verifier().vkey == VKEY
    assert sign_note(TEXT, [signer]) == SIGNED  # Ed25519 is deterministic


def test_the_go_sumdb_note_example_opens_with_its_vkey() -> None:
    assert open_note(SIGNED, [Verifier.from_vkey(VKEY)]) == (TEXT, ["PeterNeumann"])
    assert open_note(SIGNED.encode(), [Verifier.from_vkey(VKEY)]) == (TEXT, ["PeterNeumann"])


def test_key_id_is_the_truncated_hash_of_name_type_and_key() -> None:
    name, signature_type, public = decode_vkey(VKEY)
    assert (name, signature_type) == ("PeterNeumann", 1)
    assert key_id(name, signature_type, public).hex() == "c74f20a3"


def test_a_note_round_trips_with_several_signers_in_order() -> None:
    note = sign_note(
        CHECKPOINT_TEXT,
        [LOG, OTHER_LOG.__class__("mirror.example/m1", Ed25519PrivateKey.generate())],
    )
    assert parse_note(note).render() == note
    assert open_note(note, [LOG.verifier()]) == (CHECKPOINT_TEXT, ["gatehouse.local/audit"])


def test_text_may_contain_blank_lines_the_last_one_separates_signatures() -> None:
    text = "first paragraph\n\nsecond paragraph\n"
    assert open_note(sign_note(text, [LOG]), [LOG.verifier()])[0] == text


def test_signatures_from_unknown_keys_are_ignored() -> None:
    note = sign_note(CHECKPOINT_TEXT, [OTHER_LOG, LOG])
    assert open_note(note, [LOG.verifier()])[1] == ["gatehouse.local/audit"]


def test_a_note_signed_only_by_another_key_of_the_same_name_is_refused() -> None:
    with pytest.raises(UnknownKeyError):
        open_note(sign_note(CHECKPOINT_TEXT, [OTHER_LOG]), [LOG.verifier()])


def test_a_known_key_under_another_name_is_not_accepted() -> None:
    renamed = Verifier("evil.example/audit", LOG.public_key)
    with pytest.raises(UnknownKeyError):
        open_note(sign_note(CHECKPOINT_TEXT, [LOG]), [renamed])


def test_altered_text_fails_the_signature_of_a_known_key() -> None:
    note = sign_note(CHECKPOINT_TEXT, [LOG]).replace("\n3\n", "\n4\n")
    with pytest.raises(InvalidSignatureError):
        open_note(note, [LOG.verifier()])
    with pytest.raises(InvalidSignatureError):
        open_note(SIGNED.replace("cryptography", "cryptographY"), [Verifier.from_vkey(VKEY)])


def test_a_failing_known_signature_rejects_the_note_even_beside_a_good_one() -> None:
    good = parse_note(sign_note(CHECKPOINT_TEXT, [LOG])).signatures[0]
    forged = base64.b64encode(good.key_id + bytes(64)).decode()
    note = sign_note(CHECKPOINT_TEXT, [OTHER_LOG]) + f"\u2014 gatehouse.local/audit {forged}\n"
    with pytest.raises(InvalidSignatureError):
        open_note(note, [LOG.verifier(), OTHER_LOG.verifier()])


def test_duplicate_signatures_by_one_key_make_the_note_malformed() -> None:
    note = sign_note(CHECKPOINT_TEXT, [LOG])
    signature_line = note.split("\n\n")[-1]
    with pytest.raises(MalformedNoteError, match="two signatures"):
        open_note(note + signature_line, [LOG.verifier()])
    with pytest.raises(MalformedNoteError, match="two signatures"):
        sign_note(CHECKPOINT_TEXT, [LOG, LOG])


def test_add_signatures_appends_new_lines_and_drops_exact_repeats() -> None:
    note = sign_note(CHECKPOINT_TEXT, [LOG])
    other_line = sign_note(CHECKPOINT_TEXT, [OTHER_LOG]).split("\n\n")[-1]
    merged = add_signatures(note, [other_line, other_line])
    assert merged == note + other_line
    assert add_signatures(merged, [other_line]) == merged


@pytest.mark.parametrize(
    ("note", "problem"),
    [
        (SIGNED[:-1], "final newline"),
        (TEXT, "blank line"),
        (TEXT + "\n", "em dash"),
        (SIGNED.replace("\u2014 ", "-- "), "em dash"),
        (SIGNED.replace("\u2014 PeterNeumann ", "\u2014 PeterNeumann"), "no signature"),
        (SIGNED.replace("PeterNeumann x08", "Peter+Neumann x08"), "space or"),
        (SIGNED.replace("x08go", "x08g!"), "base64"),
        (SIGNED.replace("AM=\n", "AN=\n"), "canonical base64"),
        (SIGNED.replace("x08go/ZJkuBS9UG", "x08g"), "base64"),
        ("x\n\n\u2014 a AAAAAA==\n", "too short"),
        (SIGNED.replace("If you", "If\tyou"), "control character"),
        (SIGNED.replace("If you", "If\ryou"), "control character"),
    ],
)
def test_malformed_notes_are_refused(note: str, problem: str) -> None:
    with pytest.raises(MalformedNoteError, match=problem):
        open_note(note, [Verifier.from_vkey(VKEY)])


def test_invalid_utf8_is_refused() -> None:
    with pytest.raises(MalformedNoteError, match="UTF-8"):
        open_note(SIGNED.encode().replace(b"you", b"y\xffu"), [Verifier.from_vkey(VKEY)])


def test_oversized_notes_are_refused_before_any_signature_is_checked() -> None:
    big_text = "x" * 80 + "\n"
    big = sign_note(big_text * (MAX_NOTE_BYTES // len(big_text)), [LOG])
    with pytest.raises(MalformedNoteError, match="larger than"):
        open_note(big, [LOG.verifier()])
    too_many = sign_note(
        CHECKPOINT_TEXT, [Signer.generate(f"w{i}") for i in range(MAX_SIGNATURES + 1)]
    )
    with pytest.raises(MalformedNoteError, match="more than"):
        open_note(too_many, [LOG.verifier()])


def test_at_least_sixteen_signatures_are_accepted() -> None:
    signers = [LOG, *(Signer.generate(f"witness.example/w{i}") for i in range(15))]
    note = sign_note(CHECKPOINT_TEXT, signers)
    assert len(open_note(note, [signer.verifier() for signer in signers])[1]) == 16


@pytest.mark.parametrize("text", ["no final newline", "", "tab\there\n"])
def test_sign_note_refuses_texts_that_could_not_be_opened(text: str) -> None:
    with pytest.raises(MalformedNoteError):
        sign_note(text, [LOG])


@pytest.mark.parametrize("name", ["", "with space", "with+plus", "nbsp\u00a0name", "line\nbreak"])
def test_key_names_without_spaces_or_plus(name: str) -> None:
    with pytest.raises(MalformedNoteError, match="key name"):
        Signer(name, Ed25519PrivateKey.generate())


@pytest.mark.parametrize(
    ("vkey", "problem"),
    [
        (VKEY.replace("c74f20a3", "c74f20a4"), "does not match"),
        (VKEY.replace("c74f20a3", "C74F20A3"), "hex"),
        (VKEY.replace("+ARpc", "+BBpc"), "does not match"),
        ("PeterNeumann+c74f20a3+", "no key material"),
        (VKEY + "=", "base64"),
    ],
)
def test_bad_vkeys_are_refused(vkey: str, problem: str) -> None:
    with pytest.raises(MalformedNoteError, match=problem):
        Verifier.from_vkey(vkey)


def test_skey_with_a_wrong_key_id_is_refused() -> None:
    with pytest.raises(MalformedNoteError, match="does not match"):
        Signer.from_skey(SKEY.replace("c74f20a3", "00000000"))


def test_signer_repr_never_shows_the_private_key() -> None:
    assert repr(Signer.from_skey(SKEY)) == "Signer('PeterNeumann', key_id=c74f20a3)"
