"""The audit explorer (/audit/): carol (auditor) and bob (administrator) search the log, read
each entry's masked payload, see the latest checkpoint with its signature and witnesses
checked, verify a range of entries against it (a tampered row fails, naming its seq), and
download the export bundle and the evidence report. alice (a requester) is refused."""

from __future__ import annotations

import io
import json
import re
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import connection, transaction
from django.test import Client, override_settings

from controlplane.agents.services import IssuedAgent
from controlplane.audit import integrity, selectors, triggers
from controlplane.audit.checkpoints import checkpoint_sign
from controlplane.audit.config import LogConfig, Witness
from controlplane.audit.export.bundle import ExportAction
from controlplane.audit.models import AuditEvent, Checkpoint
from controlplane.audit.services import audit_event_record, audit_events_ingest
from controlplane.audit.witnesses import cosignature_store
from controlplane.identities.models import User
from dataplane.contract import Actor
from dataplane.contract import AuditEvent as WireEvent
from ledger.checkpoint import Checkpoint as CheckpointBody
from ledger.checkpoint import sign_checkpoint
from ledger.cosignature import CosignatureSigner, cosign
from ledger.note import Signer, parse_note

HTMX = {"HTTP_HX_REQUEST": "true"}
LOG_KEY = Ed25519PrivateKey.generate()
WITNESS = CosignatureSigner("witness.test/w1", Ed25519PrivateKey.generate())
SILENT_WITNESS = CosignatureSigner("witness.test/w2", Ed25519PrivateKey.generate())


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def statements(edge: IssuedAgent, alice: User, seqs: range, *, day: int = 1) -> None:
    """agent-smith runs statements through edge-1 for alice; the payload is masked already."""
    person = Actor(sub=str(alice.pk), kind="user", name="alice")
    actor = Actor(sub="s-42", kind="service_account", name="agent-smith", on_behalf_of=person)
    events = [
        WireEvent(
            seq=seq,
            time=datetime(2026, 11, day, 12, 0, seq % 60, tzinfo=UTC).isoformat(),
            action="statement",
            actor=actor,
            resource="appdb",
            protocol="postgres",
            session=f"s-{seq % 2}",
            payload={"statement": f"SELECT {seq}", "email": "<EMAIL>"},
        )
        for seq in seqs
    ]
    audit_events_ingest(agent=edge.agent, events=events)


@pytest.fixture(autouse=True)
def _log_key() -> Iterator[None]:
    with override_settings(GATEHOUSE_LOG=LogConfig(signing_key=LOG_KEY)):
        yield


@pytest.fixture
def log(edge: IssuedAgent, alice: User, bob: User) -> Checkpoint:
    """Twenty statements on 1 November, a grant on the 2nd, five statements on the 3rd,
    all signed by one checkpoint."""
    statements(edge, alice, range(1, 21))
    with transaction.atomic():
        audit_event_record(actor=bob, action="grant.created", resource="appdb")
    statements(edge, alice, range(21, 26), day=3)
    checkpoint = checkpoint_sign()
    assert checkpoint is not None
    return checkpoint


def seq_of(agent_seq: int) -> int:
    return AuditEvent.objects.get(agent_seq=agent_seq).seq


def tamper(sql: str, params: list[object]) -> None:
    """Rewrite audit rows as someone with the database in hand would: triggers off, the
    change, triggers back on (SQLite; PostgreSQL refuses even that to the app's role)."""
    with connection.cursor() as cursor:
        for statement in triggers.drop_sql(connection.vendor):
            cursor.execute(statement)
        cursor.execute(sql, params)
        for statement in triggers.create_sql(connection.vendor):
            cursor.execute(statement)


def verify(client: Client, first: int, last: int) -> tuple[int, str]:
    response = client.get("/audit/verify", {"range-first": first, "range-last": last}, **HTMX)
    return response.status_code, response.content.decode()


# -- who may look ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/audit/"),
        ("get", "/audit/verify?range-first=0&range-last=1"),
        ("post", "/audit/export"),
        ("post", "/audit/evidence"),
    ],
)
def test_a_requester_is_refused_every_audit_page(
    alice: User, log: Checkpoint, method: str, path: str
) -> None:
    response = getattr(signed_in(alice), method)(path)
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action=ExportAction.EXPORTED).exists()


def test_someone_not_signed_in_is_sent_to_sign_in(db: None) -> None:
    response = Client().get("/audit/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("persona", ["carol", "bob"])
def test_auditors_and_administrators_read_the_log_newest_first(
    persona: str, request: pytest.FixtureRequest, log: Checkpoint
) -> None:
    page = signed_in(request.getfixturevalue(persona)).get("/audit/").content.decode()
    seqs = [int(seq) for seq in re.findall(r'<tr id="event-(\d+)">', page)]
    assert seqs == sorted(seqs, reverse=True) and seqs[0] == AuditEvent.objects.count() - 1
    assert 'id="checkpoint-size">' + str(log.size) in page


def test_each_entry_expands_to_its_masked_payload(carol: User, log: Checkpoint) -> None:
    page = signed_in(carol).get("/audit/", {"action": "statement"}).content.decode()
    seq = seq_of(25)
    row = page[page.index(f'<tr id="event-{seq}">') :]
    assert "<details><summary>Show" in row
    assert (
        json.dumps({"statement": "SELECT 25", "email": "<EMAIL>"}, indent=2)
        .replace('"', "&quot;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        in row[: row.index("</tr>")]
    )
    assert "agent-smith" in row and "on behalf of</span> alice" in row


# -- search ----------------------------------------------------------------------------------
def _seqs(client: Client, **query: object) -> list[int]:
    response = client.get("/audit/", query, **HTMX)
    assert response.status_code == 200, response.content
    body = response.content.decode()
    assert "<h1>" not in body  # htmx gets the results alone
    return [int(seq) for seq in re.findall(r'<tr id="event-(\d+)">', body)]


def test_filters_narrow_the_log(carol: User, bob: User, log: Checkpoint) -> None:
    client = signed_in(carol)
    grant = AuditEvent.objects.get(action="grant.created").seq
    assert _seqs(client, action="grant.created") == [grant]
    assert _seqs(client, identity="bob") == [grant]
    # alice acted through agent-smith: her name finds the statements made for her.
    assert len(_seqs(client, identity="alice", action="statement")) == 25
    assert _seqs(client, session="s-1", resource="appdb", seq_from=seq_of(20)) == [
        seq_of(25), seq_of(23), seq_of(21)
    ]  # fmt: skip
    assert _seqs(client, seq_from=seq_of(3), seq_to=seq_of(5)) == [seq_of(5), seq_of(4), seq_of(3)]
    on_the_3rd = _seqs(client, since="2026-11-03T00:00", until="2026-11-04T00:00")
    assert on_the_3rd == [seq_of(n) for n in range(25, 20, -1)]
    assert _seqs(client, text="select 17") == [seq_of(17)]
    assert _seqs(client, text="nothing like this") == []


def test_bad_filters_are_answered_400_and_named(carol: User, log: Checkpoint) -> None:
    for headers in ({}, HTMX):  # the page, and the fragment the filter bar swaps in
        response = signed_in(carol).get("/audit/", {"seq_from": "9", "seq_to": "3"}, **headers)
        assert response.status_code == 400
        assert "Seq to: must not be below Seq from" in response.content.decode()


def test_pages_follow_seq_with_a_keyset_cursor(
    carol: User, log: Checkpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "AUDIT_PAGE_SIZE", 10)
    monkeypatch.setattr(selectors.audit_events_search, "__kwdefaults__", {"limit": 10})
    client = signed_in(carol)
    first = client.get("/audit/", {"action": "statement"}, **HTMX).content.decode()
    older = re.search(r'id="older" href="\?([^"]+)"', first)
    assert older, first
    query = older[1].replace("&amp;", "&")
    assert f"before={seq_of(16)}" in query and "action=statement" in query
    second = [
        int(seq)
        for seq in re.findall(
            r'<tr id="event-(\d+)">', client.get("/audit/?" + query, **HTMX).content.decode()
        )
    ]
    assert second == [seq_of(n) for n in range(15, 5, -1)]


def test_text_search_reads_a_bounded_window_per_page(
    carol: User, log: Checkpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "TEXT_SEARCH_WINDOW", 8)
    client = signed_in(carol)
    top = AuditEvent.objects.count()
    body = client.get("/audit/", {"text": "select 3"}, **HTMX).content.decode()
    assert re.findall(r'<tr id="event-(\d+)">', body) == []  # SELECT 3 is older than 8 entries
    assert f"read seq {top - 8} onwards" in body
    older = re.search(r'id="older" href="\?([^"]+)"', body)
    assert older and f"before={top - 8}" in older[1]
    seen: list[int] = []
    query = older[1].replace("&amp;", "&")
    for _ in range(5):  # follow "Older entries" to the beginning
        page = client.get("/audit/?" + query, **HTMX).content.decode()
        seen += [int(seq) for seq in re.findall(r'<tr id="event-(\d+)">', page)]
        older = re.search(r'id="older" href="\?([^"]+)"', page)
        if not older:
            break
        query = older[1].replace("&amp;", "&")
    assert seen == [seq_of(3)]


# -- the checkpoint and its witnesses --------------------------------------------------------
def test_the_checkpoint_panel_checks_the_signature_and_each_witness(
    carol: User, log: Checkpoint
) -> None:
    witnesses = (
        Witness(url="http://127.0.0.1:9", verifier=WITNESS.verifier()),
        Witness(url="http://127.0.0.1:9", verifier=SILENT_WITNESS.verifier()),
    )
    with override_settings(GATEHOUSE_LOG=LogConfig(signing_key=LOG_KEY, witnesses=witnesses)):
        body = parse_note(log.note).text
        cosignature_store(
            checkpoint=log, witness=witnesses[0], line=cosign(body, WITNESS, 1_790_000_000)
        )
        page = signed_in(carol).get("/audit/").content.decode()
    signature = page[page.index('id="checkpoint-signature"') :]
    assert signature.index("Valid") < signature.index("</dd>")
    witness_block = page[page.index('id="checkpoint-witnesses"') :]
    witness_block = witness_block[: witness_block.index("</dd>")]
    assert "witness.test/w1" in witness_block and "Cosigned" in witness_block
    assert "2026-09-21" in witness_block  # the cosignature's own timestamp
    assert "witness.test/w2" in witness_block and "Not cosigned yet" in witness_block


def test_a_checkpoint_signed_by_another_key_shows_invalid_and_fails_verification(
    carol: User, log: Checkpoint
) -> None:
    forged = sign_checkpoint(
        CheckpointBody("gatehouse.local/audit", log.size, bytes(log.root_hash)),
        [Signer("gatehouse.local/audit", Ed25519PrivateKey.generate())],
    )
    tamper("UPDATE audit_checkpoint SET note = %s WHERE id = %s", [forged, log.pk])
    client = signed_in(carol)
    page = client.get("/audit/").content.decode()
    assert "Invalid" in page[page.index('id="checkpoint-signature"') :][:300]
    status, verdict = verify(client, 0, log.size - 1)
    assert status == 200 and "Failed" in verdict and "signature does not verify" in verdict


# -- verify a range --------------------------------------------------------------------------
def test_an_untouched_range_verifies(carol: User, log: Checkpoint) -> None:
    status, body = verify(signed_in(carol), 0, log.size - 1)
    assert status == 200, body
    assert 'data-ok="true"' in body and "Verified" in body
    assert f"VERIFIED: {log.size} entries, seq 0..{log.size - 1}" in body
    # A range in the middle: the tree before it comes from the stored nodes, the end is
    # proved consistent with the checkpoint.
    status, body = verify(signed_in(carol), seq_of(4), seq_of(9))
    assert status == 200 and 'data-ok="true"' in body, body


def test_every_checkpoint_inside_the_range_is_recomputed(
    carol: User, log: Checkpoint, edge: IssuedAgent, alice: User
) -> None:
    statements(edge, alice, range(26, 31), day=4)
    later = checkpoint_sign(now=log.signed_at + timedelta(seconds=5))
    assert later is not None and later.size > log.size
    verdict = integrity.log_range_verify(first=0, last=later.size - 1)
    assert verdict.ok, verdict.line
    assert verdict.report.checkpoints == 2  # log.size lies inside the range, later.size ends it
    # The log key signing another root for log.size (equivocation) fails the range there.
    forged = sign_checkpoint(
        CheckpointBody("gatehouse.local/audit", log.size, bytes(32)),
        [Signer("gatehouse.local/audit", LOG_KEY)],
    )
    tamper(
        "UPDATE audit_checkpoint SET note = %s, root_hash = %s WHERE id = %s",
        [forged, bytes(32), log.pk],
    )
    verdict = integrity.log_range_verify(first=0, last=later.size - 1)
    assert not verdict.ok and verdict.failing_seq == log.size - 1
    assert f"checkpoint size={log.size}: the entries do not hash to its root" in verdict.line


def test_a_rewritten_leaf_fails_at_its_seq(carol: User, log: Checkpoint) -> None:
    victim = seq_of(7)
    leaf = AuditEvent.objects.get(seq=victim).leaf
    tamper(
        "UPDATE audit_auditevent SET leaf = %s WHERE seq = %s",
        [leaf.replace("SELECT 7", "SELECT 8"), victim],
    )
    status, body = verify(signed_in(carol), 0, log.size - 1)
    assert status == 200 and 'data-ok="false"' in body, body
    assert f'id="failing-seq">{victim}<' in body
    assert "the stored leaf differs from the event&#x27;s columns: payload" in body


def test_an_event_and_its_leaf_rewritten_together_fail_at_its_seq(
    carol: User, log: Checkpoint
) -> None:
    victim = seq_of(12)
    event = AuditEvent.objects.get(seq=victim)
    payload = {"statement": "SELECT 0", "email": "<EMAIL>"}
    leaf = event.leaf.replace("SELECT 12", "SELECT 0")
    tamper(
        "UPDATE audit_auditevent SET leaf = %s, payload = %s WHERE seq = %s",
        [leaf, json.dumps(payload), victim],
    )
    verdict = integrity.log_range_verify(first=seq_of(10), last=seq_of(14))
    assert not verdict.ok and verdict.failing_seq == victim
    assert "leaf does not match its recorded leaf_hash" in verdict.first_problem


def test_a_changed_column_alone_fails_at_its_seq(carol: User, log: Checkpoint) -> None:
    victim = seq_of(2)
    tamper("UPDATE audit_auditevent SET actor_name = 'nobody' WHERE seq = %s", [victim])
    verdict = integrity.log_range_verify(first=0, last=log.size - 1)
    assert not verdict.ok and verdict.failing_seq == victim
    assert "columns: actor" in verdict.first_problem


def test_a_deleted_entry_fails_the_range(carol: User, log: Checkpoint) -> None:
    victim = seq_of(5)
    tamper("DELETE FROM audit_auditevent WHERE seq = %s", [victim])
    verdict = integrity.log_range_verify(first=0, last=log.size - 1)
    assert not verdict.ok and verdict.failing_seq == victim
    assert "missing" in verdict.first_problem


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        (5, 3, "must not be below First seq"),
        (0, integrity.RANGE_MAX_ENTRIES, f"at most {integrity.RANGE_MAX_ENTRIES} entries"),
        (0, 10_000, "not covered by a signed checkpoint yet"),
    ],
)
def test_ranges_the_server_will_not_run_are_answered_400(
    carol: User, log: Checkpoint, first: int, last: int, message: str
) -> None:
    status, body = verify(signed_in(carol), first, last)
    assert status == 400 and message in body, body


def test_without_htmx_the_verdict_comes_on_the_whole_page(carol: User, log: Checkpoint) -> None:
    response = signed_in(carol).get("/audit/verify", {"range-first": 0, "range-last": 3})
    page = response.content.decode()
    assert response.status_code == 200 and "<h1>Audit log</h1>" in page
    assert 'id="verify-result" data-ok="true"' in page


# -- downloads -------------------------------------------------------------------------------
def test_carol_downloads_the_bundle_and_the_export_is_recorded(
    carol: User, log: Checkpoint
) -> None:
    response = signed_in(carol).post("/audit/export", {"export-since": "2026-11-01T00:00:00Z"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/gzip"
    assert response["Content-Disposition"].startswith('attachment; filename="gatehouse-audit-')
    data = b"".join(response.streaming_content)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        names = {member.name.split("/", 1)[-1] for member in archive.getmembers()}
    assert {"manifest.json", "entries.jsonl"} <= names
    recorded = AuditEvent.objects.get(action=ExportAction.EXPORTED)
    assert recorded.actor_name == "carol"


def test_carol_downloads_the_evidence_report(carol: User, log: Checkpoint) -> None:
    response = signed_in(carol).post(
        "/audit/evidence", {"evidence-since": "30d", "evidence-standing_days": "7"}
    )
    assert response.status_code == 200, response.content
    assert response["Content-Disposition"].startswith('attachment; filename="gatehouse-evidence-')
    assert "A.8.15" in response.content.decode()  # the control table, ISO 27001:2022 Logging


def test_a_period_that_does_not_parse_is_refused_with_the_reason(
    carol: User, log: Checkpoint
) -> None:
    response = signed_in(carol).post("/audit/export", {"export-since": "last tuesday"})
    assert response.status_code == 400
    assert "neither ISO 8601 nor relative" in response.content.decode()
    assert not AuditEvent.objects.filter(action=ExportAction.EXPORTED).exists()
