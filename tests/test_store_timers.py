"""Durable timers: written atomically with events, read in due order, fired exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pg_kit import backends, fresh_schema, postgres_param, store_url
from rofr.store import (
    CancelTimer,
    EventStore,
    NewEvent,
    ScheduleTimer,
    SqliteStore,
    Timer,
    TimerChange,
    VersionConflict,
    open_store,
)

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture(params=backends())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    with store_url(request.param, tmp_path) as url, open_store(url) as opened:
        yield opened


def offer(stream: str) -> NewEvent:
    return NewEvent(stream, "OfferSent", {"holder": "primary"})


def deadline(timer_id: str, due: datetime, stream: str = "req-1") -> ScheduleTimer:
    return ScheduleTimer(timer_id, due, stream, {"reason": "window"})


def ids(timers: list[Timer]) -> list[str]:
    return [timer.timer_id for timer in timers]


def test_timer_is_written_with_the_event_and_read_back(store: EventStore) -> None:
    store.append("req-1", 0, [offer("req-1")], T0, [deadline("w1", T0 + 48 * HOUR)])
    assert store.pending_timers() == [
        Timer("w1", T0 + 48 * HOUR, "req-1", {"reason": "window"}),
    ]
    assert store.due_timers(T0 + 47 * HOUR) == []
    assert ids(store.due_timers(T0 + 48 * HOUR)) == ["w1"]  # due <= now, boundary included


def test_version_conflict_writes_no_timer_changes(store: EventStore) -> None:
    store.append("req-1", 0, [offer("req-1")], T0, [deadline("keep", T0 + HOUR)])
    changes: list[TimerChange] = [CancelTimer("keep"), deadline("new", T0)]
    with pytest.raises(VersionConflict):
        store.append("req-1", 0, [offer("req-1")], T0, changes)
    with pytest.raises(VersionConflict):
        store.append_many([("req-2", 0, [offer("req-2")]), ("req-1", 5, [])], T0, changes)
    assert ids(store.pending_timers()) == ["keep"]
    assert store.head()[0] == 1


def test_bad_timer_writes_nothing(store: EventStore) -> None:
    naive = ScheduleTimer("w", datetime(2025, 1, 1), "req-1", {})
    with pytest.raises(ValueError):
        store.append("req-1", 0, [offer("req-1")], T0, [naive])
    with pytest.raises(TypeError):
        store.append("req-1", 0, [offer("req-1")], T0, [deadline("w", T0), "oops"])  # type: ignore[list-item]
    assert store.head()[0] == 0
    assert store.pending_timers() == []


@pytest.mark.parametrize(
    ("changes", "pending"),
    [
        ([deadline("a", T0 + HOUR)], [("a", T0 + HOUR)]),
        ([deadline("a", T0 + HOUR), deadline("a", T0 + 2 * HOUR)], [("a", T0 + 2 * HOUR)]),
        ([deadline("a", T0 + HOUR), CancelTimer("a")], []),
        ([CancelTimer("a"), deadline("a", T0 + HOUR)], [("a", T0 + HOUR)]),
        ([CancelTimer("never-scheduled")], []),
    ],
    ids=["schedule", "reschedule-replaces", "cancel-after", "schedule-after", "cancel-unknown"],
)
def test_timer_changes_apply_in_order(
    store: EventStore, changes: list[TimerChange], pending: list[tuple[str, datetime]]
) -> None:
    store.append("req-1", 0, [offer("req-1")], T0, changes)
    assert [(t.timer_id, t.due) for t in store.pending_timers()] == pending


def test_timers_without_events_still_check_the_version(store: EventStore) -> None:
    store.append("req-1", 0, [offer("req-1")], T0, [deadline("w", T0)])
    with pytest.raises(VersionConflict):
        store.append("req-1", 0, [], T0, [CancelTimer("w")])
    assert store.append("req-1", 1, [], T0, [CancelTimer("w")]) == []
    assert store.pending_timers() == []


@pytest.mark.parametrize(
    ("now", "limit", "expected"),
    [
        (T0, 1000, []),
        (T0 + HOUR, 1000, ["b", "c"]),
        (T0 + HOUR + timedelta(microseconds=500_000), 1000, ["b", "c", "half"]),
        (T0 + 3 * HOUR, 1000, ["b", "c", "half", "a", "d"]),
        (T0 + 3 * HOUR, 2, ["b", "c"]),
        (T0 + 3 * HOUR, 0, []),
    ],
    ids=["none-due", "tie-broken-by-id", "sub-second", "all", "limit", "limit-zero"],
)
def test_due_timers_order_by_due_then_id(
    store: EventStore, now: datetime, limit: int, expected: list[str]
) -> None:
    changes: list[TimerChange] = [
        deadline("d", T0 + 2 * HOUR),
        deadline("c", T0 + HOUR),
        deadline("a", T0 + 2 * HOUR),
        deadline("half", T0 + HOUR + timedelta(microseconds=500_000)),
        deadline("b", T0 + HOUR),
    ]
    store.append("req-1", 0, [offer("req-1")], T0, changes)
    assert ids(store.due_timers(now, limit)) == expected
    assert ids(store.pending_timers()) == ["b", "c", "half", "a", "d"]


def test_due_timers_accepts_any_timezone(store: EventStore) -> None:
    store.append("req-1", 0, [offer("req-1")], T0, [deadline("w", T0 + HOUR)])
    paris = datetime(2025, 1, 6, 11, 0, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    assert ids(store.due_timers(paris)) == ["w"]
    with pytest.raises(ValueError):
        store.due_timers(datetime(2025, 1, 6, 11, 0))


def _fire(store: EventStore, timer: Timer, now: datetime) -> bool:
    """What a timer worker does: append the fire event and cancel the timer, atomically."""
    version = store.stream_version(timer.stream)
    fired = NewEvent(timer.stream, "WindowExpired", {"timer": timer.timer_id})
    try:
        store.append(timer.stream, version, [fired], now, [CancelTimer(timer.timer_id)])
    except VersionConflict:
        return False
    return True


@pytest.fixture(params=["memory", "sqlite", postgres_param()])
def two_workers(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[EventStore, EventStore]]:
    """Two handles on one log: the same object in memory, two connections to one SQLite file."""
    if request.param == "memory":
        with open_store("memory") as shared:
            yield shared, shared
    elif request.param == "postgres":
        with fresh_schema() as url, open_store(url) as one, open_store(url) as two:
            yield one, two
    else:
        path = tmp_path / "log.db"
        with SqliteStore(path) as one, SqliteStore(path) as two:
            yield one, two


def test_a_timer_fires_once_when_two_workers_race(
    two_workers: tuple[EventStore, EventStore],
) -> None:
    one, two = two_workers
    one.append("req-1", 0, [offer("req-1")], T0, [deadline("w", T0 + HOUR)])
    now = T0 + 2 * HOUR
    # Both workers see the due timer and the stream's version before either writes.
    seen = [
        (worker, worker.due_timers(now), worker.stream_version("req-1")) for worker in (one, two)
    ]
    results = []
    for worker, (timer,), version in seen:
        fired = NewEvent("req-1", "WindowExpired", {"timer": timer.timer_id})
        try:
            worker.append("req-1", version, [fired], now, [CancelTimer(timer.timer_id)])
            results.append(True)
        except VersionConflict:
            results.append(False)
    assert results == [True, False]
    assert [e.type for e in two.read_stream("req-1")] == ["OfferSent", "WindowExpired"]
    assert two.pending_timers() == []
    assert one.due_timers(now) == []  # a restart finds nothing left to fire


def test_fire_is_safe_to_retry(store: EventStore) -> None:
    store.append("req-1", 0, [offer("req-1")], T0, [deadline("w", T0 + HOUR)])
    (timer,) = store.due_timers(T0 + HOUR)
    assert _fire(store, timer, T0 + HOUR)
    assert store.due_timers(T0 + HOUR) == []
    assert [e.type for e in store.read_stream("req-1")] == ["OfferSent", "WindowExpired"]


def test_timers_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    with SqliteStore(path) as store:
        store.append("req-1", 0, [offer("req-1")], T0, [deadline("w", T0 + HOUR)])
        before = store.pending_timers()
    with SqliteStore(path) as store:
        assert store.pending_timers() == before


def test_negative_limit_is_refused(store: EventStore) -> None:
    with pytest.raises(ValueError, match="limit"):
        store.due_timers(T0, -1)
