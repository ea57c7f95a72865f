"""Notices to the parties' webhooks, built from the event log: the outbox.

A projection reads the log after its own stored position and writes one notice per (event,
party) for the events a party must hear of: ``OfferSent`` to the holder; ``PlacementMade``,
``RequirementFulfilled`` and ``RequirementUnmet`` to the buyer; ``ReservationRequested`` to the
provider concerned. The notices and the new position are written in one transaction, so a
crash re-reads at most the last page and the (position, party) key drops the repeats. Nothing
depends on in-memory hooks: an event recorded by any process, just before a crash, is still
noticed. Only parties with a registered webhook get notices.

Delivery is at-least-once: a POST signed with HMAC-SHA256 over ``timestamp.body`` (headers
``X-Rofr-Timestamp`` and ``X-Rofr-Signature: sha256=<hex>``), retried with exponential backoff
until a 2xx or ``max_attempts``; every attempt is logged in ``deliveries``. Receivers
de-duplicate on ``X-Rofr-Delivery`` (``<position>:<party>``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx

from rofr.api.tables import Notice, ServiceDb
from rofr.broker import Clock
from rofr.store import EventStore, StoredEvent
from rofr.values import canonical_bytes, utc_text

if TYPE_CHECKING:
    from rofr.api.service import Settings

Run = Callable[..., list[tuple[Any, ...]]]  # a statement inside ``ServiceDb.transaction``

__all__ = ["Outbox", "notice_parties", "sign"]

PROJECTION = "outbox"
_PAGE = 500
_BACKOFF = timedelta(seconds=1)
_BACKOFF_CAP = timedelta(minutes=10)
_LEASE = timedelta(seconds=30)  # a claimed notice is not picked again for this long


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Rofr-Signature`` value: ``sha256=`` HMAC of ``timestamp.body`` with ``secret``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def notice_parties(row: StoredEvent, buyer_of: dict[str, str]) -> list[str]:
    """Which parties must hear of ``row`` (``buyer_of`` maps requirement ids to buyers)."""
    data = row.data
    if row.type == "RequirementSubmitted":
        buyer_of[str(data["requirement_id"])] = str(data["requirement"]["buyer"])
        return []
    if row.type == "OfferSent":
        return [str(data["holder"])]
    if row.type == "ReservationRequested":
        return [str(data["placement"]["provider"])]
    if row.type in ("PlacementMade", "RequirementFulfilled", "RequirementUnmet"):
        buyer = buyer_of.get(str(data["requirement_id"]))
        return [buyer] if buyer else []
    return []


class Outbox:
    """The outbox projection and its deliverer."""

    def __init__(self, store: EventStore, db: ServiceDb, clock: Clock, settings: Settings) -> None:
        self.store = store
        self.db = db
        self.clock = clock
        self.settings = settings
        self._buyer_of: dict[str, str] = {}
        self._http = httpx.Client(timeout=settings.webhook_timeout_s)

    def run_once(self) -> tuple[int, int]:
        """Project new events into notices, then attempt the due ones: (queued, delivered)."""
        queued = 0
        while True:
            added, more = self.project()
            queued += added
            if not more:
                break
        return queued, self.deliver()

    def project(self) -> tuple[int, bool]:
        """Read one page of the log into notices; (notices written, whether more may follow)."""
        after = self.db.projection_position(PROJECTION)
        hooks = {str(p) for (p,) in self.db.query("SELECT party FROM webhooks")}
        if not hooks:
            # Nobody would be told: move past the log's head without reading it (reading it
            # back cost a busy service about a twentieth of its CPU). Buyers are learnt from
            # the log again once a webhook is registered.
            head, _ = self.store.head()
            if head > after:
                with self.db.transaction() as run:
                    self._advance(run, head)
            self._buyer_of.clear()
            return 0, False
        rows = list(self.store.read_all(after=after, limit=_PAGE))
        if not rows:
            return 0, False
        if after > 0 and not self._buyer_of:
            self._learn_buyers(after)
        now = utc_text(self.clock())
        written = 0
        with self.db.transaction() as run:
            for row in rows:
                for party in notice_parties(row, self._buyer_of):
                    if party not in hooks:
                        continue
                    body = canonical_bytes(
                        {"position": row.position, "stream": row.stream, "type": row.type,
                         "data": row.data, "recorded_at": row.recorded_at, "party": party}
                    ).decode("utf-8")  # fmt: skip
                    run(
                        "INSERT INTO notices (position, party, event_type, body, state, attempts,"
                        " next_attempt_at) VALUES (?, ?, ?, ?, 'pending', 0, ?)"
                        " ON CONFLICT (position, party) DO NOTHING",
                        row.position, party, row.type, body, now,
                    )  # fmt: skip
                    written += 1
            self._advance(run, rows[-1].position)
        return written, len(rows) == _PAGE

    @staticmethod
    def _advance(run: Run, position: int) -> None:
        # Never backwards: another process may have projected further meanwhile.
        run(
            "INSERT INTO projections (name, position) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET position = excluded.position"
            " WHERE projections.position < excluded.position",
            PROJECTION, position,
        )  # fmt: skip

    def _learn_buyers(self, upto: int) -> None:
        # After a restart the buyer of an old requirement is read back from the log once.
        for row in self.store.read_all(after=0, limit=upto):
            if row.type == "RequirementSubmitted":
                notice_parties(row, self._buyer_of)

    def deliver(self, limit: int = 100) -> int:
        """Attempt every due notice once; returns how many were delivered."""
        delivered = 0
        for notice in self.db.due_notices(self.clock(), limit):
            if self._claim(notice):
                delivered += self._attempt(notice)
        return delivered

    def _claim(self, notice: Notice) -> bool:
        # Move the next attempt past a lease, but only if nobody else did first: with two
        # server processes, one of them wins each notice (the other's UPDATE matches nothing).
        lease = utc_text(self.clock() + _LEASE)
        with self.db.transaction() as run:
            rows = run(
                "UPDATE notices SET next_attempt_at = ? WHERE position = ? AND party = ?"
                " AND state = 'pending' AND attempts = ? AND next_attempt_at <= ?"
                " RETURNING position",
                lease, notice.position, notice.party, notice.attempts, utc_text(self.clock()),
            )  # fmt: skip
        return bool(rows)

    def _attempt(self, notice: Notice) -> int:
        hook = self.db.webhook(notice.party)
        now = self.clock()
        status: int | None = None
        error = ""
        url = hook[0] if hook else ""
        if hook is None:
            error = "no webhook registered"
        else:
            body = notice.body.encode("utf-8")
            stamp = utc_text(now)
            headers = {
                "Content-Type": "application/json",
                "X-Rofr-Timestamp": stamp,
                "X-Rofr-Signature": sign(hook[1], stamp, body),
                "X-Rofr-Delivery": f"{notice.position}:{notice.party}",
                "X-Rofr-Event": notice.event_type,
            }
            try:
                status = self._http.post(url, content=body, headers=headers).status_code
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
        attempt = notice.attempts + 1
        ok = not error
        state = (
            "delivered" if ok else ("dead" if attempt >= self.settings.max_attempts else "pending")
        )
        retry = now + min(_BACKOFF * 2 ** (attempt - 1), _BACKOFF_CAP)
        with self.db.transaction() as run:
            run(
                "UPDATE notices SET state = ?, attempts = ?, next_attempt_at = ?"
                " WHERE position = ? AND party = ?",
                state, attempt, utc_text(retry), notice.position, notice.party,
            )  # fmt: skip
            run(
                "INSERT INTO deliveries (position, party, attempt, url, at, http_status, error)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                notice.position, notice.party, attempt, url, utc_text(now), status, error,
            )  # fmt: skip
        return 1 if ok else 0

    def close(self) -> None:
        """Close the HTTP client."""
        self._http.close()
