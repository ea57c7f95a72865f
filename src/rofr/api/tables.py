"""The service's tables (keys, idempotency, webhooks, outbox) on SQLite or PostgreSQL.

The tables are created by the store's migrations (``0003_service_tables``), so they live in
the event log's database. This module holds its own connection (the store's is the log's)
and writes portable SQL with ``?`` placeholders, turned into ``%s`` for psycopg.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rofr.store.migrations import migrate_sqlite
from rofr.values import utc_text

__all__ = ["ApiKeyRow", "Notice", "ServiceDb"]

# How long a looked-up key is trusted without asking the database again. A revocation made
# through this ServiceDb takes effect at once; one made by another process within this time.
KEY_CACHE_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    """A stored key: who it belongs to and in which role."""

    key_id: str
    party: str
    role: str


@dataclass(frozen=True, slots=True)
class Notice:
    """One pending notice of the outbox."""

    position: int
    party: str
    event_type: str
    body: str
    attempts: int


class ServiceDb:
    """A connection to the service tables in the database at ``url`` (a store URL).

    Two connections: writes go through one (in explicit transactions), reads through the
    other, so that a read never waits behind a commit's disk flush; an in-memory SQLite
    database has only one (a second connection would be another database).
    """

    def __init__(self, url: str) -> None:
        self._lock = threading.RLock()
        self._read_lock = threading.Lock()
        self.postgres = url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://"))
        if self.postgres:
            import psycopg

            conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)
            self._conn: Any = psycopg.connect(conninfo, autocommit=False)
            # autocommit: each read is its own statement-long transaction, no ROLLBACK trip.
            self._reader: Any = psycopg.connect(conninfo, autocommit=True)
        else:
            path = _sqlite_path(url)
            self._conn = self._reader = _sqlite(path)
            if path == ":memory:":
                migrate_sqlite(self._conn)  # an in-memory log has no file to hold the tables
            else:
                self._reader = _sqlite(path)
        self._keys: dict[str, tuple[ApiKeyRow, float]] = {}
        self._answers: list[_Answer] = []
        self._answers_lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A transaction; yields a function ``run(sql, *args) -> rows``."""
        with self._lock:
            conn = self._conn
            if not self.postgres:
                conn.execute("BEGIN IMMEDIATE")

            def run(sql: str, *args: Any) -> list[tuple[Any, ...]]:
                if self.postgres:
                    sql = sql.replace("?", "%s")
                cur = conn.execute(sql, args)
                return list(cur.fetchall()) if cur.description else []

            try:
                yield run
                conn.execute("COMMIT") if not self.postgres else conn.commit()
            except BaseException:
                if self.postgres:
                    conn.rollback()
                elif conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """One read (a single statement: its own snapshot), on the reading connection."""
        if self.postgres:
            sql = sql.replace("?", "%s")
        lock = self._lock if self._reader is self._conn else self._read_lock
        with lock:
            return list(self._reader.execute(sql, args).fetchall())

    # --- keys ---------------------------------------------------------------------------

    def add_key(self, key_hash: str, key_id: str, party: str, role: str, at: datetime) -> None:
        """Store a new key's hash."""
        with self.transaction() as run:
            run(
                "INSERT INTO api_keys (key_hash, key_id, party, role, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                key_hash, key_id, party, role, utc_text(at),
            )  # fmt: skip

    def cached_key(self, key_hash: str) -> ApiKeyRow | None:
        """The key with this hash if it was read less than ``KEY_CACHE_SECONDS`` ago (no
        database access: safe on the event loop)."""
        cached = self._keys.get(key_hash)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        return None

    def find_key(self, key_hash: str) -> ApiKeyRow | None:
        """The live key with this hash, if any (cached for ``KEY_CACHE_SECONDS``; unknown keys
        are never cached, so a key created by another process works at once)."""
        cached = self.cached_key(key_hash)
        if cached is not None:
            return cached
        rows = self.query(
            "SELECT key_id, party, role FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
            key_hash,
        )
        if not rows:
            self._keys.pop(key_hash, None)
            return None
        row = ApiKeyRow(*rows[0])
        self._keys[key_hash] = (row, time.monotonic() + KEY_CACHE_SECONDS)
        return row

    def revoke_key(self, key_id: str, at: datetime) -> bool:
        """Revoke a key by its id (effective at once here; see ``KEY_CACHE_SECONDS``)."""
        with self.transaction() as run:
            found = run(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL"
                " RETURNING key_hash",
                utc_text(at), key_id,
            )  # fmt: skip
        for (key_hash,) in found:
            self._keys.pop(str(key_hash), None)
        return bool(found)

    # --- idempotency ----------------------------------------------------------------------

    def find_answer(self, party: str, key: str) -> tuple[str, int, str] | None:
        """``(request_hash, status, body)`` stored for this key, if any."""
        rows = self.query(
            "SELECT request_hash, status, body FROM idempotency WHERE party = ? AND key = ?",
            party, key,
        )  # fmt: skip
        return (str(rows[0][0]), int(rows[0][1]), str(rows[0][2])) if rows else None

    def find_answers(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[str, int, str]]:
        """:meth:`find_answer` for many ``(party, key)`` pairs in one query (a group's keys)."""
        if not keys:
            return {}
        parties, names = sorted({p for p, _ in keys}), sorted({k for _, k in keys})
        rows = self.query(
            "SELECT party, key, request_hash, status, body FROM idempotency"
            f" WHERE party IN ({', '.join('?' * len(parties))})"
            f" AND key IN ({', '.join('?' * len(names))})",
            *parties, *names,
        )  # fmt: skip
        wanted = set(keys)
        return {
            (str(p), str(k)): (str(h), int(st), str(b))
            for p, k, h, st, b in rows
            if (p, k) in wanted
        }

    def keep_answer(
        self, party: str, key: str, request_hash: str, status: int, body: str, at: datetime
    ) -> None:
        """Store the first answer for a key (a concurrent first writer wins).

        Answers kept at the same moment by several threads share one transaction (one disk
        flush): the thread that gets the write lock first writes everything queued."""
        mine = _Answer((party, key, request_hash, status, body, utc_text(at)))
        with self._answers_lock:
            self._answers.append(mine)
        with self._lock:
            if mine.written or mine.error is not None:
                pass
            else:
                with self._answers_lock:
                    group, self._answers = self._answers, []
                try:
                    with self.transaction() as run:
                        for answer in group:
                            run(
                                "INSERT INTO idempotency"
                                " (party, key, request_hash, status, body, created_at)"
                                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (party, key) DO NOTHING",
                                *answer.row,
                            )
                except BaseException as error:
                    for answer in group:
                        answer.error = error
                else:
                    for answer in group:
                        answer.written = True
        if mine.error is not None:
            raise mine.error

    def replace_answer(
        self, party: str, key: str, kept: tuple[int, str], status: int, body: str
    ) -> None:
        """Replace the answer kept with a command's events by the fuller one sent after the
        market's follow-up (only if it is still the one kept then)."""
        with self.transaction() as run:
            run(
                "UPDATE idempotency SET status = ?, body = ?"
                " WHERE party = ? AND key = ? AND status = ? AND body = ?",
                status, body, party, key, *kept,
            )  # fmt: skip

    # --- webhooks and the outbox ----------------------------------------------------------

    def set_webhook(self, party: str, url: str, secret: str) -> None:
        """Register (or replace) a party's webhook."""
        with self.transaction() as run:
            run(
                "INSERT INTO webhooks (party, url, secret) VALUES (?, ?, ?)"
                " ON CONFLICT (party) DO UPDATE SET url = excluded.url, secret = excluded.secret",
                party, url, secret,
            )  # fmt: skip

    def webhook(self, party: str) -> tuple[str, str] | None:
        """``(url, secret)`` of a party's webhook."""
        rows = self.query("SELECT url, secret FROM webhooks WHERE party = ?", party)
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def projection_position(self, name: str) -> int:
        """How far projection ``name`` has read the log."""
        rows = self.query("SELECT position FROM projections WHERE name = ?", name)
        return int(rows[0][0]) if rows else 0

    def due_notices(self, now: datetime, limit: int = 100) -> list[Notice]:
        """Pending notices whose next attempt is due."""
        rows = self.query(
            "SELECT position, party, event_type, body, attempts FROM notices"
            " WHERE state = 'pending' AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at, position LIMIT ?",
            utc_text(now), limit,
        )  # fmt: skip
        return [Notice(int(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4])) for r in rows]

    def deliveries(self, party: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The delivery log, newest first."""
        where = "" if party is None else " WHERE party = ?"
        args: tuple[Any, ...] = () if party is None else (party,)
        rows = self.query(
            "SELECT position, party, attempt, url, at, http_status, error FROM deliveries"
            f"{where} ORDER BY at DESC, position DESC LIMIT ?",
            *args, limit,
        )  # fmt: skip
        names = ("position", "party", "attempt", "url", "at", "http_status", "error")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def close(self) -> None:
        """Close the connections."""
        with self._lock, self._read_lock:
            if self._reader is not self._conn:
                self._reader.close()
            self._conn.close()


@dataclass(slots=True)
class _Answer:
    row: tuple[Any, ...]
    written: bool = False
    error: BaseException | None = None


def _sqlite(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # As for the event log (store/sqlite.py): a process crash loses nothing; only a power cut
    # may lose the last commits. FULL would fsync every idempotency answer.
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _sqlite_path(url: str) -> str:
    if url in ("memory", "memory://", "sqlite://", "sqlite:///:memory:"):
        return ":memory:"
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    return url
