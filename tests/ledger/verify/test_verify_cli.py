"""carol the auditor verifies a bundle offline: kept checkpoints, witnesses, reports, exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.cosignature import CosignatureSigner
from ledger.verify import VerifyOptions, verify_bundle
from ledger.verify.__main__ import main
from tests.ledger.sample_log import SampleLog
from tests.ledger.verify.cli import verify
from tests.ledger.verify.mutations import entry_lines, resign_manifest, write_entry_lines


def test_a_checkpoint_carol_kept_inside_the_range_is_recomputed(
    bundle: Path, sample_log: SampleLog, tmp_path: Path
) -> None:
    kept = tmp_path / "kept.note"
    kept.write_text(sample_log.signed(57))
    code, verdict = verify(bundle, "--log-key", sample_log.vkey, "--trusted-checkpoint", str(kept))
    assert code == 0, verdict


def test_a_kept_checkpoint_before_the_range_needs_a_consistency_proof(
    sample_log: SampleLog, tmp_path: Path
) -> None:
    kept = tmp_path / "kept.note"
    kept.write_text(sample_log.signed(12))
    with_proof = sample_log.export(tmp_path / "a", first=60, earlier_checkpoints=[12])
    without = sample_log.export(tmp_path / "b", first=60)
    assert (
        verify(with_proof, "--log-key", sample_log.vkey, "--trusted-checkpoint", str(kept))[0] == 0
    )
    code, verdict = verify(without, "--log-key", sample_log.vkey, "--trusted-checkpoint", str(kept))
    assert (code, verdict) == (
        1,
        "FAILED: trusted checkpoint: cannot prove consistency: "
        "the bundle has no consistency proof from size 12",
    )


def test_a_log_that_forked_since_carols_checkpoint_fails(
    sample_log: SampleLog, tmp_path: Path
) -> None:
    forked = SampleLog(signer=sample_log.signer).grow(30)  # the same first 30 entries
    assert forked.leaves == sample_log.leaves[:30]
    forked.append_event(seq_offset=1000)  # a different entry at seq 30 in a rewritten history
    forked.grow(89)
    kept = tmp_path / "kept.note"
    kept.write_text(sample_log.signed(100))
    code, verdict = verify(
        forked.export(tmp_path / "b"), "--log-key", forked.vkey, "--trusted-checkpoint", str(kept)
    )
    assert (code, verdict) == (
        1,
        "FAILED: trusted checkpoint: the entries do not hash to its root (tree size 100)",
    )


def test_a_bundle_from_the_middle_of_the_log_verifies_through_its_range_proof(
    sample_log: SampleLog, tmp_path: Path
) -> None:
    bundle = sample_log.export(tmp_path / "b", first=37, end=91, earlier_checkpoints=[10, 20])
    code, verdict = verify(bundle, "--log-key", sample_log.vkey)
    assert code == 0 and verdict.startswith("VERIFIED: 54 entries, seq 37..90, tree size 120"), (
        verdict
    )


def test_witness_cosignatures_are_required_when_carol_names_a_witness(
    sample_log: SampleLog, tmp_path: Path
) -> None:
    witness = CosignatureSigner.generate("witness.test/w1")
    other = CosignatureSigner.generate("witness.test/w2")
    bundle = sample_log.export(tmp_path / "b", witnesses=[witness])
    report = verify_bundle(
        str(bundle),
        VerifyOptions(log_vkeys=[sample_log.vkey], witness_vkeys=[witness.verifier().vkey]),
    )
    assert report.ok and report.cosigned_by == ["witness.test/w1"]
    code, verdict = verify(
        bundle, "--log-key", sample_log.vkey, "--witness-key", other.verifier().vkey
    )
    assert (code, verdict) == (
        1,
        "FAILED: final checkpoint: no cosignature from witness 'witness.test/w2'",
    )


def test_a_leaf_moved_to_another_position_is_named(bundle: Path, sample_log: SampleLog) -> None:
    lines = entry_lines(bundle)
    moved = json.loads(lines[31])
    lines[30] = (
        json.dumps({"seq": 30, "leaf_hash": moved["leaf_hash"], "leaf": moved["leaf"]}) + "\n"
    ).encode()
    write_entry_lines(bundle, lines)
    resign_manifest(bundle, sample_log.signer)
    code, verdict = verify(bundle, "--log-key", sample_log.vkey)
    assert (code, verdict) == (
        1,
        "FAILED: entry seq=30: leaf says seq=31 (moved from another position)",
    )


def test_without_a_log_key_the_bundle_keys_are_used_and_carol_is_warned(
    bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(bundle)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("VERIFIED: 120 entries")
    assert "warning: log keys taken from the bundle's keys.txt" in captured.err


def test_the_json_report_lists_problems_agents_and_throughput(
    bundle: Path, sample_log: SampleLog, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(bundle), "--log-key", sample_log.vkey, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (
        report["verdict"] == "VERIFIED" and report["entries"] == 120 and report["checkpoints"] == 13
    )
    assert report["agents"] == {"agent-1": {"first_agent_seq": 1, "last_agent_seq": 40, "gaps": []}}


def test_the_progress_bar_goes_to_stderr(
    bundle: Path, sample_log: SampleLog, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(bundle), "--log-key", sample_log.vkey, "--progress"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("VERIFIED") and "[" not in captured.out


def test_an_unreadable_or_unknown_bundle_exits_2(bundle: Path, tmp_path: Path) -> None:
    assert verify(tmp_path / "nowhere")[0] == 2
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["format"] = 7
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    code, output = verify(bundle)
    assert (code, output) == (
        2,
        "UNREADABLE: bundle format 7 is not supported (this reader knows format 1)",
    )


def test_a_signed_manifest_of_the_wrong_shape_exits_2_without_a_traceback(
    bundle: Path, sample_log: SampleLog
) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["range"] = "everything"
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    resign_manifest(bundle, sample_log.signer)
    code, output = verify(bundle, "--log-key", sample_log.vkey)
    assert code == 2 and output.startswith("UNREADABLE: malformed bundle")


def test_the_installed_gatehouse_verify_command_runs_from_any_directory(
    bundle: Path, sample_log: SampleLog, tmp_path: Path
) -> None:
    # An auditor runs it outside the checkout: the command bootstrap installs, not the repo path.
    command = Path(sys.executable).with_name("gatehouse-verify")
    done = subprocess.run(
        [str(command), str(bundle), "--quiet", "--log-key", sample_log.vkey],
        cwd=tmp_path,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("VERIFIED: ")
