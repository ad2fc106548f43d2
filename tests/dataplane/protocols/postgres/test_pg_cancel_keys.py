"""Cancel keys: clients get the gateway's own keys; only an exact match reaches upstream."""

from __future__ import annotations

from dataplane.core.session import Session
from dataplane.protocols.postgres.cancel import CancelKeys, CancelTarget


def target() -> CancelTarget:
    return CancelTarget(
        session=Session(protocol="postgres", client_address=""),
        host="127.0.0.1",
        port=5432,
        upstream_pid=4242,
        upstream_secret=99,
    )


def test_an_issued_key_finds_its_upstream_backend() -> None:
    keys, upstream = CancelKeys(), target()
    pid, secret = keys.issue(upstream)
    assert keys.find(pid, secret) is upstream


def test_a_wrong_secret_or_unknown_pid_finds_nothing() -> None:
    keys = CancelKeys()
    pid, secret = keys.issue(target())
    assert keys.find(pid, (secret + 1) % 2**32) is None
    assert keys.find(pid + 1 if pid < 2**31 - 1 else 1, secret) is None


def test_a_withdrawn_key_no_longer_cancels() -> None:
    keys = CancelKeys()
    pid, secret = keys.issue(target())
    keys.withdraw(pid)
    assert keys.find(pid, secret) is None and len(keys) == 0


def test_issued_pids_are_unique_positive_31_bit_numbers() -> None:
    keys = CancelKeys()
    pids = {keys.issue(target())[0] for _ in range(2000)}
    assert len(pids) == 2000 and all(0 < pid < 2**31 for pid in pids)
