"""The streaming pass over entries.jsonl: constant memory whatever the bundle's size.

One loop does everything that needs the entries: the file's SHA-256, seq contiguity, each
leaf canonical and of a known version, its recorded leaf hash, per-agent `agent_seq` gaps, and
the Merkle frontier whose root is compared at every checkpoint size inside the range.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger.leaf import parse_leaf
from ledger.merkle import Frontier
from ledger.verify.report import Report

_sha256 = hashlib.sha256
_LEAF_PREFIX = b"\x00"
PROGRESS_EVERY = 1 << 14
# Bound once: json.loads on bytes sniffs the encoding and rebuilds its call on every line.
_decode_line = json.JSONDecoder().decode


@dataclass
class RootCheck:
    """A tree head the recomputed root must equal when the scan reaches `size`."""

    size: int
    root: bytes
    label: str


@dataclass
class AgentTrack:
    """Per-agent `agent_seq` bookkeeping: first and last seen, and the gaps found."""

    first: int
    last: int
    gaps: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class ScanResult:
    """What the pass leaves for the final checks."""

    frontier: Frontier
    next_seq: int
    file_sha256: str
    file_size: int
    unreached: list[RootCheck]  # tree heads beyond where the entries stopped


class EntryScan:
    """Streams entry lines into `report`; `root_checks` are compared as their sizes go by."""

    def __init__(
        self, report: Report, frontier: Frontier, root_checks: Iterable[RootCheck]
    ) -> None:
        self.report = report
        self.frontier = frontier
        # Sorted by size, consumed from the front (a deque: a day of checkpoints is ~86,400).
        self.checks = deque(sorted(root_checks, key=lambda check: check.size))
        self.agents: dict[str, AgentTrack] = {}

    def run(
        self, lines: Iterable[bytes], progress: Callable[[int, int], None] | None = None
    ) -> ScanResult:
        expected = self.frontier.size
        self._check_roots()
        file_hash, size, count = _sha256(), 0, 0
        append, pending = self.frontier.append, self._next_check_size()
        for raw in lines:
            file_hash.update(raw)
            size += len(raw)
            count += 1
            expected = self._entry(raw, expected, append)
            if self.frontier.size == pending:  # the tree, not `expected`: they part on a bad seq
                pending = self._check_roots()
            if progress is not None and not count % PROGRESS_EVERY:
                progress(count, size)
        self.report.entries = count
        self._record_agents()
        return ScanResult(self.frontier, expected, file_hash.hexdigest(), size, list(self.checks))

    def _entry(self, raw: bytes, expected: int, append: Callable[[bytes], object]) -> int:
        """Check one line; return the seq the next line must have."""
        try:
            line = _decode_line(raw.decode("utf-8"))
            seq, text = line["seq"], line["leaf"]
            leaf = text.encode()
        except (ValueError, KeyError, TypeError, AttributeError):
            self.report.fail(
                f"entry seq={expected}",
                "line is not an entry object {seq, leaf_hash, leaf}",
                seq=expected,
            )
            append(
                _sha256(_LEAF_PREFIX + raw).digest()
            )  # keep positions: later roots fail, not shift
            return expected + 1
        if seq != expected:
            return self._out_of_sequence(seq, expected, leaf, append)
        hashed = _sha256(_LEAF_PREFIX + leaf).digest()
        append(hashed)
        recorded = line.get("leaf_hash")
        if recorded is not None and recorded != hashed.hex():
            self.report.fail(
                f"entry seq={seq}",
                "leaf does not match its recorded leaf_hash (entry altered)",
                seq=seq,
            )
        self._leaf(expected, text)
        return expected + 1

    def _out_of_sequence(
        self, seq: object, expected: int, leaf: bytes, append: Callable[[bytes], object]
    ) -> int:
        if type(seq) is int and seq > expected:
            what = f"missing or out of order: the file has seq={seq} in its place"
        else:
            what = f"out of order: found seq={seq} where seq={expected} belongs"
        self.report.fail(f"entry seq={expected}", what, seq=expected)
        append(_sha256(_LEAF_PREFIX + leaf).digest())
        return seq + 1 if type(seq) is int else expected + 1

    def _leaf(self, seq: int, text: str) -> None:
        try:
            doc = parse_leaf(text)
        except ValueError as error:  # LeafError, or a string that is not Unicode
            self.report.fail(
                f"entry seq={seq}", f"leaf is not a valid audit leaf: {error}", seq=seq
            )
            return
        if doc["seq"] != seq:
            self.report.fail(
                f"entry seq={seq}",
                f"leaf says seq={doc['seq']} (moved from another position)",
                seq=seq,
            )
        if doc["agent_seq"] is not None:
            self._agent_event(seq, doc)

    def _agent_event(self, seq: int, doc: Mapping[str, Any]) -> None:
        agent, number = str(doc["agent"]), doc["agent_seq"]
        track = self.agents.get(agent)
        if track is None:
            self.agents[agent] = AgentTrack(number, number)
            return
        if number > track.last + 1:
            track.gaps.append((track.last + 1, number - 1))
            missing = _span(track.last + 1, number - 1)
            self.report.fail(
                f"entry seq={seq}", f"agent {agent!r} agent_seq gap: missing {missing}", seq=seq
            )
        elif number <= track.last:
            self.report.fail(
                f"entry seq={seq}",
                f"agent {agent!r} agent_seq {number} repeats or goes back (last {track.last})",
                seq=seq,
            )
        track.last = max(track.last, number)

    def _check_roots(self) -> int:
        """Compare every root check due at the current size; return the next size due (or -1)."""
        size = self.frontier.size
        while self.checks and self.checks[0].size <= size:
            check = self.checks.popleft()
            if check.size == size and self.frontier.root() != check.root:
                self.report.fail(
                    check.label,
                    f"the entries do not hash to its root (tree size {size})",
                    seq=size - 1,
                )
        return self._next_check_size()

    def _next_check_size(self) -> int:
        return self.checks[0].size if self.checks else -1

    def _record_agents(self) -> None:
        for agent, track in sorted(self.agents.items()):
            self.report.agents[agent] = {
                "first_agent_seq": track.first,
                "last_agent_seq": track.last,
                "gaps": track.gaps,
            }


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}..{last}"
