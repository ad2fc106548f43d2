"""carol the auditor exports a period of the log: a bundle the offline verifier accepts,
with its OCSF and CSV views, and the export itself recorded in the log."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from controlplane.agents.services import IssuedAgent
from controlplane.audit.export.bundle import audit_export, seq_range
from controlplane.audit.models import AuditEvent, Checkpoint
from controlplane.identities.models import User
from ledger.bundle.reader import BundleReader
from tests.controlplane.audit.export.conftest import ledger_verify, statements_run

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_export_holds_every_entry_of_the_period_and_verifies_offline(
    tmp_path: Path, busy_log: datetime, carol: User
) -> None:
    until = timezone.now() + timedelta(seconds=1)
    exported = audit_export(actor=carol, since=busy_log, until=until, out_dir=tmp_path / "b")

    reader = BundleReader(tmp_path / "b")
    stored = dict(AuditEvent.objects.filter(seq__lte=exported.seqs.last).values_list("seq", "leaf"))
    lines = [json.loads(line) for line in reader.entry_lines()]
    assert [line["seq"] for line in lines] == list(
        range(exported.seqs.first, exported.seqs.last + 1)
    )
    assert all(line["leaf"] == stored[line["seq"]] for line in lines)
    actions = [json.loads(line["leaf"])["action"] for line in lines]
    assert actions.count("statement") == 5 and "grant.revoked" in actions
    assert reader.range["count"] == len(lines) == exported.seqs.count
    assert exported.tree_size == Checkpoint.objects.order_by("-size").first().size  # type: ignore[union-attr]

    result = ledger_verify(tmp_path / "b")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith(f"VERIFIED: {len(lines)} entries")


def test_the_derived_views_hold_one_ocsf_event_and_one_csv_row_per_entry(
    tmp_path: Path, busy_log: datetime, carol: User
) -> None:
    exported = audit_export(
        actor=carol,
        since=busy_log,
        until=timezone.now() + timedelta(seconds=1),
        out_dir=tmp_path / "b",
    )

    ocsf = [json.loads(line) for line in (tmp_path / "b" / "ocsf.jsonl").read_text().splitlines()]
    with (tmp_path / "b" / "entries.csv").open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(ocsf) == len(rows) == exported.seqs.count
    assert [event["metadata"]["uid"] for event in ocsf] == [row["seq"] for row in rows]
    statement = next(event for event in ocsf if event["class_uid"] == 6005)
    assert statement["actor"]["user"]["name"] == "alice"
    assert statement["actor"]["app_name"] == "agent-smith"
    listed = BundleReader(tmp_path / "b").listed_files()
    assert {"ocsf.jsonl", "entries.csv"} <= listed.keys()


def test_the_export_is_itself_recorded_with_its_range_and_manifest_hash(
    tmp_path: Path, busy_log: datetime, carol: User
) -> None:
    exported = audit_export(
        actor=carol,
        since=busy_log,
        until=timezone.now() + timedelta(seconds=1),
        out_dir=tmp_path / "b",
    )

    record = AuditEvent.objects.filter(action="audit.exported").get()
    assert record.actor_name == "carol"
    assert record.payload["manifest_sha256"] == exported.manifest_sha256
    assert (record.payload["first_seq"], record.payload["last_seq"]) == (
        exported.seqs.first,
        exported.seqs.last,
    )
    assert record.payload["count"] == exported.seqs.count
    assert record.seq > exported.seqs.last  # outside the range it describes


def test_a_period_starting_midway_exports_only_its_entries_and_still_verifies(
    tmp_path: Path, edge: IssuedAgent, alice: User, agent_smith: User, carol: User
) -> None:
    statements_run(edge, alice, agent_smith, range(1, 4))
    audit_export(
        actor=carol,
        since=timezone.now() - timedelta(days=1),
        until=timezone.now() + timedelta(seconds=1),
        out_dir=tmp_path / "first",
    )
    midway = timezone.now()
    statements_run(edge, alice, agent_smith, range(4, 9))

    exported = audit_export(
        actor=carol,
        since=midway,
        until=timezone.now() + timedelta(seconds=1),
        out_dir=tmp_path / "second",
    )

    assert exported.seqs.first > 0
    agent_seqs = [
        json.loads(json.loads(line)["leaf"])["agent_seq"]
        for line in BundleReader(tmp_path / "second").entry_lines()
    ]
    assert [seq for seq in agent_seqs if seq is not None] == [4, 5, 6, 7, 8]
    result = ledger_verify(tmp_path / "second")
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_empty_period_gives_an_empty_bundle(
    tmp_path: Path, busy_log: datetime, carol: User
) -> None:
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)
    exported = audit_export(
        actor=carol, since=long_ago, until=long_ago + timedelta(days=1), out_dir=tmp_path / "b"
    )

    assert exported.seqs.count == 0
    assert BundleReader(tmp_path / "b").range["count"] == 0


def test_the_command_takes_relative_periods_and_prints_the_manifest_hash(
    tmp_path: Path, busy_log: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("audit_export", "--since", "1h", "--out", str(tmp_path / "b"))

    digest = capsys.readouterr().out.strip()
    record = AuditEvent.objects.filter(action="audit.exported").get()
    assert record.payload["manifest_sha256"] == digest
    assert record.actor_kind == "system"


def test_the_range_is_contiguous_in_seq_even_when_times_interleave(busy_log: datetime) -> None:
    seqs = seq_range(since=busy_log, until=timezone.now() + timedelta(seconds=1), tree_size=None)

    assert seqs.count == AuditEvent.objects.filter(seq__gte=seqs.first, seq__lte=seqs.last).count()


def test_the_next_export_proves_it_extends_the_checkpoint_carol_kept_from_the_last(
    tmp_path: Path, busy_log: datetime, carol: User, edge: IssuedAgent, alice: User
) -> None:
    first = audit_export(
        actor=carol, since=busy_log, until=timezone.now(), out_dir=tmp_path / "first"
    )
    kept = tmp_path / "kept.note"  # the final checkpoint carol keeps from the first bundle
    kept.write_text(BundleReader(tmp_path / "first").final_checkpoint_note)
    resumed = timezone.now()
    statements_run(edge, alice, User.objects.get(username="agent-smith"), range(6, 9))
    second = audit_export(
        actor=carol,
        since=resumed,
        until=timezone.now() + timedelta(seconds=1),
        out_dir=tmp_path / "second",
    )

    assert second.seqs.first >= first.tree_size  # the kept head lies before this range
    proved = {record.old_size for record in BundleReader(tmp_path / "second").consistency_records()}
    assert first.tree_size in proved
    result = ledger_verify(tmp_path / "second", "--trusted-checkpoint", str(kept))
    assert result.returncode == 0, result.stdout + result.stderr
