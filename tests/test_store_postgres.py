"""The PostgreSQL backend's own concerns: URL selection, Alembic migrations, schema parity.

The shared behaviour (appends, conflicts, chain, timers) is tested for every backend by the
``postgres`` cases of test_store_log.py and test_store_timers.py.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pg_kit import fresh_schema, needs_postgres
from rofr.store import NewEvent, SchemaError, open_store, open_store_from_env

pytestmark = [pytest.mark.postgres, needs_postgres]

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def _pg_columns(url: str) -> dict[str, list[str]]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        ).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables


def _pg_indexes(url: str) -> set[str]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        ).fetchall()
    return {name for (name,) in rows}


@pytest.mark.parametrize("scheme", ["postgresql://", "postgresql+psycopg://"], ids=["pg", "sa"])
def test_open_store_picks_postgres(scheme: str) -> None:
    from rofr.store.postgres import PostgresStore

    with fresh_schema() as url, open_store(url.replace("postgresql://", scheme, 1)) as store:
        assert isinstance(store, PostgresStore)
        store.append("s", 0, [NewEvent("s", "Happened", {})], T0)
        assert store.stream_version("s") == 1


def test_database_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with fresh_schema() as url:
        monkeypatch.setenv("ROFR_DATABASE_URL", url)
        with open_store_from_env() as store:
            assert type(store).__name__ == "PostgresStore"


def test_schema_matches_sqlite(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "a.db")):
        pass
    with closing(sqlite3.connect(tmp_path / "a.db")) as raw:
        names = [n for (n,) in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        lite = {n: [c[1] for c in raw.execute(f"PRAGMA table_info({n})")] for n in names}
        lite_indexes = {
            n for (n,) in raw.execute("SELECT name FROM sqlite_master WHERE type='index'")
        }
    with fresh_schema() as url:
        open_store(url).close()
        pg = _pg_columns(url)
        pg_indexes = _pg_indexes(url)
    lite.pop("schema_version")
    pg.pop("alembic_version")
    assert pg == lite
    assert {i for i in lite_indexes if not i.startswith("sqlite_")} <= pg_indexes


def test_reopening_keeps_rows_and_newer_revision_is_refused() -> None:
    import psycopg

    with fresh_schema() as url:
        with open_store(url) as store:
            rows = store.append("s", 0, [NewEvent("s", "Happened", {"n": 1})], T0)
        with open_store(url) as store:
            assert list(store.read_all()) == rows
        with psycopg.connect(url) as conn:
            conn.execute("UPDATE alembic_version SET version_num = '9999'")
        with pytest.raises(SchemaError, match="upgrade rofr"):
            open_store(url)


def test_an_appends_reads_use_the_indexes_even_with_a_generic_plan() -> None:
    """psycopg prepares a statement after a few runs, and PostgreSQL may then plan it once
    for any parameters: the version lookup must stay an index scan (a whole-table scan cost
    105 ms a group once the log held half a million events)."""
    import psycopg

    from rofr.store.postgres import _SQL, _VERSIONS

    with fresh_schema() as url:
        with open_store(url) as store:
            for i in range(200):
                store.append(f"s{i}", 0, [NewEvent(f"s{i}", "Happened", {"i": i})] * 5, T0)
        with psycopg.connect(url) as conn:
            conn.execute("ANALYZE events")
            conn.execute("SET plan_cache_mode = force_generic_plan")
            for sql, args in [(_VERSIONS, ([f"s{i}" for i in range(100)],)),
                              (_SQL.head, ()), (_SQL.version, ("s1",))]:  # fmt: skip
                plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN {sql}", args).fetchall())
                assert "Seq Scan on events" not in plan, plan
