"""Submitting checkpoints to witnesses (C2SP tlog-witness) and keeping their cosignatures.

``POST <witness URL>/add-checkpoint`` with ``old <size>``, the consistency proof from that
size (one base64 hash a line), a blank line and the signed checkpoint. The witness answers
200 with its cosignature line(s), or 409 with the size it last cosigned (``text/x.tlog.size``)
when ``old`` was not it, in which case the request is sent once more from that size. A witness
that is down, slow or refusing is logged and skipped: it never holds up the log, and the next
checkpoint brings it up to date with one consistency proof.
"""

from __future__ import annotations

import base64
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max

from controlplane.audit.config import Witness
from controlplane.audit.log import consistency_proof_build
from controlplane.audit.models import Checkpoint, Cosignature
from ledger.cosignature import verify_cosignature
from ledger.note import NoteError, parse_note

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0
SIZE_CONTENT_TYPE = "text/x.tlog.size"


class WitnessUnavailable(Exception):
    """The witness could not be reached, refused the checkpoint, or sent nothing usable."""


@dataclass(frozen=True)
class WitnessAnswer:
    status: int
    content_type: str
    body: str


def witnesses_submit(*, checkpoint: Checkpoint) -> int:
    """Send ``checkpoint`` to every configured witness; returns how many cosigned it.
    Failures are logged, never raised: witnesses add assurance, they do not gate the log."""
    cosigned = 0
    for witness in settings.GATEHOUSE_LOG.witnesses:
        try:
            cosignature_store(
                checkpoint=checkpoint, witness=witness, line=_submit(witness, checkpoint)
            )
            cosigned += 1
        except WitnessUnavailable as exc:
            logger.warning(
                "witness %s did not cosign size %d: %s", witness.url, checkpoint.size, exc
            )
    return cosigned


def cosignature_store(*, checkpoint: Checkpoint, witness: Witness, line: str) -> Cosignature:
    """Verify a witness's cosignature line over ``checkpoint`` and keep it (once per key)."""
    body = parse_note(checkpoint.note).text
    try:
        timestamp = verify_cosignature(body, line, witness.verifier)
    except NoteError as exc:
        raise WitnessUnavailable(f"its cosignature does not verify: {exc}") from None
    key_id = witness.verifier.key_id.hex()
    existing = Cosignature.objects.filter(checkpoint=checkpoint, key_id=key_id).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Cosignature.objects.create(
                checkpoint=checkpoint,
                witness=witness.verifier.name,
                key_id=key_id,
                line=line.removesuffix("\n"),
                cosigned_at=datetime.fromtimestamp(timestamp, tz=UTC),
            )
    except IntegrityError:  # another replica stored the same witness's cosignature
        return Cosignature.objects.get(checkpoint=checkpoint, key_id=key_id)


def _submit(witness: Witness, checkpoint: Checkpoint) -> str:
    old = _last_cosigned_size(witness, below=checkpoint.size)
    answer = _post(witness, _request_body(old, checkpoint))
    if answer.status == 409 and answer.content_type == SIZE_CONTENT_TYPE:
        old = _witness_size(answer.body, checkpoint.size)
        answer = _post(witness, _request_body(old, checkpoint))
    if answer.status != 200:
        raise WitnessUnavailable(f"HTTP {answer.status}: {answer.body[:200]!r}")
    return _line_by(witness, answer.body)


def _last_cosigned_size(witness: Witness, *, below: int) -> int:
    cosigned = Cosignature.objects.filter(
        key_id=witness.verifier.key_id.hex(), checkpoint__size__lte=below
    ).aggregate(size=Max("checkpoint__size"))
    return int(cosigned["size"] or 0)


def _witness_size(body: str, size: int) -> int:
    try:
        known = int(body.strip())
    except ValueError:
        raise WitnessUnavailable(f"409 with a size that is not a number: {body[:40]!r}") from None
    if not 0 <= known <= size:
        raise WitnessUnavailable(f"it has already cosigned size {known}, beyond {size}")
    return known


def _request_body(old: int, checkpoint: Checkpoint) -> bytes:
    proof = consistency_proof_build(old=old, new=checkpoint.size) if old else []
    lines = [f"old {old}", *(base64.b64encode(node).decode() for node in proof)]
    return ("\n".join(lines) + "\n\n" + checkpoint.note).encode("utf-8")


def _post(witness: Witness, body: bytes) -> WitnessAnswer:
    request = urllib.request.Request(
        f"{witness.url}/add-checkpoint", data=body, method="POST",
        headers={"Content-Type": "text/plain; charset=utf-8"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return WitnessAnswer(response.status, _content_type(response), response.read().decode())
    except urllib.error.HTTPError as exc:
        return WitnessAnswer(exc.code, _content_type(exc), exc.read().decode(errors="replace"))
    except (OSError, ValueError) as exc:  # refused, timed out, unreadable
        raise WitnessUnavailable(str(exc)) from None


def _content_type(response: object) -> str:
    headers = getattr(response, "headers", None)
    return (headers.get("Content-Type", "") if headers else "").split(";")[0].strip()


def _line_by(witness: Witness, body: str) -> str:
    """The cosignature line by the configured witness key among those returned."""
    prefix = f"\u2014 {witness.verifier.name} "
    for line in body.splitlines():
        if line.startswith(prefix):
            return line
    raise WitnessUnavailable(f"no cosignature line by {witness.verifier.name!r} in its answer")
