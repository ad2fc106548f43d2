"""Every tampering of a real bundle is detected, and the verdict names what and where.

The bundle is written by the real `BundleWriter` from genuine leaves of a sample log signed
with a test key; the verifier runs as the real CLI (`python -m ledger.verify`) in a
subprocess, as an auditor would run it.
"""

from __future__ import annotations

import json
from pathlib import Path

from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.note import Signer
from tests.ledger.sample_log import SampleLog
from tests.ledger.verify.cli import verify
from tests.ledger.verify.mutations import (
    entry_lines,
    replace_in_line,
    resign_manifest,
    write_entry_lines,
)


def test_the_untouched_bundle_verifies(bundle: Path, sample_log: SampleLog) -> None:
    code, verdict = verify(bundle, "--log-key", sample_log.vkey)
    assert code == 0, verdict
    root = sample_log.checkpoint().root_hash.hex()
    assert verdict == f"VERIFIED: 120 entries, seq 0..119, tree size 120, root {root}"


def test_a_flipped_byte_in_an_entry_is_named(bundle: Path, sample_log: SampleLog) -> None:
    replace_in_line(bundle, 42, b"incident 42", b"incident 43")
    code, verdict = verify(bundle, "--log-key", sample_log.vkey)
    assert code == 1
    assert verdict.startswith("FAILED: entry seq=42: leaf does not match its recorded leaf_hash")


def test_a_deleted_entry_is_named(bundle: Path, sample_log: SampleLog) -> None:
    lines = entry_lines(bundle)
    del lines[57]
    write_entry_lines(bundle, lines)
    code, verdict = verify(bundle, "--log-key", sample_log.vkey)
    assert (code, verdict) == (
        1,
        "FAILED: entry seq=57: missing or out of order: the file has seq=58 in its place",
    )


def test_two_reordered_entries_are_named(bundle: Path, sample_log: SampleLog) -> None:
    lines = entry_lines(bundle)
    lines[30], lines[31] = lines[31], lines[30]
    write_entry_lines(bundle, lines)
    code, verdict = verify(bundle, "--log-key", sample_log.vkey)
    assert code == 1
    assert verdict.startswith("FAILED: entry seq=30: missing or out of order: the file has seq=31")


def test_a_truncated_tail_is_named(bundle: Path, sample_log: SampleLog) -> None:
    write_entry_lines(bundle, entry_lines(bundle)[:115])
    code, verdict = verify(bundle, "--log-key", sample_log.vkey)
    assert code == 1
    assert (
        verdict
        == "FAILED: entry seq=115: missing: entries.jsonl ends at seq 114, the range at seq 119"
    )


def test_a_replaced_checkpoint_signature_is_named(bundle: Path, sample_log: SampleLog) -> None:
    text = (bundle / "checkpoints.txt").read_text()
    notes = text.split("\n\n\u2014")
    forged_line = sign_checkpoint(sample_log.checkpoint(30), [Signer.generate(sample_log.origin)])
    original = sample_log.signed(30).split("\n\n")[1]
    (bundle / "checkpoints.txt").write_text(text.replace(original, forged_line.split("\n\n")[1]))
    assert len(notes) > 3
    code, verdict = verify(bundle, "--log-key", sample_log.vkey)
    assert code == 1
    assert verdict.startswith("FAILED: checkpoint #3: signature does not verify")


def test_equivocation_two_roots_for_one_size_is_named(bundle: Path, sample_log: SampleLog) -> None:
    other_root = bytes(32)
    forked = sign_checkpoint(Checkpoint(sample_log.origin, 50, other_root), [sample_log.signer])
    with (bundle / "checkpoints.txt").open("a") as checkpoints:
        checkpoints.write(forked + "\n")
    resign_manifest(bundle, sample_log.signer)  # the log itself misbehaves: all is signed
    code, verdict = verify(bundle, "--log-key", sample_log.vkey)
    assert code == 1
    assert verdict.startswith(
        "FAILED: checkpoint size=50: equivocation: two signed roots for one size"
    )


def test_a_dropped_agent_event_is_a_gap_even_when_the_log_is_consistent(tmp_path: Path) -> None:
    log = SampleLog().grow(40)
    log.lose_agent_event("agent-1")  # agent_seq 14 never reaches the log; seqs stay contiguous
    log.grow(20)
    bundle = log.export(tmp_path / "bundle")
    code, verdict = verify(bundle, "--log-key", log.vkey)
    assert code == 1
    assert verdict == "FAILED: entry seq=41: agent 'agent-1' agent_seq gap: missing 14"


def test_an_edited_manifest_is_named(bundle: Path, sample_log: SampleLog) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["range"]["since"] = "2026-11-30T09:30:00Z"
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    code, verdict = verify(bundle, "--log-key", sample_log.vkey)
    assert (code, verdict) == (
        1,
        "FAILED: manifest: edited after signing: its SHA-256 is not the signed one",
    )


def test_a_changed_derived_file_is_named(bundle: Path, sample_log: SampleLog) -> None:
    with (bundle / "entries.csv").open("a") as csv:
        csv.write("120,access_request.approved\n")
    code, verdict = verify(bundle, "--log-key", sample_log.vkey)
    assert (code, verdict) == (
        1,
        "FAILED: file entries.csv: SHA-256 or size differs from the manifest (file changed)",
    )


def test_a_bundle_re_signed_by_another_key_fails_against_the_auditors_log_key(
    bundle: Path, sample_log: SampleLog
) -> None:
    resign_manifest(bundle, Signer.generate(sample_log.origin))
    code, verdict = verify(bundle, "--log-key", sample_log.vkey)
    assert code == 1
    assert verdict.startswith("FAILED: manifest: signature does not verify")
