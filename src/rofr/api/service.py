"""One broker per process, its lock, and the loops that run beside the requests.

The Broker is not thread-safe (it holds the folded state and a read position), while FastAPI
runs sync handlers on a thread pool; every command therefore goes through
:meth:`Service.execute`, which holds one lock. Several *processes* on one database stay
consistent without talking to each other: the broker catches up from the log before it
decides, and the store's version check turns a race into a retry (``VersionConflict``).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from rofr.api.commit import Decided, GroupCommit, Respond
from rofr.api.outbox import Outbox
from rofr.api.tables import ServiceDb
from rofr.broker import Broker, Clock, Market
from rofr.engine import State
from rofr.engine import commands as cmd
from rofr.engine import events as ev
from rofr.store import EventStore, MemoryStore, open_store

__all__ = ["Service", "Settings"]

log = logging.getLogger("rofr.api")
T = TypeVar("T")

# Deadlines fired per transaction by the timer loop: large enough to amortise the commit,
# small enough that a request waits at most a few tens of milliseconds behind a group.
_FIRE_GROUP = 100


@dataclass(frozen=True, slots=True)
class Settings:
    """How the service runs its background work (milliseconds)."""

    tick_ms: int = 200  # how often due deadlines are fired
    outbox_ms: int = 200  # how often the outbox reads the log and delivers notices
    resume_ms: int = 2000  # how often the log is searched for market answers nobody fetched
    background: bool = True  # run the loops (tests drive them by hand instead)
    webhook_timeout_s: float = 5.0
    max_attempts: int = 8  # after this a notice is marked dead (still in the delivery log)
    fast_submit: bool = True  # serve a buyer's plain submission past FastAPI (api/fast.py)


class Service:
    """The broker, its lock, the service tables and the outbox of one server process."""

    def __init__(
        self, store_url: str, clock: Clock, market: Market | None, settings: Settings
    ) -> None:
        self.store_url = store_url
        self.store: EventStore = open_store(store_url)
        self.db = ServiceDb(store_url)
        self.clock = clock
        self.settings = settings
        self.broker = Broker(self.store, clock, market)
        self.lock = threading.Lock()
        self.commits = GroupCommit(self.broker, self.lock, find_answers=self.find_answers)
        self.outbox = Outbox(self.store, self.db, clock, settings)
        self._stop = threading.Event()
        self._next_resume = 0.0
        self._threads: list[threading.Thread] = []

    # --- commands and reads -----------------------------------------------------------------

    def execute(self, command: cmd.Command) -> list[ev.Event]:
        """Decide and record ``command`` now (serialised with every other command)."""
        return self.commits.execute(command).events

    def decide(self, command: cmd.Command, respond: Respond | None = None) -> Decided:
        """Like :meth:`execute`, with the stored rows and the state right after the commit
        (commands queued at the same moment share one transaction; see ``api.commit``).

        ``respond`` builds the request's answer from the result; under an idempotency key it
        is kept in the events' transaction (see ``api.app.idempotent``)."""
        return self.commits.execute(command, respond)

    def find_answer(self, party: str, key: str) -> tuple[str, int, str] | None:
        """``(request_hash, status, body)`` kept for an idempotency key, if any."""
        return self.find_answers([(party, key)]).get((party, key))

    def find_answers(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[str, int, str]]:
        """:meth:`find_answer` for a group's keys, in one query."""
        found = self.db.find_answers(keys)
        if isinstance(self.store, MemoryStore):
            # An in-memory log keeps the answers written with its events itself (the service
            # tables are then a separate in-memory database).
            for party, key in keys:
                record = None if (party, key) in found else self.store.idempotency(party, key)
                if record is not None:
                    found[party, key] = (record.request_hash, record.status, record.body)
        return found

    def read(self, fn: Callable[[State], T]) -> T:
        """Run ``fn`` on the current state, after catching up with other processes."""
        with self.lock:
            self.broker.catch_up()
            return fn(self.broker.state)

    def tick(self, now: datetime | None = None) -> int:
        """Fire due deadlines and re-ask the market for anything outstanding."""
        fired = 0
        while True:
            # Without a given time, each group reads the clock: a long burst fires what fell
            # due meanwhile, and each DeadlineReached says when its group was really decided.
            at = now if now is not None else self.clock()
            # Due timers are fired in groups (one transaction each, see ``api.commit``), and the
            # lock is let go between groups so that requests are not held up by a burst.
            with self.lock:
                due = self.store.due_timers(at, limit=_FIRE_GROUP)
                commands = [
                    cmd.FireDeadline(str(t.data["requirement_id"]), t.timer_id) for t in due
                ]
                done = sum(1 for d in self.commits.run(commands, at) if d.rejected is None)
            fired += done
            # A rejected timer (fired by another process meanwhile) may still be listed until
            # that commit is visible: stop when a full group made no progress.
            if len(due) < _FIRE_GROUP or done == 0:
                break
        # resume() walks every open requirement (it is for crash recovery: a live process
        # follows up inline), so it runs every ``resume_ms``, not on every tick.
        if now is not None or time.monotonic() >= self._next_resume:
            self._next_resume = time.monotonic() + self.settings.resume_ms / 1000
            with self.lock:
                self.broker.resume(at)
        return fired

    # --- background loops -------------------------------------------------------------------

    def start(self) -> None:
        """Start the timer loop and the outbox loop (daemon threads)."""
        if not self.settings.background:
            return
        with self.lock:
            self.broker.resume()
        # The state folded from the log is long-lived and immutable; without this, every full
        # collection walks all of it (hundreds of thousands of records after a long log),
        # which stalls the timer loop for up to a second. Frozen objects are never scanned.
        gc.collect()
        gc.freeze()
        for name, period, work in (
            ("rofr-timers", self.settings.tick_ms, self.tick),
            ("rofr-outbox", self.settings.outbox_ms, self.outbox.run_once),
        ):
            thread = threading.Thread(
                target=self._loop, args=(period, work), name=name, daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _loop(self, period_ms: int, work: Callable[[], object]) -> None:
        while not self._stop.wait(period_ms / 1000):
            try:
                work()
            except Exception:  # a failing round must not kill the loop; the next one retries
                log.exception("background work failed; retrying next round")

    def stop(self) -> None:
        """Stop the loops and close the connections."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self.outbox.close()
        self.db.close()
        self.store.close()
