"""A real agent's statements land in the tamper-evident log: one gapless sequence, and an
auditor proves a statement is in the log against the checkpoint the control plane signed."""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.request

import psycopg
import pytest

from ledger import merkle
from ledger.checkpoint import Checkpoint
from ledger.note import Verifier, open_note
from tests.integration.conftest import AI_ACCOUNT, Gateway

pytestmark = pytest.mark.integration


def _signed_checkpoint(gateway: Gateway, *, covering: int, timeout_s: float = 15) -> str:
    """The latest checkpoint note once it covers seq ``covering``."""
    key = gateway.cp.admin_key_file.read_text().strip()
    deadline = time.monotonic() + timeout_s
    while True:
        request = urllib.request.Request(
            gateway.cp.url + "/api/v1/audit/checkpoint",
            headers={"Authorization": f"ApiKey {key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                note = response.read().decode()
            if int(note.split("\n")[1]) > covering:
                return note
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"no checkpoint covering seq {covering} in {timeout_s}s")
        time.sleep(0.1)


def test_statements_through_the_agent_are_provably_in_the_signed_log(gateway: Gateway) -> None:
    marker = f"logged_{time.time_ns()}"
    with psycopg.connect(gateway.dsn(), autocommit=True) as conn:
        for number in range(5):
            conn.execute(f"select {number} as {marker}")
    events = gateway.wait_for_events(
        lambda evs: sum(marker in e["payload"].get("statement", "") for e in evs) == 5,
        agent="edge-1",
    )
    mine = [e for e in events if marker in e["payload"].get("statement", "")]
    session = [e for e in events if e["session"] == mine[0]["session"]]
    agent_seqs = [e["agent_seq"] for e in session]
    assert agent_seqs == list(range(agent_seqs[0], agent_seqs[0] + len(agent_seqs)))

    everything = gateway.events()
    assert sorted(e["seq"] for e in everything) == list(range(len(everything)))
    assert not [e for e in everything if e["action"] == "audit.agent_seq_gap"]

    statement = mine[-1]
    note = _signed_checkpoint(gateway, covering=statement["seq"])
    keys = gateway.cp.api("GET", "/api/v1/audit/keys")["keys"]
    log_key = Verifier.from_vkey(next(k["vkey"] for k in keys if k["status"] == "active"))
    text, signers = open_note(note, [log_key])
    checkpoint = Checkpoint.parse(text)
    assert signers == [checkpoint.origin]

    proof = gateway.cp.api(
        "GET", f"/api/v1/audit/proofs/inclusion?seq={statement['seq']}&size={checkpoint.size}"
    )
    leaf = proof["leaf"].encode()
    assert marker in proof["leaf"] and AI_ACCOUNT in proof["leaf"]
    merkle.verify_inclusion(
        merkle.leaf_hash(leaf),
        statement["seq"],
        checkpoint.size,
        [base64.b64decode(node) for node in proof["hashes"]],
        checkpoint.root_hash,
    )
    with pytest.raises(merkle.ProofError):
        forged = leaf.replace(marker.encode(), b"dropped_table")
        merkle.verify_inclusion(
            merkle.leaf_hash(forged),
            statement["seq"],
            checkpoint.size,
            [base64.b64decode(node) for node in proof["hashes"]],
            checkpoint.root_hash,
        )
