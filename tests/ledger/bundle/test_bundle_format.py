"""Bundle format 1: what the writer puts on disk and what the reader accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.bundle import FORMAT, BundleError, BundleReader, BundleWriter, UnsupportedFormat
from ledger.bundle.reader import split_notes
from ledger.canonical import canonical_json
from ledger.checkpoint import Checkpoint
from ledger.leaf import parse_leaf
from ledger.merkle import ProofError
from ledger.note import open_note
from tests.ledger.sample_log import SampleLog


def test_a_bundle_has_every_file_listed_in_a_canonical_signed_manifest(
    bundle: Path, sample_log: SampleLog
) -> None:
    reader = BundleReader(bundle)
    assert reader.manifest["format"] == FORMAT == 1
    assert reader.manifest_bytes == canonical_json(reader.manifest)
    listed = set(reader.listed_files())
    assert listed == {
        "entries.jsonl",
        "checkpoints.txt",
        "proofs.json",
        "consistency.jsonl",
        "keys.txt",
        "ocsf.jsonl",
        "entries.csv",
    }
    for name in listed:
        assert reader.file_digest(name) == (
            reader.listed_files()[name]["sha256"],
            reader.listed_files()[name]["size"],
        )
    text, names = open_note(reader.manifest_signature(), [sample_log.signer.verifier()])
    assert text.startswith("gatehouse.bundle/v1\nsha256 ") and names == [sample_log.origin]


def test_entries_carry_the_exact_leaf_bytes_in_seq_order(
    bundle: Path, sample_log: SampleLog
) -> None:
    lines = [json.loads(line) for line in BundleReader(bundle).entry_lines()]
    assert [line["seq"] for line in lines] == list(range(120))
    assert [line["leaf"].encode() for line in lines] == sample_log.leaves
    assert parse_leaf(lines[2]["leaf"])["agent"] == "agent-1"


def test_checkpoints_end_with_the_final_one_and_the_range_is_in_the_manifest(bundle: Path) -> None:
    reader = BundleReader(bundle)
    notes = reader.checkpoint_notes()
    assert len(notes) == 13  # every 10 entries, then the final checkpoint (size 120) again
    assert notes[-1] == reader.final_checkpoint_note
    assert reader.range == {
        "since": "2026-11-30T09:00:00Z",
        "until": "2026-11-30T10:00:00Z",
        "first_seq": 0,
        "last_seq": 119,
        "count": 120,
    }


def test_a_range_not_starting_at_zero_carries_the_frontier_and_the_end_proof(
    sample_log: SampleLog, tmp_path: Path
) -> None:
    reader = BundleReader(
        sample_log.export(tmp_path / "b", first=37, end=91, earlier_checkpoints=[10])
    )
    proof = reader.range_proof()
    assert proof.start_size == 37 and sorted(proof.start_nodes) == [(0, 36), (2, 8), (5, 0)]
    assert (proof.end_size, proof.tree_size) == (91, 120) and proof.end_consistency
    assert [record.old_size for record in reader.consistency_records()] == [10]


def test_the_reader_refuses_a_format_it_does_not_know(bundle: Path) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["format"] = 2
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(UnsupportedFormat, match="format 2 is not supported"):
        BundleReader(bundle)


def test_the_writer_refuses_entries_out_of_order(sample_log: SampleLog, tmp_path: Path) -> None:
    writer = BundleWriter(tmp_path / "b", sample_log.origin, sample_log.signer)
    writer.add_entry(0, sample_log.leaves[0])
    with pytest.raises(BundleError, match="expected seq 1, got 2"):
        writer.add_entry(2, sample_log.leaves[2])


def test_the_writer_refuses_to_sign_entries_that_do_not_lead_to_the_final_checkpoint(
    sample_log: SampleLog, tmp_path: Path
) -> None:
    writer = BundleWriter(tmp_path / "b", sample_log.origin, sample_log.signer)
    for seq in range(120):
        writer.add_entry(seq, sample_log.leaves[seq if seq != 5 else 6])
    with pytest.raises(BundleError, match="do not hash to the final checkpoint"):
        writer.finish(sample_log.signed())
    assert not (tmp_path / "b" / "manifest.json").exists()


def test_the_writer_checks_the_end_proof_and_needs_the_start_frontier(
    sample_log: SampleLog, tmp_path: Path
) -> None:
    with pytest.raises(BundleError, match="needs the frontier nodes"):
        BundleWriter(tmp_path / "a", sample_log.origin, sample_log.signer, first_seq=5)
    writer = BundleWriter(tmp_path / "b", sample_log.origin, sample_log.signer)
    writer.add_entry(0, sample_log.leaves[0])
    with pytest.raises(ProofError):
        writer.finish(sample_log.signed(), end_proof=sample_log.consistency(2))


def test_the_writer_wants_a_proof_for_checkpoints_outside_the_range(
    sample_log: SampleLog, tmp_path: Path
) -> None:
    writer = BundleWriter(tmp_path / "b", sample_log.origin, sample_log.signer)
    writer.add_checkpoint(sample_log.signed(120))
    for seq in range(50):
        writer.add_entry(seq, sample_log.leaves[seq])
    writer.add_checkpoint(sample_log.signed(100))
    with pytest.raises(BundleError, match="size 100 is outside the range"):
        writer.finish(sample_log.signed(), end_proof=sample_log.consistency(50))


def test_notes_split_back_apart_even_with_cosignatures(sample_log: SampleLog) -> None:
    notes = [sample_log.signed(10), sample_log.signed(20)]
    assert split_notes("\n".join(notes) + "\n") == notes
    assert Checkpoint.parse(notes[1].split("\n\n")[0] + "\n").size == 20
