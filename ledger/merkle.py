"""RFC 9162 section 2.1 Merkle tree hashing, proofs and the tree's right edge.

Leaves are hashed as SHA-256(0x00 || data), interior nodes as SHA-256(0x01 || left || right).
A store keeps only *perfect* subtrees, addressed by ``NodeRange(level, index)``: the hash of
leaves ``[index << level, (index + 1) << level)``. Every hash a proof or a root needs is either
such a node or the right-to-left fold of a few of them (the non-perfect subtrees on the right
edge of a tree), so a store fetches everything for one request with the coordinates the
planning functions (`inclusion_nodes`, `consistency_nodes`, `root_nodes`) return, in one query,
and the builders fold them.

Hot paths call ``hashlib.sha256`` directly and keep plain ``bytes`` in lists: the offline
verifier recomputes a million-leaf root in Python.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from itertools import islice
from typing import NamedTuple

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


class NodeRange(NamedTuple):
    """A perfect subtree: ``2**level`` leaves starting at leaf ``index << level``.

    A plain ``(level, index)`` tuple compares and hashes equal, so stores may key their node
    maps with either.
    """

    level: int
    index: int  # type: ignore[assignment]  # shadows tuple.index(); the agreed name wins

    @property
    def start(self) -> int:
        return self.index << self.level

    @property
    def end(self) -> int:
        return (self.index + 1) << self.level


NodeMap = Mapping[tuple[int, int], bytes]


class ProofError(ValueError):
    """A proof does not verify, or its parameters are impossible; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MissingNodeError(KeyError):
    """A builder was given a node map without a node its plan asked for."""


def _missing(error: KeyError) -> MissingNodeError:
    level, index = error.args[0]
    return MissingNodeError(f"node (level {level}, index {index}) is not in the node map")


def leaf_hash(data: bytes) -> bytes:
    """MTH of a one-leaf tree: SHA-256(0x00 || data)."""
    return _sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """An interior node: SHA-256(0x01 || left || right)."""
    return _sha256(NODE_PREFIX + left + right).digest()


_CHUNK_LEVEL = 8  # root() hashes 256-leaf perfect subtrees level by level


def root(leaf_hashes: Iterable[bytes]) -> bytes:
    """The tree head over ``leaf_hashes`` (already leaf-hashed), streaming in O(log n) memory.

    This is the verifier's hot loop. Full 256-leaf chunks are reduced level by level in list
    comprehensions (the cheapest per-node loop CPython has); their roots, then the leftover
    leaves, go onto the right-edge stack, where after item number ``n`` exactly
    ``trailing_zeros(n)`` perfect subtrees complete.
    """
    stack: list[bytes] = []
    source = iter(leaf_hashes)
    chunks = 0
    while len(chunk := list(islice(source, 1 << _CHUNK_LEVEL))) == 1 << _CHUNK_LEVEL:
        chunks += 1
        _push(stack, _perfect_root(chunk), chunks)
    for size, leaf in enumerate(chunk, (chunks << _CHUNK_LEVEL) + 1):
        _push(stack, leaf, size)
    return _fold_right(stack) if stack else EMPTY_ROOT


def _perfect_root(level: list[bytes]) -> bytes:
    while len(level) > 1:
        pairs = zip(level[::2], level[1::2], strict=True)
        level = [_sha256(NODE_PREFIX + left + right).digest() for left, right in pairs]
    return level[0]


def _push(stack: list[bytes], node: bytes, count: int) -> None:
    """Push item number ``count`` (1-based) of equal-size subtrees, merging completed pairs."""
    merges = count & -count
    while merges > 1:
        node = _sha256(NODE_PREFIX + stack.pop() + node).digest()
        merges >>= 1
    stack.append(node)


def _fold_right(hashes: Sequence[bytes]) -> bytes:
    """Fold left-to-right ordered subtree hashes the way RFC 9162 joins a non-perfect edge."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = _sha256(NODE_PREFIX + left + result).digest()
    return result


# --- planning: which perfect nodes a proof or root needs ------------------------------------


def _split(width: int) -> int:
    """The largest power of two strictly less than ``width`` (``width`` > 1)."""
    return 1 << ((width - 1).bit_length() - 1)


def perfect_cover(start: int, end: int) -> list[NodeRange]:
    """The perfect subtrees, left to right, whose right fold is MTH(D[start:end]).

    Valid for every subtree the RFC algorithms name (``start`` is aligned to the power of two
    at or above the width), which is all this module asks for.
    """
    nodes: list[NodeRange] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        nodes.append(NodeRange(level, start >> level))
        start += 1 << level
    return nodes


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """RFC 9162 2.1.3.1 PATH(index, D[0:size]) as leaf ranges, bottom-up (proof order)."""
    _check_inclusion_params(index, size)
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def _consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """RFC 9162 2.1.4.1 PROOF(old_size, D[0:new_size]) as leaf ranges, in proof order."""
    _check_consistency_params(old_size, new_size)
    if old_size in (0, new_size):
        return []
    ranges: list[tuple[int, int]] = []
    start, m, n, complete = 0, old_size, new_size, True
    while m != n:
        k = _split(n)
        if m <= k:
            ranges.append((start + k, start + n))
            n = k
        else:
            ranges.append((start, start + k))
            start, m, n, complete = start + k, m - k, n - k, False
    if not complete:
        ranges.append((start, start + n))
    ranges.reverse()
    return ranges


def _check_inclusion_params(index: int, size: int) -> None:
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")


def _check_consistency_params(old_size: int, new_size: int) -> None:
    if not 0 <= old_size <= new_size:
        raise ProofError(f"old size {old_size} is not within 0..new size {new_size}")


def _nodes_for(ranges: Iterable[tuple[int, int]]) -> list[NodeRange]:
    return [node for start, end in ranges for node in perfect_cover(start, end)]


def inclusion_nodes(index: int, size: int) -> list[NodeRange]:
    """Every stored node `inclusion_proof` needs for leaf ``index`` in a tree of ``size``."""
    return _nodes_for(_inclusion_ranges(index, size))


def consistency_nodes(old_size: int, new_size: int) -> list[NodeRange]:
    """Every stored node `consistency_proof` needs between the two sizes."""
    return _nodes_for(_consistency_ranges(old_size, new_size))


def root_nodes(size: int) -> list[NodeRange]:
    """The perfect subtrees (one per set bit of ``size``) that `root_at` and `Frontier` need."""
    return perfect_cover(0, size)


# --- building from a node map ---------------------------------------------------------------


def range_hash(start: int, end: int, nodes: NodeMap) -> bytes:
    """MTH(D[start:end]) folded from the stored perfect nodes."""
    try:
        return _fold_right([nodes[node] for node in perfect_cover(start, end)])
    except KeyError as missing:
        raise _missing(missing) from None


def inclusion_proof(index: int, size: int, nodes: NodeMap) -> list[bytes]:
    """The RFC 9162 inclusion proof (audit path) for leaf ``index`` in a tree of ``size``."""
    return [range_hash(start, end, nodes) for start, end in _inclusion_ranges(index, size)]


def consistency_proof(old_size: int, new_size: int, nodes: NodeMap) -> list[bytes]:
    """The RFC 9162 consistency proof from the tree of ``old_size`` to the one of ``new_size``."""
    ranges = _consistency_ranges(old_size, new_size)
    return [range_hash(start, end, nodes) for start, end in ranges]


def root_at(size: int, nodes: NodeMap) -> bytes:
    """The tree head at ``size`` from its `root_nodes`."""
    return range_hash(0, size, nodes) if size else EMPTY_ROOT


# --- verifying ------------------------------------------------------------------------------


def _check_hashes(*hashes: bytes) -> None:
    for value in hashes:
        if len(value) != HASH_SIZE:
            raise ProofError(f"a hash is {len(value)} bytes, not {HASH_SIZE}")


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 2.1.3.2: raise `ProofError` unless ``proof`` puts the leaf at ``index``."""
    _check_inclusion_params(index, size)
    _check_hashes(leaf_hash, root, *proof)
    fn, sn, result = index, size - 1, leaf_hash
    for sibling in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            result = _sha256(NODE_PREFIX + sibling + result).digest()
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = _sha256(NODE_PREFIX + result + sibling).digest()
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the path to the root")
    if result != root:
        raise ProofError("inclusion proof does not lead to the root hash")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 2.1.4.2: raise `ProofError` unless the old tree is a prefix of the new one."""
    _check_consistency_params(old_size, new_size)
    _check_hashes(old_root, new_root, *proof)
    if old_size in (0, new_size):
        _verify_trivial_consistency(old_size, new_size, old_root, new_root, proof)
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    old_hash, new_hash, sn = _walk_consistency(old_size, new_size, old_root, proof)
    if sn != 0:
        raise ProofError("consistency proof has the wrong length")
    if old_hash != old_root:
        raise ProofError("consistency proof does not lead to the old root hash")
    if new_hash != new_root:
        raise ProofError("consistency proof does not lead to the new root hash")


def _verify_trivial_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Sizes equal (roots must match) or the old tree empty: the proof must be empty."""
    if proof:
        raise ProofError("consistency proof must be empty when the old tree is empty or equal")
    if old_size == 0 and old_root != EMPTY_ROOT:
        raise ProofError("old root of an empty tree is not the empty-tree hash")
    if old_size == new_size and old_root != new_root:
        raise ProofError("two different root hashes for the same tree size")


def _walk_consistency(
    old_size: int, new_size: int, old_root: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes, int]:
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # old tree is a perfect left subtree: its root seeds
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    old_hash = new_hash = path[0]
    for node in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            old_hash = _sha256(NODE_PREFIX + node + old_hash).digest()
            new_hash = _sha256(NODE_PREFIX + node + new_hash).digest()
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            new_hash = _sha256(NODE_PREFIX + new_hash + node).digest()
        fn, sn = fn >> 1, sn >> 1
    return old_hash, new_hash, sn


# --- the right edge -------------------------------------------------------------------------


class Frontier:
    """The right edge of the tree: one perfect-subtree hash per set bit of ``size``.

    `append` returns every node it completes so the sequencer can persist them in the same
    transaction as the entry; `from_nodes` resumes from a store after a restart.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._hashes: list[bytes] = []
        self._size = 0

    @classmethod
    def from_nodes(cls, size: int, nodes: NodeMap) -> Frontier:
        """Resume at ``size`` from the stored `root_nodes(size)`."""
        if size < 0:
            raise ValueError(f"tree size {size} is negative")
        frontier = cls()
        try:
            frontier._hashes = [nodes[node] for node in root_nodes(size)]
        except KeyError as missing:
            raise _missing(missing) from None
        frontier._size = size
        return frontier

    @property
    def size(self) -> int:
        return self._size

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf; return ``(level, index, hash)`` of each node it completed, leaf first."""
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes, got {len(leaf_hash)}")
        position = self._size
        self._size += 1
        completed = [(0, position, leaf_hash)]
        node, level = leaf_hash, 0
        while position & 1:
            node = _sha256(NODE_PREFIX + self._hashes.pop() + node).digest()
            level, position = level + 1, position >> 1
            completed.append((level, position, node))
        self._hashes.append(node)
        return completed

    def root(self) -> bytes:
        """The tree head at the current size."""
        return _fold_right(self._hashes) if self._hashes else EMPTY_ROOT

    def nodes(self) -> list[tuple[NodeRange, bytes]]:
        """The edge as ``(NodeRange, hash)`` pairs, largest subtree first."""
        return list(zip(root_nodes(self._size), self._hashes, strict=True))
