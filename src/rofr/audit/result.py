"""The verifier's result types, and the working state its checks share."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from rofr.audit._lines import EventLine
from rofr.audit.checkpoint import Checkpoint
from rofr.audit.merkle import MerkleTree
from rofr.store.chain import GENESIS

__all__ = ["Analysis", "Problem", "VerifyResult"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding. ``line`` is 1-based in the file; ``position`` is the event (or checkpoint
    size) concerned; ``kind`` is one of changed, missing, inserted, out_of_order, chain_broken,
    checkpoint, truncated, header, not_extension."""

    line: int | None
    position: int | None
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The verdict: ``ok`` only when there is no problem at all."""

    ok: bool
    events: int
    problems: tuple[Problem, ...]
    checkpoints_checked: int
    head_hash: str
    root_hash: str = ""


@dataclass
class Analysis:
    """Everything the verifier learned; :mod:`rofr.audit.proofs` reuses it."""

    problems: list[Problem] = field(default_factory=list)
    events: dict[int, EventLine] = field(default_factory=dict)  # kept events by position
    tree: MerkleTree | None = None  # over the longest gap-free, unchanged prefix
    public_key: Ed25519PublicKey | None = None
    origin: object = None  # the header's origin, checked against the signed checkpoints
    final: Checkpoint | None = None
    checkpoints_checked: int = 0

    def add(self, line: int | None, position: int | None, kind: str, message: str) -> None:
        self.problems.append(Problem(line, position, kind, message))

    def result(self) -> VerifyResult:
        head = self.events[max(self.events)].hash if self.events else GENESIS
        return VerifyResult(
            ok=not self.problems,
            events=len(self.events),
            problems=tuple(self.problems),
            checkpoints_checked=self.checkpoints_checked,
            head_hash=head,
            root_hash=self.tree.root().hex() if self.tree is not None else "",
        )
