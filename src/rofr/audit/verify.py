"""Verify an export with nothing but the file (and, optionally, a checkpoint kept earlier).

What is checked, and how a problem is pinned to an event:

1. Each event line alone: its fields, and its hash against its content (``_lines``). A
   mismatch is a *changed* event, named by position, stream and version.
2. The order of positions: a position seen twice is an *inserted* line (the copy that does not
   fit its neighbours is the intruder); a gap is a *missing* event; positions out of order are
   named (two displaced positions read "events 17 and 18 are out of order").
3. The chain between neighbours (``prev_hash`` = the previous event's ``hash``), where neither
   side was already reported.
4. Every checkpoint: its Ed25519 signature under the header's key, its place in the file, and
   its Merkle root and chain head against the events it covers. Checkpoints come every
   ``export_interval`` events and a signed ``final`` one closes the file, so a deleted
   checkpoint and a file cut after any checkpoint are both reported.
5. With a pinned checkpoint: its signature, and an RFC 6962 consistency proof, computed from the
   leaves, that the exported log extends the pinned one.

Without a pinned key id or checkpoint, a clean result proves the file is internally consistent
and signed by the key in its header; pin the key id to know *whose* key that is.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from pathlib import Path

from rofr.audit._checks import check_checkpoints
from rofr.audit._lines import EventLine, HeaderLine, Line, OtherLine, parse_line
from rofr.audit.checkpoint import Checkpoint, key_id, public_key_from_hex, verify_checkpoint
from rofr.audit.export import FORMAT
from rofr.audit.merkle import MerkleTree, verify_consistency
from rofr.audit.result import Analysis, Problem, VerifyResult
from rofr.store.chain import GENESIS

__all__ = ["Problem", "VerifyResult", "verify_export"]


def verify_export(
    path: Path, pinned_checkpoint: Checkpoint | None = None, pinned_key_id: str | None = None
) -> VerifyResult:
    """Check the export at ``path``; every problem found is in the result, none is raised."""
    return analyse(path, pinned_checkpoint, pinned_key_id).result()


def _read(path: Path) -> Iterator[Line]:
    prev: str | None = None
    with path.open(encoding="utf-8", errors="replace", newline="\n") as lines:
        for number, text in enumerate(lines, start=1):
            parsed = parse_line(number, text.rstrip("\n"), prev)
            if isinstance(parsed, EventLine) and parsed.hash:
                prev = parsed.hash
            yield parsed


def analyse(
    path: Path, pinned: Checkpoint | None = None, pinned_key_id: str | None = None
) -> Analysis:
    """Run every check and keep the intermediate results."""
    out = Analysis()
    lines = list(_read(path))
    events = [x for x in lines if isinstance(x, EventLine)]
    _fill_positions(events)
    _header(out, lines, pinned_key_id)
    for other in (x for x in lines if isinstance(x, OtherLine)):
        out.add(other.line, None, "malformed", f"line {other.line}: {other.reason}")
    kept = _dedupe(out, events)
    _order(out, kept)
    out.events = {e.position: e for e in kept if e.position is not None}
    _build_tree(out)
    check_checkpoints(out, lines)
    _gaps(out)
    _changed_and_links(out, kept)
    if pinned is not None:
        _pinned(out, pinned)
    out.problems.sort(key=lambda p: (p.line or 0, p.position or 0))
    return out


def _fill_positions(events: list[EventLine]) -> None:
    # An unreadable line with no position hint sits where its neighbour says it should.
    previous = 0
    for event in events:
        if event.position is None:
            event.position = previous + 1
        previous = event.position


def _header(out: Analysis, lines: list[Line], pinned_key_id: str | None) -> None:
    headers = [x for x in lines if isinstance(x, HeaderLine)]
    if not headers:
        out.add(1, None, "header", "the export has no header line, so its key is unknown")
        return
    header = headers[0]
    for extra in headers[1:]:
        out.add(extra.line, None, "header", f"a second header appears at line {extra.line}")
    if header.line != 1:
        out.add(header.line, None, "header", f"the header is at line {header.line}, not line 1")
    fields = header.fields
    out.origin = fields.get("origin")
    if set(fields) != {"format", "origin", "public_key", "key_id"}:
        names = ", ".join(sorted(set(fields) ^ {"format", "origin", "public_key", "key_id"}))
        out.add(header.line, None, "header", f"the header's fields are wrong ({names})")
    if fields.get("format") != FORMAT:
        out.add(
            header.line, None, "header", f"the format is {fields.get('format')!r}, not {FORMAT}"
        )
    try:
        key = public_key_from_hex(fields.get("public_key", ""))
    except (ValueError, TypeError):
        out.add(header.line, None, "header", "the header's public_key is not an Ed25519 key")
        return
    if fields.get("key_id") != key_id(key):
        out.add(header.line, None, "header", "the header's key_id does not match its public_key")
    if pinned_key_id is not None and key_id(key) != pinned_key_id:
        out.add(
            header.line, None, "header",
            f"the export is signed by key {key_id(key)[:16]}…, "
            f"not the pinned key {pinned_key_id[:16]}…",
        )  # fmt: skip
    out.public_key = key


def _dedupe(out: Analysis, events: list[EventLine]) -> list[EventLine]:
    """Keep one line per position; report the others as inserted."""
    by_position: dict[int, list[int]] = {}
    for i, event in enumerate(events):
        by_position.setdefault(event.position or 0, []).append(i)
    dropped: set[int] = set()
    for position, indexes in by_position.items():
        if len(indexes) < 2:
            continue

        def fit(i: int, p: int = position) -> tuple[bool, int, int]:
            # The genuine line is intact and sits between positions p-1 and p+1.
            before = events[i - 1].position if i > 0 else 0
            after = events[i + 1].position if i + 1 < len(events) else None
            return (events[i].defect is None, (before == p - 1) + (after == p + 1), -i)

        genuine = max(indexes, key=fit)
        times = "twice" if len(indexes) == 2 else f"{len(indexes)} times"
        for i in indexes:
            if i != genuine:
                dropped.add(i)
                line = events[i].line
                out.add(
                    line, position, "inserted",
                    f"inserted event at line {line}: position {position} appears {times}",
                )  # fmt: skip
    return [e for i, e in enumerate(events) if i not in dropped]


def _order(out: Analysis, kept: list[EventLine]) -> None:
    positions = [e.position or 0 for e in kept]
    ordered = sorted(positions)
    moved = [i for i, (a, b) in enumerate(zip(positions, ordered, strict=True)) if a != b]
    if not moved:
        return
    if len(moved) == 2:
        a, b = sorted(positions[i] for i in moved)
        out.add(kept[moved[1]].line, a, "out_of_order", f"events {a} and {b} are out of order")
        return
    in_lis = _longest_increasing(positions)
    for i, event in enumerate(kept):
        if i not in in_lis:
            where = f"after event {positions[i - 1]}" if i else "at the start"
            out.add(
                event.line, event.position, "out_of_order",
                f"{event.label()} is out of order: found at line {event.line} {where}",
            )  # fmt: skip


def _longest_increasing(values: list[int]) -> set[int]:
    """Indexes of one longest strictly increasing subsequence (patience sorting)."""
    tails: list[int] = []  # tails[k]: value ending the best run of length k+1
    tail_index: list[int] = []
    parent = [-1] * len(values)
    for i, v in enumerate(values):
        k = bisect.bisect_left(tails, v)
        if k == len(tails):
            tails.append(v)
            tail_index.append(i)
        else:
            tails[k], tail_index[k] = v, i
        parent[i] = tail_index[k - 1] if k else -1
    chosen: set[int] = set()
    i = tail_index[-1] if tail_index else -1
    while i >= 0:
        chosen.add(i)
        i = parent[i]
    return chosen


def _gaps(out: Analysis) -> None:
    present = sorted(out.events)
    top = max([*present, out.final.tree_size if out.final else 0])
    last = present[-1] if present else 0
    p = 1
    while p <= top:
        if p in out.events:
            p += 1
            continue
        end = p
        while end + 1 <= top and end + 1 not in out.events:
            end += 1
        what = f"event {p}" if end == p else f"events {p} to {end}"
        if end < last:
            after = out.events[end + 1]
            jump = f"position jumps from {p - 1} to {end + 1}" if p > 1 else (
                f"the log starts at position {end + 1}"
            )  # fmt: skip
            out.add(after.line, p, "missing", f"{what} missing: {jump}")
        else:
            out.add(
                None, p, "truncated",
                f"{what} missing: the final checkpoint covers {top} events "
                f"but the log ends at position {last}",
            )  # fmt: skip
        p = end + 1


def _changed_and_links(out: Analysis, kept: list[EventLine]) -> None:
    for event in kept:
        if event.defect is not None:
            out.add(
                event.line,
                event.position,
                "changed",
                f"{event.label()} was changed: {event.defect}",
            )
    for position, event in sorted(out.events.items()):
        if event.defect is not None:
            continue
        if position == 1:
            if event.prev_hash != GENESIS:
                out.add(
                    event.line,
                    1,
                    "changed",
                    f"{event.label()} was changed: its prev_hash is not the genesis hash",
                )
            continue
        before = out.events.get(position - 1)
        if before is None or before.defect is not None or event.prev_hash == before.hash:
            continue
        out.add(
            event.line, position, "chain_broken",
            f"chain broken between events {position - 1} and {position}: event {position}'s "
            f"prev_hash is not event {position - 1}'s hash (one of them was rewritten)",
        )  # fmt: skip


def _build_tree(out: Analysis) -> None:
    leaves: list[bytes] = []
    p = 1
    while p in out.events and out.events[p].defect is None and out.events[p].leaf is not None:
        leaves.append(out.events[p].leaf or b"")
        p += 1
    out.tree = MerkleTree(leaves)


def _pinned(out: Analysis, pinned: Checkpoint) -> None:
    size = pinned.tree_size
    if out.public_key is None or not verify_checkpoint(pinned, out.public_key):
        out.add(
            None, size, "not_extension", "the pinned checkpoint was not signed by this export's key"
        )
        return
    assert out.tree is not None
    total = out.final.tree_size if out.final else len(out.events)
    if size > total:
        out.add(
            None,
            size,
            "not_extension",
            f"the log shrank: the pinned checkpoint covers {size} events, the export {total}",
        )
        return
    if out.tree.size < total:
        out.add(
            None,
            size,
            "not_extension",
            "consistency with the pinned checkpoint cannot be proved: "
            "the log is damaged (see the other problems)",
        )
        return
    proof = out.tree.consistency_proof(size, total)
    new_root = out.tree.root(total)
    if not verify_consistency(size, total, bytes.fromhex(pinned.root_hash), new_root, proof):
        out.add(
            None, size, "not_extension",
            f"the log is not an extension of the pinned checkpoint: events 1 to {size} "
            "differ from what was pinned",
        )  # fmt: skip
    elif size and out.events[size].hash != pinned.chain_head_hash:
        out.add(
            None, size, "not_extension", f"event {size}'s hash differs from the pinned chain head"
        )
