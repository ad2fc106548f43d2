"""The tlog-witness `add-checkpoint` decision, without I/O: request bytes in, response out.

C2SP tlog-witness: 404 unknown origin, 403 no trusted log signature, 400 malformed or old size
beyond the checkpoint, 409 (with a `text/x.tlog.size` body) when `old` is not the size last
cosigned, 409 for a second root at the cosigned size, 422 when the consistency proof fails,
200 with the cosignature line once the new checkpoint is persisted.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ledger.checkpoint import Checkpoint, CheckpointError
from ledger.cosignature import CosignatureSigner, cosign
from ledger.merkle import EMPTY_ROOT, ProofError, verify_consistency
from ledger.note import MalformedNoteError, NoteError, NoteVerifier, open_note, parse_note
from ledger.witness.state import Cosigned, WitnessState

log = logging.getLogger("ledger.witness")

MAX_PROOF_LINES = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_OLD = re.compile(r"old (0|[1-9][0-9]*)", re.ASCII)


@dataclass(frozen=True)
class Response:
    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class AddCheckpoint:
    """A parsed request body: the old size, the consistency proof, the signed checkpoint note."""

    old_size: int
    proof: list[bytes]
    note: str


class Refusal(Exception):
    """A request the witness refuses; carries the HTTP response."""

    def __init__(
        self, status: int, reason: str, *, body: str | None = None, content_type: str | None = None
    ) -> None:
        super().__init__(reason)
        self.response = Response(
            status,
            body if body is not None else reason + "\n",
            content_type or Response.content_type,
        )


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """`old <size>\\n`, up to 63 base64 hash lines, a blank line, then the checkpoint note."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(400, "body is not UTF-8") from None
    head, blank, note = text.partition("\n\n")
    lines = head.split("\n")
    match = _OLD.fullmatch(lines[0])
    if not blank or match is None:
        raise Refusal(
            400, "body must start with 'old <size>' and have a blank line before the checkpoint"
        )
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise Refusal(400, f"more than {MAX_PROOF_LINES} consistency proof lines")
    return AddCheckpoint(int(match.group(1)), [_proof_hash(line) for line in lines[1:]], note)


def _proof_hash(line: str) -> bytes:
    try:
        raw = base64.b64decode(line, validate=True)
    except (binascii.Error, ValueError):
        raise Refusal(400, "a consistency proof line is not base64") from None
    if len(raw) != 32:
        raise Refusal(400, "a consistency proof line is not a 32-byte hash")
    return raw


class Witness:
    """Cosigns checkpoints of the configured logs that are consistent with what it saw before."""

    def __init__(
        self,
        logs: Mapping[str, Sequence[NoteVerifier]],
        signer: CosignatureSigner,
        state: WitnessState,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.logs, self.signer, self.state, self.clock = logs, signer, state, clock

    def add_checkpoint(self, body: bytes) -> Response:
        """Handle one `POST /add-checkpoint`; never raises for bad input."""
        try:
            request = parse_add_checkpoint(body)
            checkpoint = self._authentic_checkpoint(request.note)
            return self._cosign_if_consistent(request, checkpoint)
        except Refusal as refusal:
            log.warning("refused %s: %s", refusal.response.status, refusal)
            return refusal.response

    def _authentic_checkpoint(self, note: str) -> Checkpoint:
        try:
            checkpoint = Checkpoint.parse(parse_note(note).text)
        except (MalformedNoteError, CheckpointError) as error:
            raise Refusal(400, f"not a signed checkpoint: {error}") from None
        verifiers = self.logs.get(checkpoint.origin)
        if verifiers is None:
            raise Refusal(404, f"unknown log origin {checkpoint.origin!r}")
        try:
            open_note(note, verifiers)
        except NoteError as error:
            raise Refusal(
                403, f"log signature for {checkpoint.origin!r} does not verify: {error}"
            ) from None
        return checkpoint

    def _cosign_if_consistent(self, request: AddCheckpoint, checkpoint: Checkpoint) -> Response:
        if request.old_size > checkpoint.size:
            raise Refusal(
                400, f"old size {request.old_size} is beyond the checkpoint size {checkpoint.size}"
            )
        with self.state.lock(checkpoint.origin):
            latest = self.state.latest(checkpoint.origin)
            self._check_consistent(request, checkpoint, latest)
            self.state.record(Cosigned(checkpoint.origin, checkpoint.size, checkpoint.root_hash))
            line = cosign(checkpoint.body(), self.signer, int(self.clock()))
        log.info("cosigned %s size %d (was %d)", checkpoint.origin, checkpoint.size, latest.size)
        return Response(200, line)

    def _check_consistent(
        self, request: AddCheckpoint, checkpoint: Checkpoint, latest: Cosigned
    ) -> None:
        if request.old_size != latest.size:
            raise Refusal(
                409,
                f"old size {request.old_size} is not the cosigned size {latest.size}",
                body=f"{latest.size}\n",
                content_type=SIZE_CONTENT_TYPE,
            )
        if checkpoint.size == latest.size and latest.size and checkpoint.root_hash != latest.root:
            raise Refusal(
                409,
                f"size {checkpoint.size}: another root than the one cosigned (equivocation)",
            )
        old_root = latest.root if latest.size else EMPTY_ROOT
        try:
            verify_consistency(
                request.old_size, checkpoint.size, old_root, checkpoint.root_hash, request.proof
            )
        except ProofError as error:
            raise Refusal(
                422,
                f"consistency proof {request.old_size} -> {checkpoint.size} fails: {error.reason}",
            ) from None
