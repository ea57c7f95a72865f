"""Checkpoint checks: signature, place in the file, root and chain head, interval, final one."""

from __future__ import annotations

from collections import Counter

from rofr.audit._lines import CheckpointLine, EventLine, Line
from rofr.audit.checkpoint import Checkpoint, verify_checkpoint
from rofr.audit.result import Analysis
from rofr.store.chain import GENESIS

__all__ = ["check_checkpoints"]


def check_checkpoints(out: Analysis, lines: list[Line]) -> None:
    """Check every checkpoint line; set ``out.final`` to the signed final one, if any."""
    trusted = _signed(out, lines)
    kept = {e.line for e in out.events.values()}
    # Positions of the kept events in file order, for "what comes before / after this line".
    order = [
        (x.line, x.position or 0) for x in lines if isinstance(x, EventLine) and x.line in kept
    ]
    for line, cp in trusted:
        size = cp.tree_size
        before = max((p for ln, p in order if ln < line), default=0)
        after = min((p for ln, p in order if ln > line), default=None)
        if before > size or (after is not None and after <= size):
            what = (
                f"event {before} comes before it" if before > size else f"event {after} follows it"
            )
            out.add(
                line,
                size,
                "checkpoint",
                f"checkpoint for size {size} at line {line} is out of place: {what}",
            )
            continue
        if not _content_matches(out, line, cp):
            continue
        out.checkpoints_checked += 1
    origins = {cp.origin for _, cp in trusted}
    if origins and out.origin not in origins:
        out.add(
            1, None, "header",
            f"the header's origin {out.origin!r} is not the log its checkpoints are signed for "
            f"({', '.join(sorted(origins))})",
        )  # fmt: skip
    _final(out, lines, trusted)
    # A checkpoint line already reported as bad is not reported missing as well.
    reported = {
        x.checkpoint.tree_size if x.checkpoint else x.size_hint
        for x in lines
        if isinstance(x, CheckpointLine)
    }
    _interval(out, trusted, reported)


def _signed(out: Analysis, lines: list[Line]) -> list[tuple[int, Checkpoint]]:
    trusted: list[tuple[int, Checkpoint]] = []
    for x in lines:
        if not isinstance(x, CheckpointLine):
            continue
        cp = x.checkpoint
        if cp is None:
            out.add(
                x.line,
                x.size_hint,
                "checkpoint",
                f"checkpoint at line {x.line} is malformed: {x.error}",
            )
        elif out.public_key is None:
            out.add(
                x.line,
                cp.tree_size,
                "checkpoint",
                f"checkpoint at line {x.line} cannot be checked: the export's key is unknown",
            )
        elif not verify_checkpoint(cp, out.public_key):
            out.add(
                x.line,
                cp.tree_size,
                "checkpoint",
                f"checkpoint at line {x.line} (size {cp.tree_size}) has an invalid signature",
            )
        else:
            trusted.append((x.line, cp))
    return trusted


def _content_matches(out: Analysis, line: int, cp: Checkpoint) -> bool:
    size = cp.tree_size
    assert out.tree is not None
    if out.tree.size < size:
        return False  # events 1..size are damaged or missing; those problems are reported
    if out.tree.root(size).hex() != cp.root_hash:
        out.add(
            line,
            size,
            "checkpoint",
            f"checkpoint at line {line} (size {size}): its root hash does not match "
            f"events 1 to {size}",
        )
        return False
    head = out.events[size].hash if size else GENESIS
    if head != cp.chain_head_hash:
        out.add(
            line,
            size,
            "checkpoint",
            f"checkpoint at line {line} (size {size}): its chain head is not event {size}'s hash",
        )
        return False
    return True


def _final(out: Analysis, lines: list[Line], trusted: list[tuple[int, Checkpoint]]) -> None:
    finals = [(line, cp) for line, cp in trusted if cp.final]
    last_position = max(out.events, default=0)
    if not finals:
        end = lines[-1].line if lines else 0
        out.add(
            end, last_position, "truncated",
            f"the export has no valid final checkpoint: it ends at line {end} after event "
            f"{last_position}, so what followed may have been cut off",
        )  # fmt: skip
        return
    final_line, out.final = finals[-1]
    trailing = [x.line for x in lines if x.line > final_line]
    if trailing:
        out.add(
            trailing[0],
            None,
            "inserted",
            f"{len(trailing)} line(s) follow the final checkpoint, from line {trailing[0]}",
        )
    for position, event in sorted(out.events.items()):
        if position > out.final.tree_size:
            out.add(
                event.line,
                position,
                "inserted",
                f"{event.label()} is not covered by the final checkpoint",
            )


def _interval(
    out: Analysis, trusted: list[tuple[int, Checkpoint]], reported: set[int | None]
) -> None:
    if not trusted:
        return
    every = out.final.export_interval if out.final else trusted[0][1].export_interval
    if every <= 0:
        return
    if out.final is not None:
        due = set(range(every, out.final.tree_size, every)) | {out.final.tree_size}
    else:  # cut short: the interval checkpoints up to the last event are still due
        due = set(range(every, max(out.events, default=0) + 1, every))
    sizes = Counter(cp.tree_size for _, cp in trusted)
    for size in sorted(due - set(sizes) - reported):
        out.add(
            None,
            size,
            "checkpoint",
            f"checkpoint for size {size} is missing (the export has one every {every} events)",
        )
    for line, cp in trusted:
        size = cp.tree_size
        if cp.export_interval != every:
            out.add(
                line,
                size,
                "checkpoint",
                f"checkpoint at line {line} comes from another export "
                f"(interval {cp.export_interval}, not {every})",
            )
        elif size not in due:
            out.add(
                line,
                size,
                "checkpoint",
                f"checkpoint at line {line} has size {size}, which is not due "
                f"(one every {every} events)",
            )
    for size, count in sizes.items():
        if count > 1:
            where = ", ".join(str(line) for line, cp in trusted if cp.tree_size == size)
            out.add(
                None,
                size,
                "checkpoint",
                f"checkpoint for size {size} appears {count} times (lines {where})",
            )
