"""RFC 9162 Merkle hashing and proofs: published vectors, an independent implementation
(pymerkle, configured for RFC 9162 prefixes and SHA-256) and property tests over a node map
filled the way the sequencer fills it, from `Frontier.append`."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pymerkle
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.merkle import (
    EMPTY_ROOT,
    Frontier,
    MissingNodeError,
    NodeRange,
    ProofError,
    consistency_nodes,
    consistency_proof,
    inclusion_nodes,
    inclusion_proof,
    leaf_hash,
    node_hash,
    perfect_cover,
    range_hash,
    root,
    root_at,
    root_nodes,
    verify_consistency,
    verify_inclusion,
)

h = bytes.fromhex

# The RFC 6962 test tree (leaves 0..7) used by Certificate Transparency implementations.
LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION_VECTORS = [  # (index, size, audit path)
    (0, 1, []),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
]  # fmt: skip
CONSISTENCY_VECTORS = [  # (old size, new size, proof)
    (1, 1, []),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip

TREE_SIZE = 2500


def _grow(leaf_hashes: Sequence[bytes]) -> tuple[Frontier, dict[tuple[int, int], bytes]]:
    """A node map filled exactly as a store would fill it, from Frontier.append."""
    frontier, nodes = Frontier(), {}
    for value in leaf_hashes:
        for level, index, node in frontier.append(value):
            assert (level, index) not in nodes, "a node is emitted once"
            nodes[(level, index)] = node
    return frontier, nodes


RFC_LEAF_HASHES = [leaf_hash(h(value)) for value in LEAVES]
_, RFC_NODES = _grow(RFC_LEAF_HASHES)
BIG_LEAVES = [b"entry %d" % i for i in range(TREE_SIZE)]
BIG_LEAF_HASHES = [leaf_hash(data) for data in BIG_LEAVES]
BIG_FRONTIER, BIG_NODES = _grow(BIG_LEAF_HASHES)


def _reference_tree() -> pymerkle.InmemoryTree:
    tree = pymerkle.InmemoryTree(algorithm="sha256")
    # RFC 9162 needs the 0x00/0x01 prefixes: pymerkle drops them when security is off.
    assert tree.security is True
    assert (tree.algorithm, tree.leaf_prefix, tree.node_prefix) == ("sha256", b"\x00", b"\x01")
    for data in BIG_LEAVES:
        tree.append_entry(data)
    return tree


REFERENCE = _reference_tree()


# --- literal transcriptions of RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1, as an oracle -----------


def _mth(leaves: Sequence[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _rfc_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    if len(leaves) <= 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return [*_rfc_path(m, leaves[:k]), _mth(leaves[k:])]
    return [*_rfc_path(m - k, leaves[k:]), _mth(leaves[:k])]


def _rfc_subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [_mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*_rfc_subproof(m, leaves[:k], complete), _mth(leaves[k:])]
    return [*_rfc_subproof(m - k, leaves[k:], False), _mth(leaves[:k])]


# --- published vectors ----------------------------------------------------------------------


def test_empty_tree_hash_is_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root([]) == EMPTY_ROOT == Frontier().root() == root_at(0, {})


def test_leaf_and_node_hashes_use_the_rfc_prefixes() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_of_the_rfc6962_test_tree(size: int) -> None:
    expected = h(ROOTS[size - 1])
    assert root(RFC_LEAF_HASHES[:size]) == expected
    assert root_at(size, RFC_NODES) == expected
    assert _grow(RFC_LEAF_HASHES[:size])[0].root() == expected


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_inclusion_proofs_of_the_rfc6962_test_tree(index: int, size: int, path: list[str]) -> None:
    proof = inclusion_proof(index, size, RFC_NODES)
    assert [node.hex() for node in proof] == path
    verify_inclusion(RFC_LEAF_HASHES[index], index, size, proof, h(ROOTS[size - 1]))


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY_VECTORS)
def test_consistency_proofs_of_the_rfc6962_test_tree(old: int, new: int, path: list[str]) -> None:
    proof = consistency_proof(old, new, RFC_NODES)
    assert [node.hex() for node in proof] == path
    verify_consistency(old, new, h(ROOTS[old - 1]), h(ROOTS[new - 1]), proof)


def test_every_proof_in_the_rfc6962_test_tree_verifies() -> None:
    for new in range(1, 9):
        for index in range(new):
            proof = inclusion_proof(index, new, RFC_NODES)
            verify_inclusion(RFC_LEAF_HASHES[index], index, new, proof, h(ROOTS[new - 1]))
        for old in range(1, new + 1):
            proof = consistency_proof(old, new, RFC_NODES)
            verify_consistency(old, new, h(ROOTS[old - 1]), h(ROOTS[new - 1]), proof)


# --- against pymerkle and the RFC text ------------------------------------------------------


def test_roots_match_pymerkle_for_every_size() -> None:
    for size in range(TREE_SIZE + 1):
        assert root_at(size, BIG_NODES) == REFERENCE.get_root(size), size
    assert root(BIG_LEAF_HASHES) == BIG_FRONTIER.root() == REFERENCE.get_root()


@pytest.mark.parametrize("size", [0, 1, 255, 256, 257, 511, 512, 513, 768, 1025, 2047, 2048, 2049])
def test_streaming_root_matches_pymerkle_around_its_256_leaf_chunks(size: int) -> None:
    assert root(iter(BIG_LEAF_HASHES[:size])) == REFERENCE.get_root(size)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_inclusion_proofs_match_pymerkle(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, TREE_SIZE))
    index = data.draw(st.integers(0, size - 1))
    reference = REFERENCE.prove_inclusion(index + 1, size)  # pymerkle counts from one
    assert reference.security is True
    proof = inclusion_proof(index, size, BIG_NODES)
    # pymerkle's path starts with the leaf itself, then the RFC audit path bottom-up.
    assert reference.path == [BIG_LEAF_HASHES[index], *proof]
    pymerkle.verify_inclusion(BIG_LEAF_HASHES[index], REFERENCE.get_root(size), reference)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_proofs_match_the_rfc_recursive_definitions(data: st.DataObject) -> None:
    new = data.draw(st.integers(1, 700))
    old = data.draw(st.integers(1, new))
    index = data.draw(st.integers(0, new - 1))
    leaves = BIG_LEAVES[:new]
    assert _mth(leaves) == REFERENCE.get_root(new)  # the oracle agrees with pymerkle
    assert inclusion_proof(index, new, BIG_NODES) == _rfc_path(index, leaves)
    assert consistency_proof(old, new, BIG_NODES) == _rfc_subproof(old, leaves, True)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_pymerkle_accepts_our_roots_as_consistent(data: st.DataObject) -> None:
    new = data.draw(st.integers(1, TREE_SIZE))
    old = data.draw(st.integers(1, new))
    reference = REFERENCE.prove_consistency(old, new)
    pymerkle.verify_consistency(root_at(old, BIG_NODES), root_at(new, BIG_NODES), reference)


# --- properties over a Frontier-populated node map ------------------------------------------


def _flip(value: bytes, bit: int) -> bytes:
    changed = bytearray(value)
    changed[bit // 8 % len(value)] ^= 1 << (bit % 8)
    return bytes(changed)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_every_inclusion_proof_verifies_and_any_alteration_fails(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, TREE_SIZE))
    index = data.draw(st.integers(0, size - 1))
    proof = inclusion_proof(index, size, BIG_NODES)
    head = root_at(size, BIG_NODES)
    leaf = BIG_LEAF_HASHES[index]
    verify_inclusion(leaf, index, size, proof, head)

    bit = data.draw(st.integers(0, 255))
    with pytest.raises(ProofError):
        verify_inclusion(_flip(leaf, bit), index, size, proof, head)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, proof, _flip(head, bit))
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1))
        altered = [*proof[:position], _flip(proof[position], bit), *proof[position + 1 :]]
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, altered, head)
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, proof[:-1], head)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, [*proof, leaf], head)
    other_index = (
        data.draw(st.integers(0, size - 1).filter(lambda i: i != index)) if size > 1 else None
    )
    if other_index is not None:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, other_index, size, proof, head)
    # A size is only ever checked together with the root it was signed with (one checkpoint):
    # the proof must not pass for another size and that size's root. (With a mismatched root it
    # can: leaf 0 has the same path shape in trees of 257 and 258 leaves.)
    other_size = data.draw(st.integers(index + 1, TREE_SIZE).filter(lambda s: s != size))
    if inclusion_proof(index, other_size, BIG_NODES) != proof:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, other_size, proof, root_at(other_size, BIG_NODES))


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_every_consistency_proof_verifies_and_any_alteration_fails(data: st.DataObject) -> None:
    new = data.draw(st.integers(1, TREE_SIZE))
    old = data.draw(st.integers(1, new))
    proof = consistency_proof(old, new, BIG_NODES)
    old_root, new_root = root_at(old, BIG_NODES), root_at(new, BIG_NODES)
    verify_consistency(old, new, old_root, new_root, proof)

    bit = data.draw(st.integers(0, 255))
    with pytest.raises(ProofError):
        verify_consistency(old, new, _flip(old_root, bit), new_root, proof)
    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, _flip(new_root, bit), proof)
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1))
        altered = [*proof[:position], _flip(proof[position], bit), *proof[position + 1 :]]
        with pytest.raises(ProofError):
            verify_consistency(old, new, old_root, new_root, altered)
        with pytest.raises(ProofError):
            verify_consistency(old, new, old_root, new_root, proof[:-1])
    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, new_root, [*proof, new_root])
    other_old = data.draw(st.integers(1, new).filter(lambda s: s != old)) if new > 1 else None
    if other_old is not None and consistency_proof(other_old, new, BIG_NODES) != proof:
        other_root = root_at(other_old, BIG_NODES)
        with pytest.raises(ProofError):
            verify_consistency(other_old, new, other_root, new_root, proof)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, TREE_SIZE), st.integers(0, 50))
def test_a_frontier_resumed_from_stored_nodes_continues_the_same_tree(size: int, more: int) -> None:
    resumed = Frontier.from_nodes(size, BIG_NODES)
    assert resumed.size == size
    assert resumed.root() == root_at(size, BIG_NODES)
    for index in range(size, min(size + more, TREE_SIZE)):
        for level, node_index, node in resumed.append(BIG_LEAF_HASHES[index]):
            assert BIG_NODES[(level, node_index)] == node
        assert resumed.root() == root_at(index + 1, BIG_NODES)


def test_append_reports_the_leaf_then_each_completed_perfect_node() -> None:
    frontier = Frontier()
    emitted = [frontier.append(value) for value in BIG_LEAF_HASHES[:8]]
    coordinates = [[(level, index) for level, index, _ in nodes] for nodes in emitted]
    assert coordinates == [
        [(0, 0)],
        [(0, 1), (1, 0)],
        [(0, 2)],
        [(0, 3), (1, 1), (2, 0)],
        [(0, 4)],
        [(0, 5), (1, 2)],
        [(0, 6)],
        [(0, 7), (1, 3), (2, 1), (3, 0)],
    ]
    for nodes in emitted:
        for level, index, node in nodes:
            node_range = NodeRange(level, index)
            assert node == root(BIG_LEAF_HASHES[node_range.start : node_range.end])
    assert [node for node, _ in frontier.nodes()] == [NodeRange(3, 0)]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_planned_nodes_are_exactly_what_the_builders_read(data: st.DataObject) -> None:
    new = data.draw(st.integers(1, TREE_SIZE))
    old = data.draw(st.integers(0, new))
    index = data.draw(st.integers(0, new - 1))
    for plan, build in (
        (inclusion_nodes(index, new), lambda nodes: inclusion_proof(index, new, nodes)),
        (consistency_nodes(old, new), lambda nodes: consistency_proof(old, new, nodes)),
        (root_nodes(new), lambda nodes: [root_at(new, nodes)]),
    ):
        assert all(node.end <= new for node in plan), "a plan never reaches past the tree"
        only_planned = {node: BIG_NODES[node] for node in plan}
        assert build(only_planned) == build(BIG_NODES)


def test_perfect_cover_folds_to_the_subtree_hash() -> None:
    assert perfect_cover(0, 7) == [NodeRange(2, 0), NodeRange(1, 2), NodeRange(0, 6)]
    assert range_hash(4, 7, BIG_NODES) == root(BIG_LEAF_HASHES[4:7])


# --- refusals -------------------------------------------------------------------------------


def test_impossible_parameters_are_refused_with_a_reason() -> None:
    with pytest.raises(ProofError, match="outside a tree of size 3"):
        inclusion_proof(3, 3, BIG_NODES)
    with pytest.raises(ProofError, match="outside"):
        verify_inclusion(BIG_LEAF_HASHES[0], 0, 0, [], EMPTY_ROOT)
    with pytest.raises(ProofError, match="old size 5"):
        consistency_proof(5, 4, BIG_NODES)
    with pytest.raises(ProofError, match="not 32"):
        verify_inclusion(b"short", 0, 1, [], BIG_LEAF_HASHES[0])


def test_a_missing_node_is_named() -> None:
    nodes = dict(BIG_NODES)
    del nodes[(2, 0)]
    with pytest.raises(MissingNodeError, match="level 2, index 0"):
        inclusion_proof(5, 8, nodes)
    with pytest.raises(MissingNodeError):
        Frontier.from_nodes(4, nodes)


def test_consistency_edge_cases() -> None:
    head = root_at(5, BIG_NODES)
    verify_consistency(0, 5, EMPTY_ROOT, head, [])  # everything extends the empty tree
    verify_consistency(5, 5, head, head, [])
    with pytest.raises(ProofError, match="same tree size"):
        verify_consistency(5, 5, head, root_at(4, BIG_NODES), [])  # equivocation
    with pytest.raises(ProofError, match="must be empty"):
        verify_consistency(0, 5, EMPTY_ROOT, head, [head])
    with pytest.raises(ProofError, match="empty-tree"):
        verify_consistency(0, 5, head, head, [])
    with pytest.raises(ProofError, match="empty"):
        verify_consistency(3, 5, root_at(3, BIG_NODES), head, [])
