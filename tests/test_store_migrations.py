"""Schema migrations: old stores are brought forward intact, newer ones are refused."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rofr.store import MemoryStore, NewEvent, SchemaError, SqliteStore, verify_chain
from rofr.store.migrations import Migration, load_migrations, migrate_sqlite, schema_version
from rofr.values import canonical_bytes

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def indexes(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as raw:
        rows = raw.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    return {name for (name,) in rows}


def version_of(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return schema_version(conn)
    finally:
        conn.close()


def build_old_store(path: Path, upto: int) -> MemoryStore:
    """A file as a rofr that knew only the first ``upto`` migrations left it, with rows.

    The rows come from the in-memory backend and are inserted with plain SQL, so nothing in
    the SQLite backend's current code touches the file before it is opened.
    """
    model = MemoryStore()
    for i in range(5):
        stream = f"req-{i % 2}"
        model.append(
            stream,
            model.stream_version(stream),
            [NewEvent(stream, "Submitted", {"gpus": 8 * i})],
            T0 + timedelta(minutes=i),
        )
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        migrate_sqlite(conn, load_migrations()[:upto])
        conn.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    e.position,
                    e.stream,
                    e.version,
                    e.type,
                    canonical_bytes(e.data).decode("utf-8"),
                    e.recorded_at.isoformat(timespec="microseconds").replace("+00:00", "Z"),
                    e.prev_hash,
                    e.hash,
                )
                for e in model.read_all()
            ],
        )
        conn.execute(
            "INSERT INTO timers VALUES ('w', '2025-01-08T09:00:00.000000Z', 'req-0', '{}')"
        )
    finally:
        conn.close()
    return model


def test_shipped_migrations_are_numbered_without_gaps() -> None:
    migrations = load_migrations()
    assert len(migrations) >= 2
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert all(m.name.startswith(f"{m.version:04d}_") and m.sql.strip() for m in migrations)


def test_new_store_is_at_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    SqliteStore(path).close()
    assert version_of(path) == len(load_migrations())
    assert {"events_stream_version", "timers_due"} <= indexes(path)


def test_store_built_with_only_the_first_migration_is_migrated_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    model = build_old_store(path, upto=1)
    assert version_of(path) == 1
    assert "timers_due" not in indexes(path)

    with SqliteStore(path) as store:
        assert list(store.read_all()) == list(model.read_all())
        assert verify_chain(store) is None
        assert [t.timer_id for t in store.pending_timers()] == ["w"]
        # and it keeps working: the next append chains onto the migrated rows
        store.append("req-0", 3, [NewEvent("req-0", "Placed", {})], T0)
        assert verify_chain(store) is None

    assert version_of(path) == len(load_migrations())
    assert "timers_due" in indexes(path)


def test_reopening_a_current_store_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    with SqliteStore(path) as store:
        store.append("s", 0, [NewEvent("s", "X", {})], T0)
        before = list(store.read_all())
    with SqliteStore(path) as store:
        assert list(store.read_all()) == before
    assert version_of(path) == len(load_migrations())


def test_store_from_a_newer_rofr_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    SqliteStore(path).close()
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        raw.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(SchemaError, match=r"schema version 99.*upgrade rofr"):
        SqliteStore(path)
    assert version_of(path) == 99


def test_a_failing_migration_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    build_old_store(path, upto=1)
    broken = Migration(2, "0002_broken.sql", "CREATE TABLE half_done (x);\nSELECT no_such_fn();\n")
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError, match="no_such_fn"):
            migrate_sqlite(conn, (load_migrations()[0], broken))
        assert not conn.in_transaction
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()
    assert "half_done" not in tables
    assert version_of(path) == 1
    with SqliteStore(path) as store:  # the real migrations still apply afterwards
        assert verify_chain(store) is None
        assert store.head()[0] == 5


@pytest.mark.parametrize(
    ("script", "count"),
    [
        ("CREATE TABLE a (x);\nCREATE TABLE b (y);\n", 2),
        ("-- a comment; with a semicolon\nCREATE TABLE a (x);\n-- trailing comment\n", 1),
        ("CREATE TABLE a (x TEXT DEFAULT 'a;b');\n", 1),
    ],
    ids=["two", "comments", "semicolon-in-string"],
)
def test_scripts_run_statement_by_statement(tmp_path: Path, script: str, count: int) -> None:
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    try:
        migrate_sqlite(conn, (Migration(1, "0001_test.sql", script),))
        tables = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name != 'schema_version'"
        ).fetchone()[0]
    finally:
        conn.close()
    assert tables == count


def test_unterminated_script_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    try:
        with pytest.raises(SchemaError, match="unterminated"):
            migrate_sqlite(conn, (Migration(1, "0001_test.sql", "CREATE TABLE a (x)"),))
        assert schema_version(conn) == 0
    finally:
        conn.close()
