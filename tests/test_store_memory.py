"""The in-memory store's lazy path: ``append_events`` writes the same rows, later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from rofr.store import (
    CancelTimer,
    MemoryStore,
    NewEvent,
    ScheduleTimer,
    VersionConflict,
    verify_chain,
)
from rofr.values import to_jsonable

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)

# (stream, expected version, [(type, data), ...]) per append, and the gap between appends.
SCRIPT: list[list[tuple[str, int, list[tuple[str, dict[str, Any]]]]]] = [
    [("req:a", 0, [("Submitted", {"gpus": 8, "price": Decimal("2.50")})])],
    [("req:a", 1, [("Screened", {"ok": True}), ("Offered", {"at": T0})]), ("contract", 0, [])],
    [("req:b", 0, [("Submitted", {"gpus": 16, "tags": ["x", "y"]})])],
    [("req:a", 3, [("Placed", {"gpus": 8})]), ("req:b", 1, [("Placed", {"gpus": 16})])],
]


def encode(obj: tuple[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    return obj[0], to_jsonable(obj[1])


def eager(script: list[Any]) -> MemoryStore:
    store = MemoryStore()
    for i, batches in enumerate(script):
        store.append_many(
            [(s, v, [NewEvent(s, t, d) for t, d in objs]) for s, v, objs in batches if objs],
            T0 + timedelta(hours=i),
        )
    return store


def lazy(script: list[Any], read_between: bool) -> MemoryStore:
    store = MemoryStore()
    for i, batches in enumerate(script):
        store.append_events([b for b in batches if b[2]], T0 + timedelta(hours=i), encode)
        if read_between:
            store.head()
    return store


@pytest.mark.parametrize("read_between", [False, True], ids=["read-at-end", "read-each-time"])
def test_lazy_rows_equal_eager_rows(read_between: bool) -> None:
    expected = list(eager(SCRIPT).read_all())
    store = lazy(SCRIPT, read_between)
    assert list(store.read_all()) == expected
    assert store.head() == (expected[-1].position, expected[-1].hash)
    assert verify_chain(store) is None


def test_positions_and_versions_are_known_before_hashing() -> None:
    store = MemoryStore()
    last = store.append_events([("req:a", 0, [("A", {}), ("B", {})])], T0, encode)
    assert last == 2
    assert store.stream_version("req:a") == 2
    assert store.append_events([("req:b", 0, [("C", {})])], T0, encode) == 3
    assert [r.version for r in store.read_stream("req:a")] == [1, 2]


@pytest.mark.parametrize(
    "batches",
    [
        [("req:a", 0, [("A", {})])],  # stream already at 1
        [("req:a", 1, [("A", {})]), ("req:a", 1, [("B", {})])],  # second batch is stale
    ],
    ids=["stale", "stale-within-one-append"],
)
def test_lazy_version_conflict_writes_nothing(batches: Any) -> None:
    store = MemoryStore()
    store.append_events([("req:a", 0, [("A", {})])], T0, encode)
    with pytest.raises(VersionConflict):
        store.append_events(batches, T0, encode)
    assert store.head()[0] == 1
    assert store.stream_version("req:a") == 1


def test_eager_append_after_lazy_ones_continues_the_chain() -> None:
    store = MemoryStore()
    store.append_events([("req:a", 0, [("A", {"n": 1})])], T0, encode)
    rows = store.append("req:a", 1, [NewEvent("req:a", "B", {"n": 2})], T0)
    assert rows[0].position == 2
    assert rows[0].prev_hash == store.read_all().__next__().hash
    with pytest.raises(VersionConflict):
        store.append_events([("req:a", 1, [("C", {})])], T0, encode)


# Timer changes per append: set t1 and t2, move t1 later, cancel t2, set t3 (as in a run).
TIMER_SCRIPT: list[list[Any]] = [
    [ScheduleTimer("t1", T0 + timedelta(hours=5), "req:a", {"requirement_id": "a"})],
    [ScheduleTimer("t2", T0 + timedelta(hours=2), "req:b", {"requirement_id": "b"})],
    [ScheduleTimer("t1", T0 + timedelta(hours=9), "req:a", {"requirement_id": "a"})],
    [CancelTimer("t2"), ScheduleTimer("t3", T0 + timedelta(hours=1), "req:c", {})],
]


@pytest.mark.parametrize(
    "lazy_steps",
    [set(), {0, 1, 2, 3}, {0, 1}, {2, 3}, {1, 3}],
    ids=["eager", "all-lazy", "lazy-then-eager", "eager-then-lazy", "interleaved"],
)
@pytest.mark.parametrize("read_between", [False, True], ids=["read-at-end", "read-each-time"])
def test_lazy_timer_changes_read_as_eager_ones(lazy_steps: set[int], read_between: bool) -> None:
    def timers_after(steps: set[int]) -> list[Any]:
        store = MemoryStore()
        seen = []
        for i, changes in enumerate(TIMER_SCRIPT):
            event = [("req:x", i, [("E", {"i": i})])]
            if i in steps:
                store.append_events(event, T0, encode, changes)
            else:
                store.append_many([("req:x", i, [NewEvent("req:x", "E", {"i": i})])], T0, changes)
            if read_between:
                seen.append(store.pending_timers())
        return [*seen, store.pending_timers(), store.due_timers(T0 + timedelta(hours=6))]

    expected = timers_after(set())
    assert [t.timer_id for t in expected[-2]] == ["t3", "t1"]
    assert timers_after(lazy_steps) == expected
