"""Witnesses: each new checkpoint goes to a real `python -m ledger.witness` over the C2SP
tlog-witness protocol; its cosignatures are verified, kept and served with the checkpoint;
a witness that is ahead (409) or down never stops the log."""

from __future__ import annotations

import re
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import override_settings

from controlplane.agents.services import IssuedAgent
from controlplane.audit.checkpoints import checkpoint_sign
from controlplane.audit.config import LogConfig, Witness
from controlplane.audit.log import checkpoint_note
from controlplane.audit.models import AuditEvent, Checkpoint, Cosignature
from controlplane.audit.witnesses import witnesses_submit
from devstack.gatehouse import REPO
from devstack.processes import ChildProcess
from ledger.cosignature import CosignatureVerifier
from ledger.note import Signer, open_note
from tests.controlplane.audit.test_log import ingest

LOG_KEY = Ed25519PrivateKey.generate()
LOG = Signer("gatehouse.local/audit", LOG_KEY)


@pytest.fixture
def witness(tmp_path: Path) -> Iterator[Witness]:
    """A real witness trusting this log's key, on a free port."""
    process = ChildProcess(
        [
            sys.executable, "-m", "ledger.witness", "--init-key", "--name", "witness.test/w1",
            "--key-file", str(tmp_path / "witness.key"), "--state", str(tmp_path / "state"),
            "--log-vkey", LOG.verifier().vkey, "--port", "0",
        ],
        log_path=tmp_path / "witness.log", cwd=REPO,
    )  # fmt: skip
    try:
        yield _announced(process)
    finally:
        process.stop()


def _announced(process: ChildProcess, timeout_s: float = 30) -> Witness:
    deadline = time.monotonic() + timeout_s
    pattern = re.compile(r"listening on (http://\S+) vkey (\S+)")
    while not (found := pattern.search(process.log_path.read_text())):
        if not process.alive() or time.monotonic() > deadline:
            raise RuntimeError(f"witness did not start:\n{process.log_tail()}")
        time.sleep(0.05)
    return Witness(url=found[1], verifier=CosignatureVerifier.from_vkey(found[2]))


def signed(edge: IssuedAgent, entries: int) -> Checkpoint:
    """``entries`` more agent events, then a checkpoint over them."""
    previous = Checkpoint.objects.order_by("-size").first()
    first = AuditEvent.objects.filter(agent=edge.agent).count() + 1
    ingest(edge, range(first, first + entries))
    checkpoint = checkpoint_sign(
        now=previous.signed_at + timedelta(seconds=1) if previous else None
    )
    assert checkpoint is not None
    return checkpoint


def test_a_witness_cosigns_each_checkpoint_and_the_note_carries_it(
    edge: IssuedAgent, witness: Witness
) -> None:
    with override_settings(GATEHOUSE_LOG=LogConfig(signing_key=LOG_KEY, witnesses=(witness,))):
        first = signed(edge, 3)
        assert witnesses_submit(checkpoint=first) == 1
        second = signed(edge, 5)  # old = first.size, with a consistency proof
        assert witnesses_submit(checkpoint=second) == 1
    for checkpoint in (first, second):
        cosignature = Cosignature.objects.get(checkpoint=checkpoint)
        assert cosignature.witness == "witness.test/w1"
        _, names = open_note(checkpoint_note(checkpoint), [LOG.verifier(), witness.verifier])
        assert names == ["gatehouse.local/audit", "witness.test/w1"]


def test_a_witness_that_saw_a_later_size_is_caught_up_after_its_409(
    edge: IssuedAgent, witness: Witness
) -> None:
    with override_settings(GATEHOUSE_LOG=LogConfig(signing_key=LOG_KEY, witnesses=(witness,))):
        first = signed(edge, 2)
        # Another replica got `first` cosigned; this database never stored that cosignature.
        _post(witness, f"old 0\n\n{first.note}")
        second = signed(edge, 4)
        assert witnesses_submit(checkpoint=second) == 1
    assert Cosignature.objects.filter(checkpoint=second).exists()


def test_a_witness_that_is_down_never_stops_signing(edge: IssuedAgent) -> None:
    gone = Witness(
        url="http://127.0.0.1:9",  # the discard port: nothing listens
        verifier=CosignatureVerifier.from_vkey(_witness_vkey("witness.gone")),
    )
    with override_settings(GATEHOUSE_LOG=LogConfig(signing_key=LOG_KEY, witnesses=(gone,))):
        checkpoint = signed(edge, 2)
        assert witnesses_submit(checkpoint=checkpoint) == 0
        assert signed(edge, 2).size > checkpoint.size
    assert not Cosignature.objects.exists()


def _witness_vkey(name: str) -> str:
    from ledger.cosignature import CosignatureSigner

    return CosignatureSigner.generate(name).verifier().vkey


def _post(witness: Witness, body: str) -> str:
    request = urllib.request.Request(
        f"{witness.url}/add-checkpoint", data=body.encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()
