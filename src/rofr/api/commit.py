"""Group commit: decide several commands in a row, append all their events in one transaction.

Why. Each append is a transaction, and a durable commit waits for the disk (about 3 ms for
PostgreSQL's WAL fsync on these machines). Appenders are serialised (one broker lock per
process, one advisory lock per database), so one command per commit caps a server at about
300 commands/s whatever the CPU. Here the request threads queue their commands; whichever
thread gets the broker lock first decides *everything* queued, one command after another on
the evolving state (exactly the order a one-at-a-time broker would have used), and appends the
result with one ``append_many``: one fsync for the whole group. Each thread then gets its own
events, stored rows and the state right after the commit, so it can answer without reading
the log back.

Correctness is the broker's: a rejected command changes nothing and does not stop the others;
if another process moved a stream meanwhile (``VersionConflict``), the whole group is decided
again on the caught-up state. This mirrors ``Broker._decide_and_append`` for a list of commands
and uses its helpers (``Broker._batches``, ``_timer_changes``), so that which events set or
cancel timers is still said in one place.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from rofr.broker import Broker
from rofr.broker.broker import _timer_changes
from rofr.engine import Rejected, State, step
from rofr.engine import commands as cmd
from rofr.engine import events as ev
from rofr.store import StoredEvent, VersionConflict

__all__ = ["Decided", "GroupCommit", "decide_and_append_many"]

_CONFLICT_RETRIES = 5


@dataclass(slots=True)
class Decided:
    """What one command of a group came to: its events and rows, or why it was refused."""

    command: cmd.Command
    events: list[ev.Event] = field(default_factory=list)
    rows: list[StoredEvent] = field(default_factory=list)
    rejected: Rejected | None = None
    state: State | None = None  # the broker's state after the group (and its market answers)

    def stream_rows(self, stream: str) -> list[StoredEvent] | None:
        """Every row of ``stream`` if this command created the stream and nothing was appended
        to it since (then the answer needs no read of the log); otherwise ``None``."""
        rows = [r for r in self.rows if r.stream == stream]
        if not rows or rows[0].version != 1 or self.state is None:
            return None
        return rows if rows[-1].version == self.state.stream_version(stream) else None


def decide_and_append_many(
    broker: Broker, commands: Sequence[cmd.Command], at: datetime
) -> list[Decided]:
    """Decide ``commands`` in order at ``at`` and append all their events in one transaction.

    The caller holds whatever lock guards ``broker``. Listeners and the market follow-up are
    run by the caller (see :class:`GroupCommit`)."""
    for attempt in range(_CONFLICT_RETRIES):
        broker.catch_up()
        state = broker.state
        decided = [Decided(c) for c in commands]
        every: list[ev.Event] = []
        for item in decided:
            try:
                item.events, state = step(state, item.command, at)
            except Rejected as refusal:
                item.rejected = refusal
            every.extend(item.events)
        if not every:
            return decided
        try:
            rows = broker.store.append_many(
                broker._batches(every), recorded_at=at, timers=_timer_changes(every)
            )
        except VersionConflict:
            if attempt == _CONFLICT_RETRIES - 1:
                raise
            continue
        if rows and rows[0].position == broker.position + 1:
            broker.state, broker.position = state, rows[-1].position
        else:
            broker.catch_up()
        # append_many keeps event order (batches are runs of consecutive events), so rows line
        # up one to one with ``every``.
        start = 0
        for item in decided:
            item.rows = rows[start : start + len(item.events)]
            item.state = broker.state
            start += len(item.events)
        return decided
    raise AssertionError("unreachable")


class GroupCommit:
    """Run commands through ``broker`` under ``lock``, many per transaction when they queue up.

    Leader/follower, no extra thread: a caller queues its command and takes the lock; if its
    command is still queued it decides the whole queue (it is the leader of that group), else
    a previous leader already did it and it returns that result.
    """

    def __init__(self, broker: Broker, lock: threading.Lock, max_group: int = 256) -> None:
        self.broker = broker
        self.lock = lock
        self.max_group = max_group
        self._queue: list[_Slot] = []
        self._queue_lock = threading.Lock()

    def execute(self, command: cmd.Command) -> Decided:
        """Decide and record ``command`` now; raises ``Rejected`` if it was refused."""
        slot = _Slot(command)
        with self._queue_lock:
            self._queue.append(slot)
        with self.lock:
            if slot.result is None and slot.error is None:
                self._lead()
        if slot.error is not None:
            raise slot.error
        result = slot.result
        assert result is not None
        if result.rejected is not None:
            raise result.rejected
        return result

    def run(self, commands: Sequence[cmd.Command], at: datetime) -> list[Decided]:
        """Decide and record ``commands`` as one group, then tell the listeners and ask the
        market; the caller holds ``lock``."""
        broker = self.broker
        decided = decide_and_append_many(broker, commands, at)
        for item in decided:
            if item.events:
                for listener in broker.listeners:
                    listener(item.events)
                if broker.market is not None:
                    broker._follow_up(item.events, at)
        if broker.market is not None:
            # The market's answers were recorded after the group: answers must show them.
            for item in decided:
                item.state = broker.state
        return decided

    def _lead(self) -> None:
        with self._queue_lock:
            group, self._queue = self._queue[: self.max_group], self._queue[self.max_group :]
        try:
            decided = self.run([s.command for s in group], self.broker.clock())
        except BaseException as error:  # the group failed as a whole: every member hears it
            for slot in group:
                slot.error = error
            return
        for slot, item in zip(group, decided, strict=True):
            slot.result = item


@dataclass(slots=True)
class _Slot:
    command: cmd.Command
    result: Decided | None = None
    error: BaseException | None = None
