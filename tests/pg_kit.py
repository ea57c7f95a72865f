"""PostgreSQL for tests: a fresh schema per test in the database ROFR_TEST_POSTGRES_URL names.

Each test gets its own randomly named schema (selected with ``search_path`` in the URL) and
drops it afterwards, so tests can run in parallel (pytest -n 2) on one database. Without the
variable, the ``postgres`` cases skip with a reason that says how to run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

PG_URL = os.environ.get("ROFR_TEST_POSTGRES_URL", "")
SKIP_REASON = (
    "ROFR_TEST_POSTGRES_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/test); "
    "PostgreSQL cases skipped"
)
needs_postgres = pytest.mark.skipif(not PG_URL, reason=SKIP_REASON)


def postgres_param(value: Any = "postgres") -> Any:
    """A ``pytest.param`` for a backend table that skips visibly without PostgreSQL."""
    return pytest.param(value, marks=[pytest.mark.postgres, needs_postgres], id="postgres")


def schema_url(base: str, schema: str) -> str:
    """``base`` with ``search_path`` set to ``schema`` (libpq's ``options`` parameter).

    Tests also turn off ``synchronous_commit`` for their sessions: a commit then returns
    before its WAL reaches the disk, which changes nothing a test can observe short of a
    power cut and makes the many small DDL and append transactions several times faster.
    """
    glue = "&" if "?" in base else "?"
    return f"{base}{glue}options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"


@contextmanager
def fresh_schema() -> Iterator[str]:
    """Create a random schema, yield a URL that uses it, drop it afterwards."""
    import psycopg

    schema = f"rofr_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema_url(PG_URL, schema)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute("SET synchronous_commit = off")
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def store_url(kind: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty store of ``kind``: "memory", "sqlite" (a file under
    ``tmp_path``) or "postgres" (a schema of its own, dropped afterwards)."""
    if kind == "postgres":
        with fresh_schema() as url:
            yield url
    else:
        yield "memory" if kind == "memory" else str(tmp_path / "log.db")


def backends() -> list[Any]:
    """The store kinds a backend table runs over (PostgreSQL skips visibly without it)."""
    return ["memory", "sqlite", postgres_param()]
