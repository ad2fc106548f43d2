"""End to end: a control plane configured with a log key and a witness gets its checkpoints
cosigned by a real `python -m ledger.witness`, and keeps signing when the witness goes away."""

from __future__ import annotations

import base64
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from devstack.gatehouse import REPO, ControlPlane
from devstack.processes import ChildProcess
from ledger.cosignature import CosignatureVerifier
from ledger.note import Signer, open_note

pytestmark = pytest.mark.integration

ORIGIN = "audit.example.test/log"


@dataclass
class WitnessedLog:
    cp: ControlPlane
    witness: ChildProcess
    log_key: Signer
    witness_key: CosignatureVerifier

    def checkpoint(self) -> str:
        key = self.cp.admin_key_file.read_text().strip()
        request = urllib.request.Request(
            self.cp.url + "/api/v1/audit/checkpoint", headers={"Authorization": f"ApiKey {key}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read().decode()

    def activity(self, name: str) -> None:
        self.cp.api("POST", "/api/v1/service-accounts", {"name": name})


@pytest.fixture
def witnessed(tmp_path: Path) -> Iterator[WitnessedLog]:
    private = Ed25519PrivateKey.generate()
    log_key = Signer(ORIGIN, private)
    witness = ChildProcess(
        [
            sys.executable, "-m", "ledger.witness", "--init-key", "--name", "witness.test/e2e",
            "--key-file", str(tmp_path / "witness.key"), "--state", str(tmp_path / "state"),
            "--log-vkey", log_key.verifier().vkey, "--port", "0",
        ],
        log_path=tmp_path / "witness.log", cwd=REPO,
    )  # fmt: skip
    url, vkey = _announced(witness)
    seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    key_file = tmp_path / "log.key"
    key_file.write_text(base64.b64encode(seed).decode())
    cp = ControlPlane(
        tmp_path / "controlplane",
        extra_env={
            "GATEHOUSE_LOG_ORIGIN": ORIGIN,
            "GATEHOUSE_LOG_SIGNING_KEY_FILE": str(key_file),
            "GATEHOUSE_LOG_WITNESSES": f"{url} {vkey}",
        },
    )
    cp.bootstrap()
    cp.start()
    try:
        yield WitnessedLog(cp, witness, log_key, CosignatureVerifier.from_vkey(vkey))
    finally:
        cp.stop()
        witness.stop()


def _announced(process: ChildProcess, timeout_s: float = 30) -> tuple[str, str]:
    deadline = time.monotonic() + timeout_s
    pattern = re.compile(r"listening on (http://\S+) vkey (\S+)")
    while not (found := pattern.search(process.log_path.read_text())):
        if not process.alive() or time.monotonic() > deadline:
            raise RuntimeError(f"witness did not start:\n{process.log_tail()}")
        time.sleep(0.05)
    return found[1], found[2]


def _eventually(check: Callable[[], int], timeout_s: float = 30) -> int:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            result = check()
            if result:
                return result
        except (AssertionError, urllib.error.HTTPError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)


def test_checkpoints_carry_the_witness_cosignature_and_survive_its_absence(
    witnessed: WitnessedLog,
) -> None:
    log = witnessed
    log.activity("witnessed-1")
    verifiers = [log.log_key.verifier(), log.witness_key]

    def cosigned() -> int:
        note = log.checkpoint()
        _, names = open_note(note, verifiers)
        return int(note.split("\n")[1]) if names == [ORIGIN, "witness.test/e2e"] else 0

    first = _eventually(cosigned)
    log.activity("witnessed-2")
    second = _eventually(lambda: size if (size := cosigned()) > first else 0)
    assert second > first  # the witness checked consistency from `first` before cosigning

    log.witness.stop()
    log.activity("witnessed-3")

    def signed_alone() -> int:
        note = log.checkpoint()
        _, names = open_note(note, verifiers)
        size = int(note.split("\n")[1])
        return size if size > second and names == [ORIGIN] else 0

    assert _eventually(signed_alone) > second
