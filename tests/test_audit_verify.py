"""The verifier's exact findings for each kind of tamper, pinned checkpoints, inclusion proofs."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit_rows import build_rows
from rofr.audit import (
    export_log,
    inclusion_proof_for,
    key_id,
    leaf_data,
    verify_export,
    verify_inclusion_proof,
)
from rofr.audit._lines import _leaf_data, _record_bytes
from rofr.store.chain import chain_hash, record_bytes

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
ISSUED = datetime(2025, 2, 1, tzinfo=UTC)
ROWS = build_rows(200)
# Line numbers: the header is line 1; event p is on line p + 1 + (checkpoints before it);
# with one checkpoint every 50 events, event 17 is line 18 and event 60 is line 62.


def _line(position: int) -> int:
    return position + 1 + (position - 1) // 50


@pytest.fixture
def lines(tmp_path: Path) -> list[str]:
    path = tmp_path / "clean.jsonl"
    export_log(ROWS, path, KEY, 50, issued_at=ISSUED)
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _edit(lines: list[str], index: int, change: Callable[[dict], None]) -> list[str]:
    obj = json.loads(lines[index])
    change(obj)
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    return [*lines[:index], text, *lines[index + 1 :]]


def _set(key: str, value: object) -> Callable[[dict], None]:
    return lambda obj: obj.__setitem__(key, value)


def _swap(lines: list[str], a: int, b: int) -> list[str]:
    out = list(lines)
    out[a], out[b] = out[b], out[a]
    return out


E17 = _line(17) - 1  # list index of event 17's line
S17 = f"stream {ROWS[16].stream}, version {ROWS[16].version}"

CASES: list[tuple[str, Callable[[list[str]], list[str]], list[tuple[int | None, str]]]] = [
    ("clean", lambda ls: ls, []),
    (
        "changed-data",
        lambda ls: _edit(ls, E17, lambda o: o["data"].__setitem__("forged", "1")),
        [(17, f"event at position 17 ({S17}) was changed: its hash does not match its content")],
    ),
    (
        "changed-hash",
        lambda ls: _edit(ls, E17, _set("hash", "f" * 64)),
        [(17, f"event at position 17 ({S17}) was changed: its hash does not match its content")],
    ),
    (
        "changed-prev-hash",
        lambda ls: _edit(ls, E17, _set("prev_hash", "e" * 64)),
        [
            (
                17,
                f"event at position 17 ({S17}) was changed: "
                "its prev_hash does not match the hash of the event before it",
            )
        ],
    ),
    (
        "changed-position",
        lambda ls: _edit(ls, E17, _set("position", 71)),
        [
            (
                17,
                f"event at position 17 ({S17}) was changed: "
                "its position field says 71, but its hash is for 17",
            )
        ],
    ),
    (
        "changed-leaf-index",
        lambda ls: _edit(ls, E17, _set("leaf_index", 3)),
        [(17, f"event at position 17 ({S17}) was changed: its leaf_index 3 should be 16")],
    ),
    (
        "deleted",
        lambda ls: [*ls[:E17], *ls[E17 + 1 :]],
        [(17, "event 17 missing: position jumps from 16 to 18")],
    ),
    (
        "deleted-three",
        lambda ls: [*ls[:E17], *ls[E17 + 3 :]],
        [(17, "events 17 to 19 missing: position jumps from 16 to 20")],
    ),
    (
        "duplicated",
        lambda ls: [*ls[: E17 + 1], ls[E17], *ls[E17 + 1 :]],
        [(17, f"inserted event at line {_line(17) + 1}: position 17 appears twice")],
    ),
    (
        "copied-from-elsewhere",
        lambda ls: [*ls[: E17 + 1], ls[_line(5) - 1], *ls[E17 + 1 :]],
        [(5, f"inserted event at line {_line(17) + 1}: position 5 appears twice")],
    ),
    (
        "swapped-neighbours",
        lambda ls: _swap(ls, E17, E17 + 1),
        [(17, "events 17 and 18 are out of order")],
    ),
    (
        "swapped-far",
        lambda ls: _swap(ls, E17, _line(40) - 1),
        [(17, "events 17 and 40 are out of order")],
    ),
    (
        "moved",
        lambda ls: [*ls[:E17], *ls[E17 + 1 : _line(40)], ls[E17], *ls[_line(40) :]],
        [
            (
                17,
                f"event at position 17 ({S17}) is out of order: found at line {_line(40)} "
                "after event 40",
            )
        ],
    ),
    (
        "truncated-after-checkpoint",
        lambda ls: ls[: _line(100) + 1],
        [
            (
                100,
                f"the export has no valid final checkpoint: it ends at line {_line(100) + 1} "
                "after event 100, so what followed may have been cut off",
            )
        ],
    ),
    (
        "tail-events-deleted",
        lambda ls: [*ls[: _line(198)], ls[-1]],
        [(199, "events 199 to 200 missing: the final checkpoint covers 200 events but the log ends at position 198")],
    ),
    (
        "checkpoint-deleted",
        lambda ls: [*ls[: _line(100)], *ls[_line(100) + 1 :]],
        [(100, "checkpoint for size 100 is missing (the export has one every 50 events)")],
    ),
    (
        "signature-altered",
        lambda ls: _edit(ls, _line(50), lambda o: o["checkpoint"].__setitem__("signature", "A" * 86 + "==")),
        [(50, f"checkpoint at line {_line(50) + 1} (size 50) has an invalid signature")],
    ),
    (
        "header-origin",
        lambda ls: _edit(ls, 0, _set("origin", "rofr-audiX")),
        [
            (
                None,
                "the header's origin 'rofr-audiX' is not the log its checkpoints are signed for "
                "(rofr-audit)",
            )
        ],
    ),
    (
        "rehashed",
        lambda ls: _edit(ls, E17, _rehash),
        [(18, "chain broken between events 17 and 18: event 18's prev_hash is not event 17's hash (one of them was rewritten)")],
    ),
]  # fmt: skip


def _rehash(obj: dict) -> None:
    # A forger who edits event 17 and recomputes its hash (but not the ones after it).
    obj["data"]["gpus"] = 1
    body = record_bytes(
        17, obj["stream"], obj["version"], obj["type"], obj["data"], obj["recorded_at"]
    )
    obj["hash"] = chain_hash(obj["prev_hash"], body)


@pytest.mark.parametrize(("name", "tamper", "expected"), CASES, ids=[c[0] for c in CASES])
def test_reports_exactly(
    name: str,
    tamper: Callable[[list[str]], list[str]],
    expected: list[tuple[int | None, str]],
    lines: list[str],
    tmp_path: Path,
) -> None:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(tamper(lines)), encoding="utf-8")
    result = verify_export(path)
    found = [(p.position, p.message) for p in result.problems]
    if name == "rehashed":
        # The Merkle root of every later checkpoint no longer matches either.
        assert found[0] == expected[0]
        assert all("root hash does not match" in m for _, m in found[1:]) and len(found) == 5
    else:
        assert found == expected
    assert result.ok is (not expected)


def test_clean_result_figures(lines: list[str], tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    summary = export_log(iter(ROWS), path, KEY, 50, issued_at=ISSUED)
    result = verify_export(path, pinned_key_id=key_id(KEY.public_key()))
    assert (result.ok, result.events, result.checkpoints_checked) == (True, 200, 4)
    assert result.head_hash == ROWS[-1].hash == summary.head_hash
    assert result.root_hash == summary.root_hash


def test_wrong_pinned_key_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    export_log(ROWS, path, KEY, 50, issued_at=ISSUED)
    other = key_id(Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key())
    result = verify_export(path, pinned_key_id=other)
    assert [p.kind for p in result.problems] == ["header"]


@pytest.mark.parametrize(
    ("old_rows", "tamper_old", "ok"),
    [(120, False, True), (200, False, True), (0, False, True), (120, True, False)],
    ids=["grew", "same", "empty", "history-rewritten"],
)
def test_pinned_checkpoint_consistency(
    old_rows: int, tamper_old: bool, ok: bool, tmp_path: Path
) -> None:
    # A party kept the final checkpoint of an earlier export; the log has grown since.
    rows = build_rows(200)
    earlier = build_rows(old_rows, seed=99) if tamper_old else rows[:old_rows]
    old = export_log(earlier, tmp_path / "old.jsonl", KEY, 50, issued_at=ISSUED).final_checkpoint
    export_log(rows, tmp_path / "new.jsonl", KEY, 50, issued_at=ISSUED)
    result = verify_export(tmp_path / "new.jsonl", pinned_checkpoint=old)
    assert result.ok is ok
    if not ok:
        assert [p.kind for p in result.problems] == ["not_extension"]


def test_pinned_checkpoint_larger_than_log_means_it_shrank(tmp_path: Path) -> None:
    big = export_log(ROWS, tmp_path / "big.jsonl", KEY, 50, issued_at=ISSUED).final_checkpoint
    export_log(ROWS[:150], tmp_path / "small.jsonl", KEY, 50, issued_at=ISSUED)
    result = verify_export(tmp_path / "small.jsonl", pinned_checkpoint=big)
    assert [p.message for p in result.problems] == [
        "the log shrank: the pinned checkpoint covers 200 events, the export 150"
    ]


def test_pinned_checkpoint_from_another_key_is_refused(tmp_path: Path) -> None:
    other = Ed25519PrivateKey.from_private_bytes(bytes(32))
    old = export_log(ROWS[:50], tmp_path / "o.jsonl", other, 50, issued_at=ISSUED)
    export_log(ROWS, tmp_path / "n.jsonl", KEY, 50, issued_at=ISSUED)
    result = verify_export(tmp_path / "n.jsonl", pinned_checkpoint=old.final_checkpoint)
    assert [p.kind for p in result.problems] == ["not_extension"]


@pytest.mark.parametrize("position", [1, 17, 128, 200], ids=lambda p: f"event{p}")
def test_inclusion_proof_round_trip(position: int, tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    export_log(ROWS, path, KEY, 50, issued_at=ISSUED)
    proof = inclusion_proof_for(path, position)
    record = ROWS[position - 1].to_record()
    pin = key_id(KEY.public_key())
    assert verify_inclusion_proof(proof, record, pinned_key_id=pin)
    assert not verify_inclusion_proof(proof, ROWS[position % 200].to_record())
    assert not verify_inclusion_proof(proof, pinned_key_id="0" * 64)
    # The same path cannot vouch for a checkpoint it was not computed for.
    forged = replace(proof, checkpoint=replace(proof.checkpoint, tree_size=201))
    assert not verify_inclusion_proof(forged)


def test_inclusion_proof_refuses_a_damaged_export(lines: list[str], tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("".join([*lines[:E17], *lines[E17 + 1 :]]), encoding="utf-8")
    with pytest.raises(ValueError, match="event 17 missing"):
        inclusion_proof_for(path, 3)


def test_fast_canonical_form_equals_the_chain_rule() -> None:
    # The verifier re-encodes parsed JSON itself; it must give the chain's exact bytes.
    for row in ROWS:
        exported = json.loads(json.dumps(row.to_record()))
        body = record_bytes(
            row.position, row.stream, row.version, row.type, row.data, row.recorded_at
        )
        assert _record_bytes(exported, row.position) == body
        assert _leaf_data(exported) == leaf_data(row.to_record())


def test_empty_log_exports_and_verifies(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    summary = export_log([], path, KEY, 50, issued_at=ISSUED)
    result = verify_export(path)
    assert (result.ok, result.events, summary.checkpoints) == (True, 0, 1)
