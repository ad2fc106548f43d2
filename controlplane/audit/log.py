"""Reading the tamper-evident log: entries by range, checkpoints, proofs, keys and gaps.

Proofs are folded from the stored perfect subtrees (``MerkleNode``) that ``ledger.merkle``'s
planning functions name, fetched in one query. Used by the audit API and by the export.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Max, Min, QuerySet

from controlplane.audit.actions import ControlPlaneAction
from controlplane.audit.models import AuditEvent, Checkpoint, LogKey
from controlplane.audit.sequencer import log_size, nodes_fetch
from ledger import merkle
from ledger.note import add_signatures

if TYPE_CHECKING:
    from controlplane.agents.models import Agent


class ProofUnavailable(ValueError):
    """The sizes or index asked for are outside the log as it stands."""


def log_tree_size() -> int:
    """How many entries are committed to the log (its tree size)."""
    return log_size()


def checkpoint_latest() -> Checkpoint | None:
    """The newest signed checkpoint, or None before the first."""
    return Checkpoint.objects.order_by("-size").first()


def checkpoint_at(*, size: int) -> Checkpoint | None:
    """The checkpoint signed at exactly ``size``, if one was."""
    return Checkpoint.objects.filter(size=size).first()


def checkpoints_between(since: datetime | None, until: datetime | None) -> QuerySet[Checkpoint]:
    """Checkpoints signed in ``[since, until)`` (either end open when None), oldest first."""
    checkpoints = Checkpoint.objects.prefetch_related("cosignatures").order_by("size")
    if since is not None:
        checkpoints = checkpoints.filter(signed_at__gte=since)
    if until is not None:
        checkpoints = checkpoints.filter(signed_at__lt=until)
    return checkpoints


def checkpoint_note(checkpoint: Checkpoint) -> str:
    """The signed checkpoint with the witnesses' cosignature lines appended."""
    lines = [cosignature.line for cosignature in checkpoint.cosignatures.order_by("id")]
    return add_signatures(checkpoint.note, lines) if lines else checkpoint.note


def entries_between(since: datetime | None, until: datetime | None) -> QuerySet[AuditEvent]:
    """Entries received in ``[since, until)``, as the contiguous seq range from the first to
    the last of them (so an export has no holes even where arrival and seq order differ by
    a few milliseconds), in seq order."""
    received = AuditEvent.objects.all()
    if since is not None:
        received = received.filter(received_at__gte=since)
    if until is not None:
        received = received.filter(received_at__lt=until)
    bounds = received.aggregate(first=Min("seq"), last=Max("seq"))
    if bounds["first"] is None:
        return AuditEvent.objects.none()
    return entries_range(first=bounds["first"], last=bounds["last"])


def leaf_at(*, seq: int) -> str:
    """The canonical leaf of the entry at ``seq`` (raises ``AuditEvent.DoesNotExist``)."""
    return str(AuditEvent.objects.values_list("leaf", flat=True).get(seq=seq))


def entries_range(*, first: int, last: int) -> QuerySet[AuditEvent]:
    """Entries with ``first <= seq <= last``, in seq order."""
    return AuditEvent.objects.filter(seq__gte=first, seq__lte=last).order_by("seq")


def inclusion_proof_build(*, seq: int, size: int) -> list[bytes]:
    """The RFC 9162 inclusion proof of entry ``seq`` in the tree of ``size``.

    One query: the proof's nodes and the entry's own leaf node, whose presence (with the
    proof's) shows that ``size`` is within the log, without a second round trip to ask.
    """
    coordinates = _planned(merkle.inclusion_nodes, seq, size)
    nodes = _stored(size, [*coordinates, (0, seq)])
    return merkle.inclusion_proof(seq, size, nodes)


def consistency_proof_build(*, old: int, new: int) -> list[bytes]:
    """The RFC 9162 consistency proof from the tree of ``old`` entries to that of ``new``."""
    coordinates = _planned(merkle.consistency_nodes, old, new)
    if not coordinates:  # old is 0 or new: an empty proof, if new is in the log at all
        _check_size(new)
    return merkle.consistency_proof(old, new, _stored(new, coordinates))


def root_build(*, size: int) -> bytes:
    """The tree head at ``size`` (what a checkpoint of that size must carry)."""
    if size == 0:
        return merkle.EMPTY_ROOT
    return merkle.root_at(size, _stored(size, merkle.root_nodes(size)))


def _planned(plan: Callable[[int, int], list[merkle.NodeRange]], a: int, b: int) -> list[Any]:
    try:
        return list(plan(a, b))
    except merkle.ProofError as exc:
        raise ProofUnavailable(exc.reason) from None


def _stored(size: int, coordinates: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The nodes, all of them: any missing means ``size`` is beyond the log."""
    nodes = nodes_fetch(coordinates)
    if len(nodes) < len(set(coordinates)):
        raise ProofUnavailable(f"tree size {size} is beyond the log ({log_size()} entries)")
    return nodes


def _check_size(size: int) -> None:
    current = log_size()
    if not 0 <= size <= current:
        raise ProofUnavailable(f"tree size {size} is outside 0..{current}")


@dataclass(frozen=True)
class PublishedKey:
    """A log or witness public key as auditors need it."""

    vkey: str
    role: str  # "log" or "witness"
    status: str  # "active" or "retired" (witness keys: "configured")
    created_at: datetime | None = None
    retired_at: datetime | None = None


def log_keys_list() -> list[PublishedKey]:
    """Every key that signs or signed checkpoints (newest first), then the witnesses'."""
    recorded = [
        PublishedKey(
            vkey=key.vkey,
            role="log",
            status="retired" if key.retired_at else "active",
            created_at=key.created_at,
            retired_at=key.retired_at,
        )
        for key in LogKey.objects.order_by("-created_at")
    ]
    known = {key.vkey for key in recorded}
    config = settings.GATEHOUSE_LOG
    configured = [
        PublishedKey(vkey=verifier.vkey, role="log", status="retired")
        for verifier in config.retired_keys
        if verifier.vkey not in known
    ]
    witnesses = [
        PublishedKey(vkey=witness.verifier.vkey, role="witness", status="configured")
        for witness in config.witnesses
    ]
    return [*recorded, *configured, *witnesses]


@dataclass(frozen=True)
class AgentSeqGap:
    """Agent seqs the control plane never received, as recorded when it noticed."""

    agent: str
    first_missing: int
    last_missing: int
    noticed_at: datetime
    seq: int  # the gap record's own place in the log
    filled: int  # how many of the missing seqs arrived later (late delivery)


def audit_gaps_list(
    *, agent: Agent | None = None, agent_name: str | None = None
) -> list[AgentSeqGap]:
    """Recorded per-agent seq gaps (of ``agent``, or the agent named, or all), oldest first,
    with how many were filled later."""
    records = AuditEvent.objects.filter(action=ControlPlaneAction.AGENT_SEQ_GAP).order_by("seq")
    name = agent.name if agent is not None else agent_name
    if name:
        records = records.filter(payload__agent=name)
    return [_gap(record) for record in records]


def _gap(record: AuditEvent) -> AgentSeqGap:
    first, last = record.payload["first_missing"], record.payload["last_missing"]
    filled = AuditEvent.objects.filter(
        agent__name=record.payload["agent"], agent_seq__range=(first, last)
    ).count()
    return AgentSeqGap(
        agent=record.payload["agent"],
        first_missing=first,
        last_missing=last,
        noticed_at=record.occurred_at,
        seq=record.seq,
        filled=filled,
    )
