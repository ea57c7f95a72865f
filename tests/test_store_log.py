"""The event log: appends, optimistic concurrency, positions, the hash chain, replay."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from multiprocessing.synchronize import Barrier as BarrierType
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pg_kit import backends, store_url
from rofr.store import (
    GENESIS,
    ChainBreak,
    EventStore,
    HeadMoved,
    MemoryStore,
    NewEvent,
    SqliteStore,
    StoredEvent,
    VersionConflict,
    open_store,
    verify_chain,
)

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@pytest.fixture(params=backends())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    with store_url(request.param, tmp_path) as url, open_store(url) as opened:
        yield opened


def ev(stream: str, type_: str = "Happened", **data: Any) -> NewEvent:
    return NewEvent(stream, type_, data)


def independent_hash(prev: str, event: StoredEvent) -> str:
    """The chain rule written out again by hand, not through rofr.store.chain."""
    body = {
        "position": event.position,
        "stream": event.stream,
        "version": event.version,
        "type": event.type,
        "data": event.data,
        "recorded_at": event.recorded_at.isoformat().replace("+00:00", "Z"),
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(bytes.fromhex(prev) + text.encode("utf-8")).hexdigest()


# --- append and read --------------------------------------------------------------------------


def test_append_returns_rows_that_read_back_identically(store: EventStore) -> None:
    written = store.append(
        "req-1",
        0,
        [ev("req-1", "Submitted", gpus=64, price=Decimal("2.50")), ev("req-1", "Offered")],
        T0,
    )
    assert [(e.position, e.version, e.type) for e in written] == [
        (1, 1, "Submitted"),
        (2, 2, "Offered"),
    ]
    assert written[0].data == {"gpus": 64, "price": "2.50"}
    assert store.read_stream("req-1") == written
    assert list(store.read_all()) == written
    assert store.stream_version("req-1") == 2
    assert store.head() == (2, written[-1].hash)


def test_empty_store(store: EventStore) -> None:
    assert store.head() == (0, GENESIS)
    assert store.stream_version("nope") == 0
    assert store.read_stream("nope") == []
    assert list(store.read_all()) == []
    assert verify_chain(store) is None


def test_data_is_stored_as_plain_json(store: EventStore) -> None:
    data = {"price": Decimal("3.10"), "at": T0 + timedelta(microseconds=5), "tags": ("a", "b")}
    store.append("s", 0, [NewEvent("s", "Quoted", data)], T0)
    (row,) = store.read_stream("s")
    assert row.data == {"price": "3.10", "at": "2025-01-06T09:00:00.000005Z", "tags": ["a", "b"]}
    assert row.recorded_at == T0


@pytest.mark.parametrize(
    ("stream", "events", "recorded_at", "error"),
    [
        ("s", [ev("s", x=1.5)], T0, TypeError),
        ("s", [ev("other")], T0, ValueError),
        ("s", [ev("s")], datetime(2025, 1, 1), ValueError),
    ],
    ids=["float-in-data", "event-for-another-stream", "naive-recorded-at"],
)
def test_bad_input_is_refused_and_writes_nothing(
    store: EventStore,
    stream: str,
    events: list[NewEvent],
    recorded_at: datetime,
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        store.append(stream, 0, [ev(stream), *events], recorded_at)
    assert store.head() == (0, GENESIS)
    assert store.stream_version(stream) == 0


# --- optimistic concurrency -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "expected", "actual"),
    [("a", 1, 2), ("a", 3, 2), ("b", 0, 1), ("new", 1, 0)],
    ids=["stale", "ahead", "stream-exists", "stream-missing"],
)
def test_version_conflict_writes_nothing(
    store: EventStore, stream: str, expected: int, actual: int
) -> None:
    store.append("a", 0, [ev("a"), ev("a")], T0)
    store.append("b", 0, [ev("b")], T0)
    before = (list(store.read_all()), store.head())
    with pytest.raises(VersionConflict) as caught:
        store.append(stream, expected, [ev(stream)], T0)
    assert (caught.value.stream, caught.value.expected, caught.value.actual) == (
        stream,
        expected,
        actual,
    )
    assert (list(store.read_all()), store.head()) == before


def test_append_many_is_all_or_nothing(store: EventStore) -> None:
    store.append("b", 0, [ev("b")], T0)
    with pytest.raises(VersionConflict):
        store.append_many([("a", 0, [ev("a")]), ("b", 0, [ev("b")])], T0)
    assert store.head()[0] == 1
    assert store.stream_version("a") == 0

    rows = store.append_many([("a", 0, [ev("a")]), ("b", 1, [ev("b"), ev("b")])], T0)
    assert [(e.position, e.stream, e.version) for e in rows] == [
        (2, "a", 1),
        (3, "b", 2),
        (4, "b", 3),
    ]


def test_append_many_same_stream_twice_chains_versions(store: EventStore) -> None:
    rows = store.append_many([("a", 0, [ev("a")]), ("a", 1, [ev("a")])], T0)
    assert [e.version for e in rows] == [1, 2]
    with pytest.raises(VersionConflict):
        store.append_many([("a", 2, [ev("a")]), ("a", 2, [ev("a")])], T0)
    assert store.stream_version("a") == 2


@pytest.mark.parametrize(
    ("expect_head", "writes"),
    [(None, True), (3, True), (2, False), (4, False), (0, False)],
    ids=["unchecked", "at-head", "behind", "ahead", "from-scratch"],
)
def test_expect_head_appends_only_at_that_position(
    store: EventStore, expect_head: int | None, writes: bool
) -> None:
    store.append_many([("a", 0, [ev("a"), ev("a")]), ("b", 0, [ev("b")])], T0)
    before = (list(store.read_all()), store.head())
    batches = [("c", 0, [ev("c")])]
    if writes:
        rows = store.append_many(batches, T0, expect_head=expect_head)
        assert [(r.position, r.stream) for r in rows] == [(4, "c")]
        return
    with pytest.raises(HeadMoved) as caught:
        store.append_many(batches, T0, expect_head=expect_head)
    assert (caught.value.expected, caught.value.actual) == (expect_head, 3)
    assert (list(store.read_all()), store.head()) == before


# --- positions and the chain ------------------------------------------------------------------


def test_positions_are_gap_free_and_chain_matches_independent_recomputation(
    store: EventStore,
) -> None:
    for i in range(12):
        stream = f"s{i % 3}"
        store.append(stream, store.stream_version(stream), [ev(stream, n=i)], T0 + timedelta(i))
        if i % 4 == 0:  # conflicts in between must not consume positions
            with pytest.raises(VersionConflict):
                store.append(stream, 99, [ev(stream)], T0)
    rows = list(store.read_all())
    assert [e.position for e in rows] == list(range(1, 13))
    prev = GENESIS
    for row in rows:
        assert row.prev_hash == prev
        assert row.hash == independent_hash(prev, row)
        prev = row.hash
    assert store.head() == (12, prev)
    assert verify_chain(store) is None


@pytest.mark.parametrize(
    ("after", "limit", "positions"),
    [(0, None, [1, 2, 3, 4, 5]), (2, None, [3, 4, 5]), (1, 2, [2, 3]), (4, 10, [5]), (5, None, [])],
    ids=["all", "after", "after-limit", "limit-past-end", "at-end"],
)
def test_read_all_window(
    store: EventStore, after: int, limit: int | None, positions: list[int]
) -> None:
    store.append("s", 0, [ev("s") for _ in range(5)], T0)
    assert [e.position for e in store.read_all(after, limit)] == positions


@pytest.mark.parametrize(("after", "limit"), [(-1, None), (0, -1)], ids=["after", "limit"])
def test_read_all_refuses_negative_bounds(store: EventStore, after: int, limit: int | None) -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        store.read_all(after, limit)


def test_read_all_is_a_snapshot_at_call_time(store: EventStore) -> None:
    store.append("s", 0, [ev("s")], T0)
    rows = store.read_all()
    store.append("s", 1, [ev("s")], T0)
    assert [e.position for e in rows] == [1]


@pytest.mark.parametrize(
    ("sql", "position", "reason"),
    [
        ("UPDATE events SET data = '{\"gpus\":9999}' WHERE position = 3", 3, "content"),
        ("UPDATE events SET type = 'Declined' WHERE position = 2", 2, "content"),
        (
            "UPDATE events SET recorded_at = '2030-01-01T00:00:00.000000Z' WHERE position = 4",
            4,
            "content",
        ),
        ("DELETE FROM events WHERE position = 3", 4, "position"),
        ("UPDATE events SET prev_hash = hash WHERE position = 5", 5, "prev_hash"),
    ],
    ids=["data", "type", "recorded_at", "delete", "relink"],
)
def test_tampered_sqlite_row_is_detected(
    tmp_path: Path, sql: str, position: int, reason: str
) -> None:
    path = tmp_path / "log.db"
    with SqliteStore(path) as store:
        for i in range(6):
            store.append("req", i, [ev("req", gpus=i)], T0)
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        raw.execute(sql)
    with SqliteStore(path) as store:
        found = verify_chain(store)
    assert isinstance(found, ChainBreak)
    assert found.position == position
    assert reason in found.reason


def test_replay_after_reopen_returns_identical_rows(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "log.db"
    with open_store(f"sqlite:///{path}") as store:
        for i in range(30):
            stream = f"req-{i % 4}"
            store.append(stream, store.stream_version(stream), [ev(stream, i=i)], T0)
        written = list(store.read_all())
    with open_store(str(path)) as store:
        assert list(store.read_all()) == written
        assert [e.to_record() for e in store.read_all()] == [e.to_record() for e in written]
        assert verify_chain(store) is None


# --- concurrency ------------------------------------------------------------------------------


def _append_with_retry(store: EventStore, stream: str, count: int, label: str) -> None:
    done = 0
    while done < count:
        try:
            store.append(stream, store.stream_version(stream), [ev(stream, by=label)], T0)
            done += 1
        except VersionConflict:
            continue


@pytest.mark.parametrize("shared_stream", [True, False], ids=["one-stream", "own-streams"])
def test_two_connections_appending_concurrently(tmp_path: Path, shared_stream: bool) -> None:
    path = tmp_path / "log.db"
    SqliteStore(path).close()  # create and migrate once, before the race
    per_worker = 60

    start = threading.Barrier(2)

    def work(label: str) -> None:
        with SqliteStore(path) as store:
            start.wait()
            _append_with_retry(store, "shared" if shared_stream else label, per_worker, label)

    threads = [threading.Thread(target=work, args=(name,)) for name in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with SqliteStore(path) as store:
        rows = list(store.read_all())
        assert [e.position for e in rows] == list(range(1, 2 * per_worker + 1))
        assert sum(e.data["by"] == "w1" for e in rows) == per_worker
        assert len({(e.stream, e.version) for e in rows}) == len(rows)
        assert verify_chain(store) is None


def _process_worker(path: str, label: str, start: BarrierType) -> None:
    with SqliteStore(path) as store:
        start.wait()
        _append_with_retry(store, "shared", 50, label)


def test_two_processes_appending_to_one_file(tmp_path: Path) -> None:
    path = str(tmp_path / "log.db")
    SqliteStore(path).close()
    context = multiprocessing.get_context("fork")
    start = context.Barrier(2)
    workers = [
        context.Process(target=_process_worker, args=(path, name, start)) for name in ("p1", "p2")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    with SqliteStore(path) as store:
        rows = store.read_stream("shared")
        assert [e.version for e in rows] == list(range(1, 101))
        assert [e.position for e in rows] == list(range(1, 101))
        assert sorted(e.data["by"] for e in rows) == ["p1"] * 50 + ["p2"] * 50
        assert verify_chain(store) is None


def test_one_store_shared_by_threads(store: EventStore) -> None:
    threads = [
        threading.Thread(target=_append_with_retry, args=(store, "shared", 40, name))
        for name in ("w1", "w2", "w3")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [e.version for e in store.read_stream("shared")] == list(range(1, 121))
    assert verify_chain(store) is None


# --- the store against a model ----------------------------------------------------------------

STREAMS = ["a", "b", "c"]
# One step is one transaction: one or two (stream, version skew, event count) batches.
# A skew of 0 means the right expected version; any other skew must conflict.
transactions = st.lists(
    st.lists(
        st.tuples(st.sampled_from(STREAMS), st.sampled_from([0, 0, 0, -1, 1]), st.integers(0, 3)),
        min_size=1,
        max_size=2,
    ),
    max_size=25,
)


@settings(max_examples=100, deadline=None)
@given(steps=transactions)
def test_store_matches_a_dict_of_lists(steps: list[list[tuple[str, int, int]]]) -> None:
    logs: list[list[StoredEvent]] = []
    for store in (MemoryStore(), SqliteStore(":memory:")):
        model: dict[str, list[tuple[int, int]]] = {}
        for n, step in enumerate(steps):
            staged = {stream: list(events) for stream, events in model.items()}
            batches = []
            for stream, skew, count in step:
                current = staged.setdefault(stream, [])
                batches.append(
                    (stream, len(current) + skew, [ev(stream, n=n, k=k) for k in range(count)])
                )
                current.extend((n, k) for k in range(count))
            if all(skew == 0 for _, skew, _ in step):
                store.append_many(batches, T0 + timedelta(seconds=n))
                model = staged
            else:
                with pytest.raises(VersionConflict):
                    store.append_many(batches, T0 + timedelta(seconds=n))
        for stream in STREAMS:
            rows = store.read_stream(stream)
            assert [(e.data["n"], e.data["k"]) for e in rows] == model.get(stream, [])
            assert store.stream_version(stream) == len(model.get(stream, []))
        assert [e.position for e in store.read_all()] == list(
            range(1, sum(map(len, model.values())) + 1)
        )
        assert verify_chain(store) is None
        logs.append(list(store.read_all()))
        store.close()
    # Both backends hash by the same rule, so the same appends give the very same rows.
    assert logs[0] == logs[1]


def test_unique_stream_version_index_is_the_last_line_of_defence(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    with SqliteStore(path) as store:
        (row,) = store.append("s", 0, [ev("s")], T0)
    forged = "INSERT INTO events VALUES (2, 's', 1, 'Forged', '{}', 'x', ?, ?)"
    with (
        closing(sqlite3.connect(path, isolation_level=None)) as raw,
        pytest.raises(sqlite3.IntegrityError, match="UNIQUE"),
    ):
        raw.execute(forged, (row.hash, row.hash))


# --- open_store -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        (None, MemoryStore),
        ("memory", MemoryStore),
        ("sqlite://", SqliteStore),
        ("sqlite:///:memory:", SqliteStore),
        ("{tmp}/a/b/rofr.db", SqliteStore),
        ("sqlite:///{tmp}/c/rofr.sqlite3", SqliteStore),
    ],
    ids=["none", "memory", "sqlite-memory", "sqlite-memory-path", "plain-path", "sqlite-url"],
)
def test_open_store_picks_the_backend(tmp_path: Path, url: str | None, kind: type) -> None:
    with open_store(None if url is None else url.format(tmp=tmp_path)) as store:
        assert isinstance(store, kind)
        assert isinstance(store, EventStore)
        store.append("s", 0, [ev("s")], T0)
        assert store.stream_version("s") == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db/rofr", "unknown store"),
        ("rofr.txt", "unknown store"),
        ("sqlite:", "unknown store"),
        ("sqlite:///", "cannot read a path"),
    ],
    ids=["unknown-scheme", "unknown-suffix", "bad-sqlite", "empty-path"],
)
def test_open_store_refuses_unknown_urls(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_store(url)


@given(
    st.dictionaries(
        st.text(max_size=5),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=3), inner, max_size=3)
            ),
            max_leaves=8,
        ),
        max_size=4,
    )
)
def test_plain_record_bytes_equal_the_canonical_rule(data: dict[str, object]) -> None:
    from rofr.store.chain import record_bytes, record_bytes_plain
    from rofr.values import to_jsonable

    plain = to_jsonable(data)
    at = "2025-01-01T00:00:00Z"
    assert record_bytes_plain(3, "s", 2, "T", plain, at) == record_bytes(3, "s", 2, "T", data, at)
