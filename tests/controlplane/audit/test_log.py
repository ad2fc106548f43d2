"""The sequencer: every event, from agents or the control plane, gets the next seq, its
canonical leaf and the Merkle nodes it completes; agents' missing seqs are recorded."""

from __future__ import annotations

from datetime import UTC, datetime

import pymerkle
import pytest
from django.db import transaction

from controlplane.agents.services import IssuedAgent
from controlplane.audit.log import (
    audit_gaps_list,
    consistency_proof_build,
    entries_range,
    inclusion_proof_build,
    log_tree_size,
    root_build,
)
from controlplane.audit.models import AuditEvent, MerkleNode
from controlplane.audit.services import audit_event_record, audit_events_ingest
from controlplane.identities.models import User
from dataplane.contract import Actor
from dataplane.contract import AuditEvent as WireEvent
from ledger import merkle
from ledger.leaf import parse_leaf


def wire_event(seq: int, **payload: object) -> WireEvent:
    return WireEvent(
        seq=seq,
        time=datetime(2026, 1, 1, 12, 0, seq % 60, 123456, tzinfo=UTC).isoformat(),
        action="statement",
        actor=Actor(sub="s-42", kind="service_account", name="agent-smith"),
        resource="appdb",
        protocol="postgres",
        session="s-1",
        payload=payload or {"statement": f"SELECT {seq}"},
    )


def ingest(edge: IssuedAgent, seqs: range | list[int]) -> None:
    audit_events_ingest(agent=edge.agent, events=[wire_event(seq) for seq in seqs])


def leaves() -> list[bytes]:
    return [
        leaf.encode() for leaf in AuditEvent.objects.order_by("seq").values_list("leaf", flat=True)
    ]


def test_agent_and_control_plane_events_share_one_gapless_sequence(
    edge: IssuedAgent, bob: User
) -> None:
    start = log_tree_size()  # fixtures record events of their own
    ingest(edge, range(1, 4))
    with transaction.atomic():
        audit_event_record(actor=bob, action="grant.created", resource="appdb")
    ingest(edge, range(4, 6))
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(start + 6))
    assert [e.action for e in entries_range(first=start, last=start + 5)] == [
        *["statement"] * 3,
        "grant.created",
        *["statement"] * 2,
    ]


def test_each_leaf_is_the_canonical_v1_document_of_its_event(edge: IssuedAgent) -> None:
    ingest(edge, [1])
    event = AuditEvent.objects.get(agent=edge.agent, agent_seq=1)
    assert parse_leaf(event.leaf.encode()) == {
        "v": 1,
        "seq": event.seq,
        "time": "2026-01-01T12:00:01.123456Z",
        "source": "agent",
        "agent": "edge-1",
        "agent_seq": 1,
        "actor": {"sub": "s-42", "kind": "service_account", "name": "agent-smith"},
        "on_behalf_of": None,
        "resource": "appdb",
        "protocol": "postgres",
        "session": "s-1",
        "action": "statement",
        "payload": {"statement": "SELECT 1"},
    }


def test_numbers_canonical_json_cannot_hold_are_kept_as_text_not_refused(
    edge: IssuedAgent,
) -> None:
    # Refusing the batch would make the agent resend it forever; the value is kept as text.
    huge = {"rows": 2**64, "nested": [{"ratio": float("nan")}], "small": 7}
    audit_events_ingest(agent=edge.agent, events=[wire_event(1, **huge)])

    event = AuditEvent.objects.get(agent=edge.agent, agent_seq=1)
    expected = {"rows": str(2**64), "nested": [{"ratio": "nan"}], "small": 7}
    assert parse_leaf(event.leaf.encode())["payload"] == expected
    assert event.payload == expected


def test_a_control_plane_leaf_names_the_actor_and_carries_json_payloads(bob: User) -> None:
    moment = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
    with transaction.atomic():
        event = audit_event_record(
            actor=bob, action="grant.created", payload={"expires_at": moment, "n": 2}
        )
    document = parse_leaf(event.leaf.encode())
    assert document["actor"] == {"sub": str(bob.pk), "kind": "user", "name": "bob"}
    assert document["payload"] == {"expires_at": "2026-02-03T04:05:06Z", "n": 2}
    assert (document["source"], document["agent"], document["agent_seq"]) == (
        "controlplane",
        None,
        None,
    )


def test_the_stored_tree_matches_an_independent_merkle_implementation(edge: IssuedAgent) -> None:
    ingest(edge, range(1, 38))
    size = log_tree_size()
    tree = pymerkle.InmemoryTree(algorithm="sha256")
    for leaf in leaves():
        tree.append_entry(leaf)
    assert root_build(size=size) == tree.get_root() == merkle.root(map(merkle.leaf_hash, leaves()))


def test_every_perfect_subtree_is_stored_exactly_once(edge: IssuedAgent) -> None:
    ingest(edge, range(1, 20))
    size = log_tree_size()
    expected = sum(size >> level for level in range(size.bit_length()))
    assert MerkleNode.objects.count() == expected


def test_proofs_from_stored_nodes_verify(edge: IssuedAgent) -> None:
    ingest(edge, range(1, 30))
    size, hashes = log_tree_size(), [merkle.leaf_hash(leaf) for leaf in leaves()]
    root = root_build(size=size)
    for seq in (0, 1, size // 2, size - 1):
        proof = inclusion_proof_build(seq=seq, size=size)
        merkle.verify_inclusion(hashes[seq], seq, size, proof, root)
    for old in (1, 7, size - 1):
        old_root = root_build(size=old)
        proof = consistency_proof_build(old=old, new=size)
        merkle.verify_consistency(old, size, old_root, root, proof)


def test_a_resent_batch_takes_no_new_seqs(edge: IssuedAgent) -> None:
    ingest(edge, range(1, 4))
    size = log_tree_size()
    ingest(edge, range(1, 4))
    ingest(edge, [3, 3, 4])
    assert log_tree_size() == size + 1
    assert AuditEvent.objects.filter(agent=edge.agent).count() == 4


def test_an_agent_batch_that_skips_seqs_is_recorded_as_a_gap(edge: IssuedAgent) -> None:
    ingest(edge, [1, 2, 5, 6, 9])
    gaps = audit_gaps_list()
    assert [(g.agent, g.first_missing, g.last_missing, g.filled) for g in gaps] == [
        ("edge-1", 3, 4, 0),
        ("edge-1", 7, 8, 0),
    ]
    record = AuditEvent.objects.get(seq=gaps[0].seq)
    assert (record.source, record.action) == ("controlplane", "audit.agent_seq_gap")


def test_a_first_batch_that_does_not_start_at_one_is_a_gap(edge: IssuedAgent) -> None:
    ingest(edge, [4, 5])
    assert [(g.first_missing, g.last_missing) for g in audit_gaps_list(agent=edge.agent)] == [
        (1, 3)
    ]


def test_a_late_delivery_fills_a_recorded_gap_without_a_new_one(edge: IssuedAgent) -> None:
    ingest(edge, [1, 4])
    ingest(edge, [2, 3])
    assert [(g.first_missing, g.last_missing, g.filled) for g in audit_gaps_list()] == [(2, 3, 2)]


def test_contiguous_batches_record_no_gap(edge: IssuedAgent) -> None:
    ingest(edge, range(1, 5))
    ingest(edge, range(5, 9))
    assert audit_gaps_list() == []


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_service_leaves_no_hole_in_the_sequence() -> None:
    with transaction.atomic():
        audit_event_record(actor=None, action="grant.created")
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_event_record(actor=None, action="grant.created")
        raise RuntimeError("the service failed after recording")
    with transaction.atomic():
        audit_event_record(actor=None, action="grant.revoked")
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", "action")) == [
        (0, "grant.created"),
        (1, "grant.revoked"),
    ]
