"""Appends per second: the in-memory event log against SQLite on a local temp file.

Run: ``.venv/bin/python bench/store.py [count]`` (default 10,000 single-event appends each).
Each append is its own transaction, as in the service: one command, one commit.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from rofr.store import EventStore, MemoryStore, NewEvent, SqliteStore, verify_chain

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
STREAMS = 100  # appends round-robin over this many requirement streams


def appends_per_second(store: EventStore, count: int) -> float:
    """Time ``count`` single-event appends (each its own transaction) into ``store``."""
    versions = [0] * STREAMS
    started = time.perf_counter()
    for i in range(count):
        n = i % STREAMS
        stream = f"req-{n}"
        event = NewEvent(
            stream, "QuoteReceived", {"provider": "rival-a", "gpus": 64, "price": Decimal("2.35")}
        )
        store.append(stream, versions[n], [event], T0 + timedelta(seconds=i))
        versions[n] += 1
    elapsed = time.perf_counter() - started
    return count / elapsed


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    memory = MemoryStore()
    memory_rate = appends_per_second(memory, count)
    with tempfile.TemporaryDirectory() as folder, SqliteStore(Path(folder) / "b.db") as sqlite:
        sqlite_rate = appends_per_second(sqlite, count)
        assert verify_chain(sqlite) is None and sqlite.head()[0] == count
    assert verify_chain(memory) is None
    print(f"single-event appends: {count:,} each")
    print(f"  memory  {memory_rate:>10,.0f} appends/s")
    print(f"  sqlite  {sqlite_rate:>10,.0f} appends/s (WAL, synchronous=NORMAL)")
    print(f"  ratio sqlite/memory: {sqlite_rate / memory_rate:.3f}")


if __name__ == "__main__":
    main()
