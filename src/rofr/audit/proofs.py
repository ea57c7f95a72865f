"""Inclusion proofs out of an export: show one event is in the log a signed checkpoint covers.

A party holding one event (say, the placement that concerns it) can keep the small proof from
:func:`inclusion_proof_for` instead of the whole export, and check it with
:func:`verify_inclusion_proof` against the final checkpoint and the pinned key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rofr.audit.checkpoint import (
    Checkpoint,
    key_id,
    public_key_from_hex,
    public_key_hex,
    verify_checkpoint,
)
from rofr.audit.export import leaf_data
from rofr.audit.merkle import leaf_hash, verify_inclusion
from rofr.audit.verify import analyse

__all__ = ["InclusionProof", "inclusion_proof_for", "verify_inclusion_proof"]


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """Event ``position`` (leaf ``position - 1``) is in the tree the ``checkpoint`` signs."""

    position: int
    leaf_hash: str
    path: tuple[str, ...]
    checkpoint: Checkpoint
    public_key: str

    def to_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "leaf_hash": self.leaf_hash,
            "path": list(self.path),
            "checkpoint": self.checkpoint.to_json(),
            "public_key": self.public_key,
        }


def inclusion_proof_for(path: Path, position: int) -> InclusionProof:
    """The audit path of event ``position`` to the export's final checkpoint.

    Raises ``ValueError`` when the export does not verify or has no such event: a proof out
    of a damaged log would prove nothing.
    """
    found = analyse(path)
    if found.problems:
        raise ValueError(f"the export does not verify: {found.problems[0].message}")
    assert found.final is not None and found.tree is not None and found.public_key is not None
    size = found.final.tree_size
    if not 1 <= position <= size:
        raise ValueError(f"position {position} is outside the log (1..{size})")
    return InclusionProof(
        position=position,
        leaf_hash=found.tree.leaf(position - 1).hex(),
        path=tuple(h.hex() for h in found.tree.inclusion_proof(position - 1, size)),
        checkpoint=found.final,
        public_key=public_key_hex(found.public_key),
    )


def verify_inclusion_proof(
    proof: InclusionProof,
    record: Mapping[str, Any] | None = None,
    pinned_key_id: str | None = None,
) -> bool:
    """Check the proof's path, its checkpoint signature and, if given, that ``record`` (an
    exported event) is the proven leaf and ``pinned_key_id`` the signing key."""
    try:
        key = public_key_from_hex(proof.public_key)
    except ValueError:
        return False
    if pinned_key_id is not None and key_id(key) != pinned_key_id:
        return False
    if not verify_checkpoint(proof.checkpoint, key):
        return False
    leaf = bytes.fromhex(proof.leaf_hash)
    if record is not None and (
        record.get("position") != proof.position or leaf_hash(leaf_data(record)) != leaf
    ):
        return False
    return verify_inclusion(
        leaf,
        proof.position - 1,
        proof.checkpoint.tree_size,
        [bytes.fromhex(h) for h in proof.path],
        bytes.fromhex(proof.checkpoint.root_hash),
    )
