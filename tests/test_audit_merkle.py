"""RFC 6962 Merkle tree: published reference vectors, then invariants over random sizes."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rofr.audit.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    RootAccumulator,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# --- Reference vectors ---------------------------------------------------------------------
# Copied (numbers only) from the certificate-transparency reference tests as kept in
# github.com/transparency-dev/merkle: proof/verify_test.go (commit 02194e9a, the `leaves`,
# `roots`, `inclusionProofs` and `consistencyProofs` tables) and testonly/constants.go
# (`LeafInputs`, `RootHashes`). The Go table numbers leaves from 1; the indexes below are 0-based.

LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]

# ROOTS[n] is the root of the first n leaves.
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

# (leaf index, tree size, audit path)
INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

# (old size, new size, proof)
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]


def _hexes(hashes: list[bytes]) -> list[str]:
    return [h.hex() for h in hashes]


def test_empty_root_is_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == ROOTS[0]
    assert root([]) == EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 9), ids=lambda n: f"size{n}")
def test_root_matches_reference(size: int) -> None:
    assert root(LEAVES[:size]).hex() == ROOTS[size]
    assert MerkleTree.from_leaves(LEAVES).root(size).hex() == ROOTS[size]
    acc = RootAccumulator()
    for data in LEAVES[:size]:
        acc.append(leaf_hash(data))
    assert acc.root().hex() == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION, ids=lambda v: str(v)[:12])
def test_inclusion_proof_matches_reference(index: int, size: int, path: list[str]) -> None:
    assert _hexes(inclusion_proof(LEAVES[:size], index)) == path
    proof = [bytes.fromhex(h) for h in path]
    good_root = bytes.fromhex(ROOTS[size])
    leaf = leaf_hash(LEAVES[index])
    assert verify_inclusion(leaf, index, size, proof, good_root)
    # The probes of the reference test: wrong index, size, leaf, root or path all fail.
    assert not verify_inclusion(leaf, index + 1, size, proof, good_root)
    assert not verify_inclusion(leaf, index, size * 2, proof, good_root)
    assert not verify_inclusion(leaf_hash(b"WrongLeaf"), index, size, proof, good_root)
    assert not verify_inclusion(leaf, index, size, proof, EMPTY_ROOT)
    assert not verify_inclusion(leaf, index, size, [*proof, good_root], good_root)
    assert not verify_inclusion(leaf, index, size, [good_root, *proof], good_root)
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
        assert not verify_inclusion(leaf, index, size, bad, good_root)


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY, ids=lambda v: str(v)[:12])
def test_consistency_proof_matches_reference(old: int, new: int, path: list[str]) -> None:
    assert _hexes(consistency_proof(LEAVES[:new], old)) == path
    proof = [bytes.fromhex(h) for h in path]
    old_root, new_root = bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
    assert verify_consistency(old, new, old_root, new_root, proof)
    if proof:
        assert not verify_consistency(old, new, new_root, old_root, proof)
        assert not verify_consistency(old + 1, new, old_root, new_root, proof)
        assert not verify_consistency(old, new * 2, old_root, new_root, proof)
        assert not verify_consistency(old, new, old_root, new_root, proof[:-1])
        assert not verify_consistency(old, new, old_root, new_root, [old_root, *proof])
        for i in range(len(proof)):
            bad = list(proof)
            bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
            assert not verify_consistency(old, new, old_root, new_root, bad)


@pytest.mark.parametrize(
    ("old", "new", "old_root", "new_root", "proof", "ok"),
    [
        (0, 0, b"a", b"a", [], True),
        (0, 1, b"a", b"b", [], True),
        (1, 1, b"b", b"b", [], True),
        (1, 1, b"a", b"b", [], False),
        (1, 0, b"a", b"b", [], False),
        (1, 2, b"a", b"b", [], False),
        (1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
    ],
    ids=["0-0", "0-1", "1-1", "1-1-roots-differ", "shrink", "empty-proof", "extra-proof"],
)
def test_consistency_edge_cases(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes], ok: bool
) -> None:
    assert verify_consistency(old, new, old_root, new_root, proof) is ok


def _naive_mth(hashes: list[bytes]) -> bytes:
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return node_hash(_naive_mth(hashes[:k]), _naive_mth(hashes[k:]))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 70), st.data())
def test_proofs_verify_for_any_size(size: int, data: st.DataObject) -> None:
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    tree = MerkleTree(hashes)
    assert tree.root() == _naive_mth(hashes)
    index = data.draw(st.integers(0, size - 1))
    assert verify_inclusion(hashes[index], index, size, tree.inclusion_proof(index), tree.root())
    old = data.draw(st.integers(0, size))
    proof = tree.consistency_proof(old)
    assert verify_consistency(old, size, tree.root(old), tree.root(), proof)
    if 0 < old < size:
        assert not verify_consistency(old, size, tree.root(old), leaf_hash(b"x"), proof)


def test_large_tree_builds_once() -> None:
    # 100k leaves: building is n-1 hashes, and each proof touches O(log^2 n) nodes.
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(100_000)]
    tree = MerkleTree(hashes)
    acc = RootAccumulator()
    for h in hashes:
        acc.append(h)
    assert acc.root() == tree.root()
    proof = tree.consistency_proof(65_537)
    assert verify_consistency(65_537, 100_000, tree.root(65_537), tree.root(), proof)
    assert verify_inclusion(
        hashes[99_999], 99_999, 100_000, tree.inclusion_proof(99_999), acc.root()
    )
