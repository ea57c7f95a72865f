"""The export's layout: header, one line per event, checkpoints where they are due."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit_rows import build_rows
from rofr.audit import FORMAT, export_log, key_id
from rofr.audit.export import leaf_data
from rofr.audit.merkle import MerkleTree, leaf_hash

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
ISSUED = datetime(2025, 2, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("events", "sizes"),
    [(0, [0]), (3, [3]), (10, [10]), (11, [10, 11]), (25, [10, 20, 25]), (30, [10, 20, 30])],
    ids=lambda v: str(v),
)
def test_checkpoints_every_interval_and_one_final(events: int, sizes: list[int]) -> None:
    out = io.StringIO()
    rows = build_rows(events)
    summary = export_log(iter(rows), out, KEY, 10, issued_at=ISSUED)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0] == {
        "format": FORMAT,
        "origin": "rofr-audit",
        "public_key": KEY.public_key().public_bytes_raw().hex(),
        "key_id": key_id(KEY.public_key()),
    }
    checkpoints = [line["checkpoint"] for line in lines if "checkpoint" in line]
    assert [c["tree_size"] for c in checkpoints] == sizes
    assert [c["final"] for c in checkpoints] == [False] * (len(sizes) - 1) + [True]
    events_out = [line for line in lines[1:] if "checkpoint" not in line]
    assert [e["leaf_index"] for e in events_out] == list(range(events))
    assert [{k: v for k, v in e.items() if k != "leaf_index"} for e in events_out] == [
        r.to_record() for r in rows
    ]
    # Each checkpoint sits right after the event it covers up to.
    for i, line in enumerate(lines):
        if "checkpoint" in line and line["checkpoint"]["tree_size"]:
            assert lines[i - 1]["position"] == line["checkpoint"]["tree_size"]
    tree = MerkleTree(leaf_hash(leaf_data(r.to_record())) for r in rows)
    assert summary.root_hash == tree.root().hex()
    assert (summary.events, summary.checkpoints) == (events, len(sizes))


def test_refuses_a_zero_interval() -> None:
    with pytest.raises(ValueError, match="checkpoint_every"):
        export_log([], io.StringIO(), KEY, 0, issued_at=ISSUED)
