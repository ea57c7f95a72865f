"""Export the event log as signed JSON lines that any party can verify with nothing else.

File layout (``rofr-audit/1``), one canonical JSON object per line (sorted keys, no spaces):

1. header ``{"format": "rofr-audit/1", "key_id": ..., "origin": ..., "public_key": ...}``;
2. one line per event: ``StoredEvent.to_record()`` plus ``"leaf_index"`` (= position - 1);
3. ``{"checkpoint": {...}}`` after every ``checkpoint_every`` events, and always one last
   checkpoint with ``"final": true`` (see :mod:`rofr.audit.checkpoint`).

Merkle leaves: the leaf data of an event is ``canonical_bytes(record)`` where ``record`` is
``StoredEvent.to_record()`` (position, stream, version, type, data, recorded_at, prev_hash and
hash; *not* leaf_index, which is derived). Leaf ``i`` is the event at position ``i + 1``, and
its leaf hash is ``SHA-256(0x00 || leaf data)`` per RFC 6962. Including both chain hashes in the
leaf binds the Merkle tree to the hash chain: a checkpoint's root commits to the chain too.

The export streams: it holds one row at a time plus the Merkle right edge (``O(log n)``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rofr.audit.checkpoint import (
    DEFAULT_ORIGIN,
    Checkpoint,
    key_id,
    public_key_hex,
    sign_checkpoint,
)
from rofr.audit.merkle import RootAccumulator, leaf_hash
from rofr.store.chain import GENESIS, StoredEvent
from rofr.values import canonical_bytes

__all__ = ["FORMAT", "ExportSummary", "export_log", "leaf_data", "line_text"]

FORMAT = "rofr-audit/1"
_RECORD_KEYS = ("position", "stream", "version", "type", "data", "recorded_at")
_HASH_KEYS = ("prev_hash", "hash")


def leaf_data(record: Mapping[str, Any]) -> bytes:
    """The Merkle leaf data of an exported event: canonical JSON of its record, hashes included.

    ``record`` may be an export line; ``leaf_index`` and any other extra key are ignored.
    """
    return canonical_bytes({key: record[key] for key in (*_RECORD_KEYS, *_HASH_KEYS)})


def line_text(obj: Mapping[str, Any]) -> str:
    """One export line: canonical JSON (the same bytes ``canonical_bytes`` gives), no newline."""
    return canonical_bytes(obj).decode("utf-8")


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What was written: counts, the final Merkle root and chain head, and the last checkpoint."""

    events: int
    checkpoints: int
    root_hash: str
    head_hash: str
    final_checkpoint: Checkpoint


def export_log(
    rows: Iterable[StoredEvent],
    out: Path | TextIO,
    signing_key: Ed25519PrivateKey,
    checkpoint_every: int = 1000,
    *,
    issued_at: datetime,
    origin: str = DEFAULT_ORIGIN,
) -> ExportSummary:
    """Write ``rows`` (in position order, as the store returns them) as a signed export.

    The rows are copied as they are, even if their chain is broken: the export is evidence of
    what the store holds, and :func:`rofr.audit.verify_export` is what judges it.
    """
    if checkpoint_every <= 0:
        raise ValueError("checkpoint_every must be positive")
    with ExitStack() as stack:
        if isinstance(out, Path):
            sink: TextIO = stack.enter_context(out.open("w", encoding="utf-8", newline="\n"))
        else:
            sink = out
        return _write(rows, sink, signing_key, checkpoint_every, issued_at, origin)


def _write(
    rows: Iterable[StoredEvent],
    sink: TextIO,
    signing_key: Ed25519PrivateKey,
    every: int,
    issued_at: datetime,
    origin: str,
) -> ExportSummary:
    public = signing_key.public_key()
    header = {
        "format": FORMAT,
        "origin": origin,
        "public_key": public_key_hex(public),
        "key_id": key_id(public),
    }
    sink.write(line_text(header) + "\n")
    acc = RootAccumulator()
    head = GENESIS
    checkpoints = 0

    def checkpoint(final: bool) -> Checkpoint:
        nonlocal checkpoints
        cp = sign_checkpoint(
            signing_key,
            tree_size=acc.size,
            root_hash=acc.root().hex(),
            chain_head_hash=head,
            issued_at=issued_at,
            origin=origin,
            export_interval=every,
            final=final,
        )
        sink.write(line_text({"checkpoint": cp.to_json()}) + "\n")
        checkpoints += 1
        return cp

    due = False  # an interval checkpoint is owed for the rows written so far
    for row in rows:
        # Written only once the next row exists, so a log whose size is a multiple of the
        # interval ends with one (final) checkpoint rather than two identical ones.
        if due:
            checkpoint(final=False)
        record = row.to_record()
        sink.write(line_text({**record, "leaf_index": acc.size}) + "\n")
        acc.append(leaf_hash(leaf_data(record)))
        head = row.hash
        due = acc.size % every == 0
    final = checkpoint(final=True)
    sink.flush()
    return ExportSummary(
        events=acc.size,
        checkpoints=checkpoints,
        root_hash=final.root_hash,
        head_hash=head,
        final_checkpoint=final,
    )
