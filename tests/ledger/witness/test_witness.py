"""The witness process, driven over HTTP exactly as a log would (C2SP tlog-witness).

Each test starts the real `python -m ledger.witness` on a free loopback port with its own
key file and state directory, trusting the sample log's key.
"""

from __future__ import annotations

import base64
import http.client
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.cosignature import CosignatureVerifier, verifier_from_vkey, verify_cosignature
from ledger.note import Signer
from tests.ledger.sample_log import SampleLog

REPO = Path(__file__).resolve().parents[3]


@dataclass
class WitnessProcess:
    process: subprocess.Popen[str]
    port: int
    vkey: str

    def add_checkpoint(self, body: bytes | str) -> tuple[int, str, str]:
        data = body.encode() if isinstance(body, str) else body
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("POST", "/add-checkpoint", body=data)
            response = connection.getresponse()
            return (
                response.status,
                response.getheader("Content-Type") or "",
                response.read().decode(),
            )
        finally:
            connection.close()

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        _, errors = self.process.communicate(timeout=10)
        return errors


def start_witness(tmp_path: Path, *log_vkeys: str) -> WitnessProcess:
    args = [sys.executable, "-m", "ledger.witness", "--init-key", "--name", "witness.test/w1"]
    args += [
        "--key-file",
        str(tmp_path / "witness.key"),
        "--state",
        str(tmp_path / "state"),
        "--port",
        "0",
    ]
    for vkey in log_vkeys:
        args += ["--log-vkey", vkey]
    process = subprocess.Popen(
        args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    banner = (
        process.stdout.readline()
    )  # witness <name> listening on http://127.0.0.1:<port> vkey <vkey>
    assert " listening on http://127.0.0.1:" in banner, process.communicate(timeout=10)
    address, vkey = banner.split()[4], banner.split()[6]
    return WitnessProcess(process, int(address.rsplit(":", 1)[1]), vkey)


@pytest.fixture
def witness(tmp_path: Path, sample_log: SampleLog) -> Iterator[WitnessProcess]:
    running = start_witness(tmp_path, sample_log.vkey)
    yield running
    if running.process.poll() is None:
        running.stop()


def request(log: SampleLog, old: int, size: int, *, note: str | None = None) -> str:
    proof = log.consistency(old, size) if old else []
    lines = [f"old {old}"] + [base64.b64encode(node).decode() for node in proof]
    return "\n".join(lines) + "\n\n" + (note or log.signed(size))


def test_the_first_checkpoint_is_cosigned_and_the_cosignature_verifies(
    witness: WitnessProcess, sample_log: SampleLog
) -> None:
    status, content_type, body = witness.add_checkpoint(request(sample_log, 0, 40))
    assert status == 200, body
    assert content_type.startswith("text/plain") and body.startswith("\u2014 witness.test/w1 ")
    verifier = verifier_from_vkey(witness.vkey)
    assert isinstance(verifier, CosignatureVerifier)
    assert verify_cosignature(sample_log.checkpoint(40).body(), body, verifier) > 1_700_000_000


def test_a_consistent_growth_is_cosigned(witness: WitnessProcess, sample_log: SampleLog) -> None:
    assert witness.add_checkpoint(request(sample_log, 0, 40))[0] == 200
    assert witness.add_checkpoint(request(sample_log, 40, 97))[0] == 200
    assert witness.add_checkpoint(request(sample_log, 97, 120))[0] == 200


def test_a_second_root_for_the_cosigned_size_is_refused_409(
    witness: WitnessProcess, sample_log: SampleLog
) -> None:
    assert witness.add_checkpoint(request(sample_log, 0, 40))[0] == 200
    forked = sign_checkpoint(Checkpoint(sample_log.origin, 40, bytes(32)), [sample_log.signer])
    status, _, body = witness.add_checkpoint(f"old 40\n\n{forked}")
    assert status == 409 and "equivocation" in body


def test_a_stale_old_size_gets_409_with_the_cosigned_size(
    witness: WitnessProcess, sample_log: SampleLog
) -> None:
    assert witness.add_checkpoint(request(sample_log, 0, 40))[0] == 200
    assert witness.add_checkpoint(request(sample_log, 0, 60)) == (409, "text/x.tlog.size", "40\n")
    assert witness.add_checkpoint(request(sample_log, 20, 60)) == (409, "text/x.tlog.size", "40\n")


def test_an_inconsistent_checkpoint_is_refused_422(
    witness: WitnessProcess, sample_log: SampleLog
) -> None:
    assert witness.add_checkpoint(request(sample_log, 0, 40))[0] == 200
    forked = sign_checkpoint(Checkpoint(sample_log.origin, 60, bytes(32)), [sample_log.signer])
    proof = "".join(base64.b64encode(h).decode() + "\n" for h in sample_log.consistency(40, 60))
    status, _, body = witness.add_checkpoint(f"old 40\n{proof}\n{forked}")
    assert status == 422 and "consistency proof 40 -> 60 fails" in body


def test_a_bad_log_signature_is_refused_403(witness: WitnessProcess, sample_log: SampleLog) -> None:
    impostor = Signer.generate(sample_log.origin)
    forged = sign_checkpoint(sample_log.checkpoint(40), [impostor])
    assert witness.add_checkpoint(f"old 0\n\n{forged}")[0] == 403
    genuine = sample_log.signed(40)
    text, signature = genuine.rsplit(" ", 1)
    tampered = (
        text + " " + base64.b64encode(base64.b64decode(signature)[:4] + bytes(64)).decode() + "\n"
    )
    assert witness.add_checkpoint(f"old 0\n\n{tampered}")[0] == 403


def test_an_unknown_origin_is_404(witness: WitnessProcess) -> None:
    other = SampleLog(origin="elsewhere.test/log").grow(3)
    assert witness.add_checkpoint(request(other, 0, 3))[0] == 404


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"garbage",
        b"old 01\n\nx",
        b"old 5\nnot-base64!\n\nx",
        b"\xff\xfe",
        b"old 0\n\nno checkpoint here\n",
    ],
)
def test_garbage_is_400_and_the_witness_keeps_serving(
    witness: WitnessProcess, sample_log: SampleLog, body: bytes
) -> None:
    assert witness.add_checkpoint(body)[0] == 400
    assert witness.add_checkpoint(request(sample_log, 0, 10))[0] == 200


def test_an_old_size_beyond_the_checkpoint_is_400(
    witness: WitnessProcess, sample_log: SampleLog
) -> None:
    assert witness.add_checkpoint(f"old 50\n\n{sample_log.signed(40)}")[0] == 400


def test_racing_submissions_from_one_old_size_get_exactly_one_cosignature(
    witness: WitnessProcess, sample_log: SampleLog
) -> None:
    bodies = [request(sample_log, 0, size) for size in range(40, 120, 10)]
    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        statuses = sorted(status for status, _, _ in pool.map(witness.add_checkpoint, bodies))
    assert statuses == [200] + [409] * (len(bodies) - 1)


def test_a_restart_keeps_the_cosigned_size(tmp_path: Path, sample_log: SampleLog) -> None:
    first = start_witness(tmp_path, sample_log.vkey)
    assert first.add_checkpoint(request(sample_log, 0, 40))[0] == 200
    log_lines = first.stop()
    assert "cosigned gatehouse.test/audit size 40" in log_lines
    again = start_witness(tmp_path, sample_log.vkey)
    try:
        assert again.vkey == first.vkey
        assert again.add_checkpoint(request(sample_log, 0, 60)) == (409, "text/x.tlog.size", "40\n")
        assert again.add_checkpoint(request(sample_log, 40, 60))[0] == 200
    finally:
        again.stop()


def test_init_key_creates_an_owner_only_key_file(witness: WitnessProcess, tmp_path: Path) -> None:
    mode = os.stat(tmp_path / "witness.key").st_mode & 0o777
    assert mode == 0o600
    assert (tmp_path / "witness.key").read_text().startswith("PRIVATE+KEY+witness.test/w1+")
