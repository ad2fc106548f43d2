"""C2SP tlog-checkpoint bodies: the spec's example, one accepted spelling, signed round trips."""

from __future__ import annotations

import base64

import pytest

from ledger.checkpoint import Checkpoint, CheckpointError, open_checkpoint, sign_checkpoint
from ledger.merkle import EMPTY_ROOT, leaf_hash, root
from ledger.note import InvalidSignatureError, Signer

SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
LOG = Signer.generate("gatehouse.local/audit")


def test_the_spec_example_body_parses_and_formats_back() -> None:
    checkpoint = Checkpoint.parse(SPEC_BODY)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root_hash == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.extensions == ()
    assert checkpoint.body() == SPEC_BODY


def test_extension_lines_are_kept_in_order() -> None:
    body = SPEC_BODY + "ext one\next two\n"
    checkpoint = Checkpoint.parse(body)
    assert checkpoint.extensions == ("ext one", "ext two")
    assert checkpoint.body() == body


def test_an_empty_tree_has_size_zero_and_the_empty_root() -> None:
    checkpoint = Checkpoint("gatehouse.local/audit", 0, EMPTY_ROOT)
    assert Checkpoint.parse(checkpoint.body()) == checkpoint
    assert checkpoint.body().splitlines()[1] == "0"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (SPEC_BODY[:-1], "end with a newline"),
        ("example.com/log\n5\n", "needs origin, size and root"),
        ("\n5\n" + SPEC_BODY.split("\n")[2] + "\n", "origin is empty"),
        (SPEC_BODY.replace("20852163", "020852163"), "leading zeros"),
        (SPEC_BODY.replace("20852163", "+20852163"), "decimal"),
        (SPEC_BODY.replace("20852163", "2085216\u0663"), "decimal"),  # Arabic-Indic digit
        (SPEC_BODY.replace("20852163", "-1"), "decimal"),
        (SPEC_BODY.replace("20852163", str(2**63)), "outside"),
        (SPEC_BODY.replace("q2I=", "q2I"), "base64"),
        (SPEC_BODY.replace("q2I=", "q2J="), "canonical base64"),
        (SPEC_BODY.replace("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=", "AAAA"), "not 32"),
        (SPEC_BODY + "\n", "extension line is empty"),
        (SPEC_BODY + "ext\n\n", "extension line is empty"),
        (SPEC_BODY.replace("example.com", "example\r.com"), "control"),
    ],
)
def test_every_other_spelling_is_refused(body: str, problem: str) -> None:
    with pytest.raises(CheckpointError, match=problem):
        Checkpoint.parse(body)


def test_constructor_checks_the_same_rules() -> None:
    with pytest.raises(CheckpointError, match="not 32"):
        Checkpoint("gatehouse.local/audit", 1, b"short")
    with pytest.raises(CheckpointError, match="newline"):
        Checkpoint("gatehouse.local/audit", 1, EMPTY_ROOT, ("two\nlines",))
    with pytest.raises(CheckpointError, match="outside"):
        Checkpoint("gatehouse.local/audit", -1, EMPTY_ROOT)


def test_a_signed_checkpoint_opens_to_the_same_tree_head() -> None:
    head = root([leaf_hash(b"alice requested access"), leaf_hash(b"bob approved")])
    checkpoint = Checkpoint("gatehouse.local/audit", 2, head)
    note = sign_checkpoint(checkpoint, [LOG])
    assert open_checkpoint(note, [LOG.verifier()]) == (checkpoint, ["gatehouse.local/audit"])


def test_a_signed_checkpoint_with_another_root_does_not_open() -> None:
    note = sign_checkpoint(Checkpoint("gatehouse.local/audit", 2, EMPTY_ROOT), [LOG])
    forged = note.replace(
        base64.b64encode(EMPTY_ROOT).decode(), base64.b64encode(bytes(32)).decode()
    )
    with pytest.raises(InvalidSignatureError):
        open_checkpoint(forged, [LOG.verifier()])
