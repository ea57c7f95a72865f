"""Side writes: an idempotency record is committed with the append's events, or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pg_kit import backends, store_url
from rofr.store import (
    EventStore,
    IdempotencyRecord,
    NewEvent,
    StoredEvent,
    VersionConflict,
    open_store,
)

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@pytest.fixture(params=backends())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    with store_url(request.param, tmp_path) as url, open_store(url) as opened:
        yield opened


def record(key: str, body: str = "{}", status: int = 201) -> IdempotencyRecord:
    return IdempotencyRecord("openai", key, "hash-" + key, status, body, T0)


def batch(stream: str, expected: int = 0) -> list[tuple[str, int, list[NewEvent]]]:
    return [(stream, expected, [NewEvent(stream, "Happened", {"n": expected})])]


def test_a_record_is_written_with_the_events_and_read_back(store: EventStore) -> None:
    assert store.idempotency("openai", "k1") is None
    store.append_many(batch("a"), T0, side=[record("k1", '{"id": "a"}')])
    assert store.idempotency("openai", "k1") == record("k1", '{"id": "a"}')
    assert store.idempotency("other-party", "k1") is None


def test_the_first_record_for_a_key_wins(store: EventStore) -> None:
    store.append_many(batch("a"), T0, side=[record("k1", "first")])
    store.append_many(batch("b"), T0, side=[record("k1", "second", 409)])
    found = store.idempotency("openai", "k1")
    assert found is not None and (found.body, found.status) == ("first", 201)


def test_a_callable_side_sees_the_rows_being_appended(store: EventStore) -> None:
    store.append_many(batch("a"), T0)
    seen: list[list[StoredEvent]] = []

    def answer(rows: list[StoredEvent]) -> list[IdempotencyRecord]:
        seen.append(rows)
        return [record("k2", f"position {rows[0].position} hash {rows[0].hash}")]

    written = store.append_many(batch("b"), T0, side=answer)
    assert seen == [written]
    found = store.idempotency("openai", "k2")
    assert found is not None
    assert found.body == f"position 2 hash {written[0].hash}"


@pytest.mark.parametrize("failure", ["conflict", "side-raises"], ids=["conflict", "raises"])
def test_a_failed_append_writes_neither_events_nor_record(store: EventStore, failure: str) -> None:
    store.append_many(batch("a"), T0)

    def broken(rows: list[StoredEvent]) -> list[IdempotencyRecord]:
        raise RuntimeError("cannot render the answer")

    with pytest.raises(VersionConflict if failure == "conflict" else RuntimeError):
        if failure == "conflict":
            store.append_many(batch("a", expected=0), T0, side=[record("k3")])
        else:
            store.append_many(batch("b"), T0, side=broken)
    assert store.idempotency("openai", "k3") is None
    assert [r.stream for r in store.read_all()] == ["a"]
    assert store.stream_version("b") == 0
    # The store is still usable after the rollback.
    store.append_many(batch("b"), T0, side=[record("k3")])
    assert store.idempotency("openai", "k3") is not None


def test_anything_else_is_refused_as_a_side_write(store: EventStore) -> None:
    with pytest.raises(TypeError, match="not a side write"):
        store.append_many(batch("a"), T0, side=["not a record"])  # type: ignore[list-item]
    assert store.stream_version("a") == 0
