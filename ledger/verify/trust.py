"""Which keys the verifier trusts: the auditor's (`--log-key`, `--witness-key`) or, failing
that, the log keys the bundle lists (reported as unanchored: anyone able to rewrite the whole
bundle could also have replaced those)."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.bundle.layout import KeyRecord
from ledger.cosignature import CosignatureVerifier, verifier_from_vkey
from ledger.note import NoteError, NoteVerifier
from ledger.verify.report import Report

UNANCHORED = "log keys taken from the bundle's keys.txt (pass --log-key to anchor trust)"


@dataclass(frozen=True)
class Trust:
    """The log keys checkpoints and the manifest must be signed by, and the witnesses required."""

    log: tuple[NoteVerifier, ...]
    witnesses: tuple[CosignatureVerifier, ...]

    @property
    def all(self) -> tuple[NoteVerifier, ...]:
        return self.log + self.witnesses


def trust_for(
    report: Report, *, log_vkeys: list[str], witness_vkeys: list[str], bundle_keys: list[KeyRecord]
) -> Trust:
    """Build the verifiers; a key that does not parse is a failure, not a silent skip."""
    if not log_vkeys:
        report.warnings.append(UNANCHORED)
        log_vkeys = [key.vkey for key in bundle_keys if key.role == "log"]
    log = tuple(_verifiers(report, log_vkeys, want_witness=False))
    witnesses = tuple(_verifiers(report, witness_vkeys, want_witness=True))
    if not log:
        report.fail("keys", "no log public key to check signatures with")
    return Trust(log, tuple(w for w in witnesses if isinstance(w, CosignatureVerifier)))


def _verifiers(report: Report, vkeys: list[str], *, want_witness: bool) -> list[NoteVerifier]:
    verifiers: list[NoteVerifier] = []
    for vkey in vkeys:
        try:
            verifier = verifier_from_vkey(vkey)
        except (NoteError, ValueError) as error:
            report.fail("keys", f"cannot read vkey {vkey!r}: {error}")
            continue
        if isinstance(verifier, CosignatureVerifier) != want_witness:
            kind = "a witness (type 0x04)" if want_witness else "a log (type 0x01)"
            report.fail("keys", f"{verifier.name!r} is not {kind} key")
            continue
        verifiers.append(verifier)
    return verifiers
