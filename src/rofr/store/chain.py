"""The hash chain over the event log: one rule, used by every backend and by the audit verifier.

Each stored event carries ``prev_hash`` (the hash of the row before it in the global order) and
``hash = SHA-256(prev_hash_bytes || record_bytes)``, where ``record_bytes`` is the canonical JSON
of the row without its hashes. Changing, deleting, inserting or reordering any row breaks every
hash after it, so a verifier needs nothing but the exported rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rofr.values import canonical_bytes, canonical_json_text, to_jsonable

_escaped = json.encoder.encode_basestring  # the canonical encoder's (ensure_ascii=False)

__all__ = [
    "GENESIS",
    "ChainBreak",
    "StoredEvent",
    "chain_hash",
    "first_break",
    "record_bytes",
    "record_bytes_of_text",
    "record_bytes_plain",
]

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One row of the event log as every backend returns it."""

    position: int  # global sequence, 1-based, gap-free
    stream: str
    version: int  # 1-based version within the stream
    type: str
    data: Mapping[str, Any]
    recorded_at: datetime
    prev_hash: str
    hash: str

    def to_record(self) -> dict[str, Any]:
        """The exported form of the row (JSON-ready), hashes included."""
        return {
            "position": self.position,
            "stream": self.stream,
            "version": self.version,
            "type": self.type,
            "data": to_jsonable(self.data),
            "recorded_at": to_jsonable(self.recorded_at),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def record_bytes(
    position: int,
    stream: str,
    version: int,
    type_: str,
    data: Mapping[str, Any],
    recorded_at: datetime | str,
) -> bytes:
    """The canonical bytes of a row without its hashes (what the chain hashes)."""
    return canonical_bytes(
        {
            "position": position,
            "stream": stream,
            "version": version,
            "type": type_,
            "data": data,
            "recorded_at": recorded_at,
        }
    )


def record_bytes_plain(
    position: int, stream: str, version: int, type_: str, data: Any, recorded_at: str
) -> bytes:
    """``record_bytes`` for ``data`` that is already plain JSON (``to_jsonable`` output) and a
    ``recorded_at`` already in its text form: the same bytes, without walking the data again."""
    return record_bytes_of_text(
        position, stream, version, type_, canonical_json_text(data), recorded_at
    )


def record_bytes_of_text(
    position: int, stream: str, version: int, type_: str, data_text: str, recorded_at: str
) -> bytes:
    """``record_bytes`` from the data's canonical JSON text (which the SQL stores also write
    to their data column, so it is made once). The row's keys in sorted order are data,
    position, recorded_at, stream, type, version: the canonical text is written out in that
    order, with strings escaped by the canonical encoder's own function (a property test
    checks it against ``canonical_bytes`` of the row)."""
    return (
        '{"data":' + data_text
        + ',"position":' + int.__repr__(position)
        + ',"recorded_at":' + _escaped(recorded_at)
        + ',"stream":' + _escaped(stream)
        + ',"type":' + _escaped(type_)
        + ',"version":' + int.__repr__(version) + "}"
    ).encode("utf-8")  # fmt: skip


def chain_hash(prev_hash: str, record: bytes) -> str:
    """``SHA-256(bytes.fromhex(prev_hash) || record)`` as lowercase hex."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + record).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where and why a sequence of rows stops being a valid chain."""

    position: int
    reason: str


def first_break(rows: Iterable[Mapping[str, Any]]) -> ChainBreak | None:
    """Check exported rows (``StoredEvent.to_record`` dicts) in order; ``None`` if intact."""
    expected_prev = GENESIS
    expected_position = 1
    for row in rows:
        position = int(row["position"])
        if position != expected_position:
            return ChainBreak(position, f"expected position {expected_position}, found {position}")
        if row["prev_hash"] != expected_prev:
            return ChainBreak(position, "prev_hash does not match the previous row's hash")
        body = record_bytes(
            position, row["stream"], row["version"], row["type"], row["data"], row["recorded_at"]
        )
        if chain_hash(expected_prev, body) != row["hash"]:
            return ChainBreak(position, "hash does not match the row's content")
        expected_prev = row["hash"]
        expected_position += 1
    return None
