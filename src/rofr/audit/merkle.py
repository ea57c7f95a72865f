"""RFC 6962 / RFC 9162 Merkle tree hashing, inclusion proofs and consistency proofs.

Hashes (RFC 9162 section 2.1.1):

- leaf hash ``SHA-256(0x00 || data)``; interior node ``SHA-256(0x01 || left || right)``;
- the tree over ``n`` leaves splits at ``k``, the largest power of two smaller than ``n``;
- the empty tree's root is ``SHA-256("")``.

:class:`MerkleTree` builds every *complete* (aligned, power-of-two) subtree hash bottom-up once,
in ``n - 1`` node hashes. Because the RFC split always puts an aligned power-of-two range on
the left, any subtree the RFC algorithms ask for is found in ``O(log n)``, so a root, an
inclusion proof or a consistency proof over 100k leaves costs a few dozen hashes after the
build. :class:`RootAccumulator` keeps only the right edge (one hash per set bit of ``n``) and
gives the root of a growing log without holding its leaves; the exporter uses it.

The verifiers follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 step by step and return ``bool``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "MerkleTree",
    "RootAccumulator",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the hash of one leaf."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """A Merkle tree over fixed leaf hashes, with every complete subtree hashed once.

    ``levels[h][i]`` is the hash of leaves ``[i * 2**h, (i + 1) * 2**h)``. Roots and proofs
    may be asked for any prefix size up to :attr:`size`, which is what consistency needs.
    """

    __slots__ = ("_levels",)

    def __init__(self, leaf_hashes: Iterable[bytes]) -> None:
        level = list(leaf_hashes)
        self._levels: list[list[bytes]] = [level]
        while len(level) > 1:
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            self._levels.append(level)

    @classmethod
    def from_leaves(cls, leaves: Iterable[bytes]) -> MerkleTree:
        """Build from leaf *data* (hashing each with :func:`leaf_hash`)."""
        return cls(leaf_hash(data) for data in leaves)

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def leaf(self, index: int) -> bytes:
        """The leaf hash at ``index`` (0-based)."""
        return self._levels[0][index]

    def _range(self, lo: int, hi: int) -> bytes:
        # MTH(D[lo:hi]). Callers only pass ranges produced by the RFC split, where ``lo`` is a
        # multiple of every split size below it, so the left part is always a stored subtree.
        n = hi - lo
        if n & (n - 1) == 0 and lo % n == 0:
            return self._levels[n.bit_length() - 1][lo // n]
        k = _split(n)
        return node_hash(self._range(lo, lo + k), self._range(lo + k, hi))

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size {size} is outside 0..{self.size}")

    def root(self, size: int | None = None) -> bytes:
        """The root of the first ``size`` leaves (all of them by default)."""
        size = self.size if size is None else size
        self._check_size(size)
        return EMPTY_ROOT if size == 0 else self._range(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[0:size]) of RFC 9162 section 2.1.3.1, leaf side first."""
        size = self.size if size is None else size
        self._check_size(size)
        if not 0 <= index < size:
            raise ValueError(f"leaf index {index} is outside 0..{size - 1}")
        path: list[bytes] = []
        lo, hi = 0, size
        # Walk from the root down, collecting siblings; the RFC lists them bottom-up.
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                path.append(self._range(lo + k, hi))
                hi = lo + k
            else:
                path.append(self._range(lo, lo + k))
                lo += k
        path.reverse()
        return path

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[0:new_size]) of RFC 9162 section 2.1.4.1."""
        new_size = self.size if new_size is None else new_size
        self._check_size(new_size)
        if not 0 <= old_size <= new_size:
            raise ValueError(f"old size {old_size} is outside 0..{new_size}")
        if old_size in (0, new_size):
            return []
        proof: list[bytes] = []
        lo, hi, m, complete = 0, new_size, old_size, True
        while m != hi - lo:
            k = _split(hi - lo)
            if m <= k:
                proof.append(self._range(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self._range(lo, lo + k))
                lo, m, complete = lo + k, m - k, False
        if not complete:
            proof.append(self._range(lo, hi))
        proof.reverse()
        return proof


class RootAccumulator:
    """The root of a growing log in ``O(log n)`` memory: one complete-subtree hash per set bit."""

    __slots__ = ("_edge", "size")

    def __init__(self) -> None:
        self._edge: list[bytes] = []  # roots of the complete subtrees, largest first
        self.size = 0

    def append(self, hash_of_leaf: bytes) -> None:
        """Add the next leaf (already hashed with :func:`leaf_hash`)."""
        self._edge.append(hash_of_leaf)
        # Merge equal-sized subtrees: one merge per trailing 1-bit of the old size.
        size = self.size
        while size & 1:
            right = self._edge.pop()
            self._edge[-1] = node_hash(self._edge[-1], right)
            size >>= 1
        self.size += 1

    def root(self) -> bytes:
        """The RFC 6962 root of everything appended so far."""
        if not self._edge:
            return EMPTY_ROOT
        acc = self._edge[-1]
        for left in reversed(self._edge[:-1]):
            acc = node_hash(left, acc)
        return acc


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf *data*."""
    return MerkleTree.from_leaves(leaves).root()


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree over all of ``leaves`` (leaf data)."""
    return MerkleTree.from_leaves(leaves).inclusion_proof(index)


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """The proof that the first ``old_size`` of ``leaves`` (leaf data) are a prefix of all."""
    return MerkleTree.from_leaves(leaves).consistency_proof(old_size)


def verify_inclusion(
    leaf_hash_: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2: is ``leaf_hash_`` at ``index`` in the tree of ``size``?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash_
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2: is the tree of ``old_size`` a prefix of the one of ``new_size``?"""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof  # the empty tree is a prefix of every tree
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
