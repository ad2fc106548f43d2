"""REST: auditors fetch the signed checkpoint, proofs against it, and the log's keys."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from controlplane.agents.services import IssuedAgent
from controlplane.audit.checkpoints import checkpoint_sign
from controlplane.audit.models import LogKey
from controlplane.identities.models import User
from ledger import merkle
from ledger.checkpoint import open_checkpoint
from ledger.note import Verifier
from tests.controlplane.audit.test_log import ingest

ClientAs = Callable[[User | None], APIClient]


def signed_log(edge: IssuedAgent, entries: int = 20) -> int:
    """Entries plus a signed checkpoint over them; returns the checkpoint's size."""
    first = checkpoint_sign()
    assert first is not None
    ingest(edge, range(1, entries + 1))
    checkpoint = checkpoint_sign(now=first.signed_at + timedelta(seconds=1))
    assert checkpoint is not None
    return checkpoint.size


def test_an_auditor_verifies_an_entry_against_the_signed_checkpoint(
    client_as: ClientAs, carol: User, edge: IssuedAgent
) -> None:
    size = signed_log(edge)
    api = client_as(carol)
    keys = api.get("/api/v1/audit/keys").json()
    (active,) = [key["vkey"] for key in keys["keys"] if key["status"] == "active"]
    note = api.get("/api/v1/audit/checkpoint")
    assert note.status_code == 200 and note["Content-Type"].startswith("text/plain")
    checkpoint, _ = open_checkpoint(note.content.decode(), [Verifier.from_vkey(active)])
    assert checkpoint.size == size and keys["origin"] == checkpoint.origin

    proof = api.get(f"/api/v1/audit/proofs/inclusion?seq=5&size={size}").json()
    leaf_hash = merkle.leaf_hash(proof["leaf"].encode())
    assert base64.b64decode(proof["leaf_hash"]) == leaf_hash
    hashes = [base64.b64decode(h) for h in proof["hashes"]]
    merkle.verify_inclusion(leaf_hash, 5, size, hashes, checkpoint.root_hash)


def test_inclusion_defaults_to_the_latest_checkpoint(
    client_as: ClientAs, bob: User, edge: IssuedAgent
) -> None:
    size = signed_log(edge)
    proof = client_as(bob).get("/api/v1/audit/proofs/inclusion?seq=0").json()
    assert proof["size"] == size and proof["seq"] == 0


def test_consistency_between_two_checkpoints_verifies(
    client_as: ClientAs, carol: User, edge: IssuedAgent
) -> None:
    api = client_as(carol)
    old_size = signed_log(edge, entries=5)
    verifier = Verifier.from_vkey(LogKey.objects.active().get().vkey)
    old, _ = open_checkpoint(api.get("/api/v1/audit/checkpoint").content.decode(), [verifier])
    ingest(edge, range(6, 40))
    latest = checkpoint_sign(now=timezone.now() + timedelta(seconds=2))
    assert latest is not None and latest.size > old_size
    new_note = api.get("/api/v1/audit/checkpoint").content.decode()
    new, _ = open_checkpoint(new_note, [verifier])
    body = api.get(f"/api/v1/audit/proofs/consistency?old={old.size}&new={new.size}").json()
    hashes = [base64.b64decode(h) for h in body["hashes"]]
    merkle.verify_consistency(old.size, new.size, old.root_hash, new.root_hash, hashes)
    older = api.get(f"/api/v1/audit/checkpoint?size={old.size}").content.decode()
    assert open_checkpoint(older, [verifier])[0] == old


def test_proofs_beyond_the_tree_are_refused(
    client_as: ClientAs, carol: User, edge: IssuedAgent
) -> None:
    size = signed_log(edge)
    api = client_as(carol)
    assert api.get(f"/api/v1/audit/proofs/inclusion?seq={size}&size={size}").status_code == 400
    assert api.get(f"/api/v1/audit/proofs/inclusion?seq=0&size={size + 999}").status_code == 400
    assert api.get(f"/api/v1/audit/proofs/consistency?old={size}&new=1").status_code == 400
    assert api.get("/api/v1/audit/proofs/inclusion?seq=-1").status_code == 400
    assert api.get("/api/v1/audit/checkpoint?size=999999").status_code == 404


def test_before_the_first_checkpoint_there_is_nothing_to_serve(
    client_as: ClientAs, carol: User
) -> None:
    api = client_as(carol)
    assert api.get("/api/v1/audit/checkpoint").status_code == 404
    assert api.get("/api/v1/audit/proofs/inclusion?seq=0").status_code == 404


def test_only_auditors_and_administrators_read_the_log(
    client_as: ClientAs, alice: User, agent_smith: User, edge: IssuedAgent
) -> None:
    signed_log(edge, entries=1)
    for path in (
        "/api/v1/audit/checkpoint",
        "/api/v1/audit/proofs/inclusion?seq=0",
        "/api/v1/audit/proofs/consistency?old=0",
        "/api/v1/audit/keys",
        "/api/v1/audit/gaps",
    ):
        assert client_as(alice).get(path).status_code == 403
        assert client_as(agent_smith).get(path).status_code == 403
        assert client_as(None).get(path).status_code in (401, 403)


def test_an_auditor_sees_which_agent_seqs_never_arrived(
    client_as: ClientAs, carol: User, edge: IssuedAgent
) -> None:
    ingest(edge, [1, 2, 6])
    api = client_as(carol)
    (gap,) = api.get("/api/v1/audit/gaps?agent=edge-1").json()
    assert (gap["agent"], gap["first_missing"], gap["last_missing"], gap["filled"]) == (
        "edge-1",
        3,
        5,
        0,
    )
    assert api.get("/api/v1/audit/gaps?agent=edge-2").json() == []
