"""Reading an export file line by line into entries the verifier can reason about.

Each event line is checked on its own here (fields, hash formats, its hash against its content)
and, when the hash does not match, the one-field explanation is looked for: a position field
that no longer agrees with ``leaf_index``, or a ``prev_hash`` that was altered. Lines that are
not JSON keep a position guessed from their text so the problem can still name the event.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from rofr.audit.checkpoint import Checkpoint
from rofr.audit.merkle import leaf_hash
from rofr.store.chain import chain_hash

__all__ = ["CheckpointLine", "EventLine", "HeaderLine", "Line", "OtherLine", "parse_line"]

_HEX64 = re.compile(r"[0-9a-f]{64}")
_POSITION_HINT = re.compile(r'"position":(\d+)')
_LEAF_HINT = re.compile(r'"leaf_index":(\d+)')
_SIZE_HINT = re.compile(r'"tree_size":(\d+)')


@dataclass(slots=True)
class EventLine:
    """One event line. ``defect`` says why its own content is not what was recorded."""

    line: int
    position: int | None
    stream: str = "?"
    version: str = "?"
    prev_hash: str = ""
    hash: str = ""
    leaf: bytes | None = None
    defect: str | None = None

    def label(self) -> str:
        if self.stream == "?":
            return f"event at position {self.position}"
        return f"event at position {self.position} (stream {self.stream}, version {self.version})"


@dataclass(slots=True)
class CheckpointLine:
    line: int
    checkpoint: Checkpoint | None
    size_hint: int | None = None
    error: str = ""


@dataclass(slots=True)
class HeaderLine:
    line: int
    fields: dict[str, Any]


@dataclass(slots=True)
class OtherLine:
    line: int
    reason: str


Line = EventLine | CheckpointLine | HeaderLine | OtherLine


class _NotCanonical(ValueError):
    pass


def _reject_number(text: str) -> Any:
    raise _NotCanonical(f"the number {text} is not an integer (canonical data has no floats)")


def _canonical(value: Any) -> bytes:
    # Byte-identical to ``rofr.values.canonical_bytes`` for data parsed by ``_load`` (plain
    # JSON without floats, where ``to_jsonable`` is the identity), at a third of the cost;
    # tests/test_audit_verify.py checks the equivalence on every row of a realistic log.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _load(text: str) -> Any:
    return json.loads(text, parse_float=_reject_number, parse_constant=_reject_number)


def _record_bytes(obj: dict[str, Any], position: int) -> bytes:
    """``rofr.store.chain.record_bytes`` of an exported event, with ``position`` put in."""
    keys = ("stream", "version", "type", "data", "recorded_at")
    return _canonical({"position": position, **{key: obj[key] for key in keys}})


def _leaf_data(obj: dict[str, Any]) -> bytes:
    """``rofr.audit.export.leaf_data`` of an exported event."""
    return _canonical({key: value for key, value in obj.items() if key != "leaf_index"})


def _int_field(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    return value if type(value) is int else None


def parse_line(line_no: int, text: str, prev_hash_in_file: str | None) -> Line:
    """Classify and check one line. ``prev_hash_in_file`` is the hash of the event line before."""
    try:
        obj = _load(text)
    except _NotCanonical as exc:
        return _unreadable(line_no, text, str(exc))
    except ValueError:
        return _unreadable(line_no, text)
    if not isinstance(obj, dict):
        return _unreadable(line_no, text)
    if "checkpoint" in obj:
        return _checkpoint(line_no, obj, text)
    if "format" in obj:
        return HeaderLine(line_no, obj)
    if "position" in obj or "leaf_index" in obj or "hash" in obj:
        return _event(line_no, obj, prev_hash_in_file)
    return OtherLine(line_no, "it is neither an event, a checkpoint nor the header")


def _unreadable(line_no: int, text: str, why: str = "it is not valid JSON") -> Line:
    if '"checkpoint"' in text:
        size = _SIZE_HINT.search(text)
        return CheckpointLine(line_no, None, int(size.group(1)) if size else None, why)
    if '"format"' in text:
        return OtherLine(line_no, "it looks like a header but is not valid JSON")
    position = _POSITION_HINT.search(text)
    leaf = _LEAF_HINT.search(text)
    guess = int(position.group(1)) if position else (int(leaf.group(1)) + 1 if leaf else None)
    return EventLine(line_no, guess, defect=f"line {line_no}: {why}")


def _checkpoint(line_no: int, obj: dict[str, Any], text: str) -> CheckpointLine:
    size = _SIZE_HINT.search(text)
    hint = int(size.group(1)) if size else None
    body = obj["checkpoint"]
    if set(obj) != {"checkpoint"} or not isinstance(body, dict):
        return CheckpointLine(line_no, None, hint, "it has unexpected fields")
    try:
        return CheckpointLine(line_no, Checkpoint.from_json(body), hint)
    except ValueError as exc:
        return CheckpointLine(line_no, None, hint, str(exc))


def _event(line_no: int, obj: dict[str, Any], prev_in_file: str | None) -> EventLine:
    position = _int_field(obj, "position")
    leaf_index = _int_field(obj, "leaf_index")
    entry = EventLine(line_no, position if position is not None else _plus1(leaf_index))
    stream, version, type_ = obj.get("stream"), obj.get("version"), obj.get("type")
    entry.stream = stream if isinstance(stream, str) else "?"
    entry.version = str(version) if type(version) is int else "?"
    bad = [
        key
        for key, ok in (
            ("position", position is not None),
            ("leaf_index", leaf_index is not None),
            ("stream", isinstance(stream, str)),
            ("version", type(version) is int),
            ("type", isinstance(type_, str)),
            ("data", isinstance(obj.get("data"), dict)),
            ("recorded_at", isinstance(obj.get("recorded_at"), str)),
            ("prev_hash", isinstance(obj.get("prev_hash"), str)),
            ("hash", isinstance(obj.get("hash"), str)),
        )
        if not ok
    ]
    extra = set(obj) - {
        "position", "leaf_index", "stream", "version", "type", "data", "recorded_at",
        "prev_hash", "hash",
    }  # fmt: skip
    if bad or extra:
        names = ", ".join(sorted(bad)) or ", ".join(sorted(extra))
        entry.defect = f"its field {names} is missing or malformed"
        return entry
    entry.prev_hash, entry.hash = obj["prev_hash"], obj["hash"]
    for key in ("prev_hash", "hash"):
        if not _HEX64.fullmatch(obj[key]):
            entry.defect = f"its {key} is not 64 lowercase hex digits"
            return entry
    body = _record_bytes(obj, position)  # type: ignore[arg-type]
    entry.leaf = leaf_hash(_leaf_data(obj))
    entry.defect = _explain(obj, body, position, leaf_index, prev_in_file, entry)  # type: ignore[arg-type]
    return entry


def _plus1(value: int | None) -> int | None:
    return None if value is None else value + 1


def _explain(
    obj: dict[str, Any],
    body: bytes,
    position: int,
    leaf_index: int,
    prev_in_file: str | None,
    entry: EventLine,
) -> str | None:
    """Why the line's hash does not fit its content, or ``None`` when it does."""
    if chain_hash(entry.prev_hash, body) == entry.hash:
        if leaf_index != position - 1:
            return f"its leaf_index {leaf_index} should be {position - 1}"
        return None
    if leaf_index + 1 != position:
        # A changed position field: the hash still fits the position leaf_index implies.
        true_position = leaf_index + 1
        if chain_hash(entry.prev_hash, _record_bytes(obj, true_position)) == entry.hash:
            entry.position = true_position
            return f"its position field says {position}, but its hash is for {true_position}"
    if prev_in_file is not None and chain_hash(prev_in_file, body) == entry.hash:
        return "its prev_hash does not match the hash of the event before it"
    return "its hash does not match its content"
