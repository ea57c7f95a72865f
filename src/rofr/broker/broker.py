"""The imperative shell around the pure core: load state from the log, decide, append, act.

``Broker`` is the one place where the engine meets a store, a clock and the market. The
service (real clock, SQLite or PostgreSQL), the CLI and the simulator (virtual clock, memory)
all use it unchanged; only what is passed in differs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from rofr.broker.market import Market
from rofr.engine import Rejected, State, decode_event, encode_event, evolve, step
from rofr.engine import commands as cmd
from rofr.engine import events as ev
from rofr.store import (
    CancelTimer,
    EventStore,
    HeadMoved,
    NewEvent,
    ScheduleTimer,
    Side,
    StoredEvent,
    TimerChange,
    VersionConflict,
)

__all__ = ["Broker", "Clock", "Decided", "Listener", "SideFor"]

Clock = Callable[[], datetime]
Listener = Callable[[Sequence[ev.Event]], None]

# How often a group is re-decided after another writer appended while it was being decided
# (each retry first catches up, so it loses only to a writer that is faster still).
_CONFLICT_RETRIES = 20
# After an append lost the race to another writer, this many groups read the log's tail before
# deciding (see ``Broker.decide_many``).
_CONTENDED_GROUPS = 50


def _timer_changes(events: Sequence[ev.Event]) -> list[TimerChange]:
    changes: list[TimerChange] = []
    for e in events:
        if isinstance(e, ev.DeadlineSet):
            changes.append(
                ScheduleTimer(e.timer_id, e.due, e.stream, {"requirement_id": e.requirement_id})
            )
        elif isinstance(e, ev.DeadlineReached | ev.DeadlineCancelled):
            changes.append(CancelTimer(e.timer_id))
    return changes


@dataclass(slots=True)
class Decided:
    """What one command of a group came to: its events and rows, or why it was refused."""

    command: cmd.Command
    events: list[ev.Event] = field(default_factory=list)
    rows: list[StoredEvent] = field(default_factory=list)
    rejected: Rejected | None = None
    state: State | None = None  # the broker's state after the group (and its market answers)
    # The answer kept with the events (status, JSON text) while ``state`` is still the state
    # it was built from: the request may send it as it is instead of building it again.
    answer: tuple[int, str] | None = None

    def stream_rows(
        self, stream: str, before: Sequence[StoredEvent] = ()
    ) -> list[StoredEvent] | None:
        """Every row of ``stream``, if ``before`` (the stream as read before the command, from
        version 1) and this command's rows make the whole stream and nothing was appended to
        it since (then the answer needs no read of the log); otherwise ``None``."""
        rows = [r for r in self.rows if r.stream == stream]
        if not rows or rows[0].version != len(before) + 1 or self.state is None:
            return None
        if rows[-1].version != self.state.stream_version(stream):
            return None
        return [*before, *rows]


SideFor = Callable[[list[Decided], State], Side]
"""The side writes of a group (see ``store.Side``), given its :class:`Decided` items and the
state decided for it; called once per attempt that appends, just before the append."""


def share_rows(decided: Sequence[Decided], rows: list[StoredEvent]) -> None:
    """Give each item its stored rows. ``append_many`` keeps event order (batches are runs of
    consecutive events), so rows line up one to one with the group's events."""
    start = 0
    for item in decided:
        item.rows = rows[start : start + len(item.events)]
        start += len(item.events)


class Broker:
    """Executes commands against an event store with an injected clock and market."""

    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        market: Market | None = None,
        *,
        exclusive: bool = False,
    ) -> None:
        """``exclusive=True`` promises that this broker is the only writer of ``store`` (the
        simulator's private in-memory log): it then trusts its own state instead of reading
        the log's tail before every command, and, on a store with ``append_events`` (the
        in-memory one), hands it the event objects so that encoding and hashing wait until
        someone reads the log. The log's rows are the same either way; the store's version
        checks still refuse a write from anyone else."""
        self.store = store
        self.clock = clock
        self.market = market
        self.exclusive = exclusive
        self._append_events = getattr(store, "append_events", None) if exclusive else None
        self.state = State()
        self.position = 0
        self.listeners: list[Listener] = []
        self._contended = 0
        self.catch_up()

    # --- reading ------------------------------------------------------------------------

    def catch_up(self) -> None:
        """Fold every event appended since we last looked (by us or another process)."""
        state = self.state
        for row in self.store.read_all(after=self.position):
            state = evolve(state, decode_event(row.type, dict(row.data)))
            self.position = row.position
        self.state = state

    def _log_moved(self) -> bool:
        """True if the log holds events this broker has not folded (one cheap read)."""
        return self.store.head()[0] != self.position

    # --- writing ------------------------------------------------------------------------

    def execute(self, command: cmd.Command, now: datetime | None = None) -> list[ev.Event]:
        """Decide ``command`` at ``now`` (default: the clock), append the events, then let the
        market answer what they ask for. Raises ``Rejected`` (nothing recorded) on refusal."""
        at = now if now is not None else self.clock()
        events = self._decide_and_append(command, at)
        for listener in self.listeners:
            listener(events)
        if self.market is not None:
            self._follow_up(events, at)
        return events

    def _decide_and_append(self, command: cmd.Command, at: datetime) -> list[ev.Event]:
        if self.exclusive:
            return self._decide_alone(command, at)
        (decided,) = self.decide_many((command,), at)
        if decided.rejected is not None:
            raise decided.rejected
        return decided.events

    def decide_many(
        self, commands: Sequence[cmd.Command], at: datetime, side: SideFor | None = None
    ) -> list[Decided]:
        """Decide ``commands`` in order at ``at``, each on the state the previous ones left,
        and append all their events in one transaction (with ``side``'s writes).

        A rejected command changes nothing and does not stop the others (see
        ``Decided.rejected``). If another writer moved a stream meanwhile, the whole group is
        decided again on the caught-up state. Listeners and the market are not run here (see
        :meth:`execute`). The caller holds whatever lock guards this broker."""
        for attempt in range(_CONFLICT_RETRIES):
            # Decide on the state folded up to ``self.position`` and append only if the log
            # is still there (``expect_head``): no read before deciding, and a decision is
            # never made on a stale contract, waiver or commitment. If another process
            # appended meanwhile, catch up and decide the group again. While other writers
            # are active (a recent append lost the race), reading the tail first is cheaper
            # than deciding twice, so that is done for the next few groups.
            if attempt or self._contended:
                self.catch_up()
            state = self.state
            decided = [Decided(c) for c in commands]
            every: list[ev.Event] = []
            for item in decided:
                try:
                    item.events, state = step(state, item.command, at)
                except Rejected as refusal:
                    item.rejected = refusal
                every.extend(item.events)
            if not every:
                if attempt == 0 and self._log_moved():
                    continue  # refused on a stale state: decide again on the log's
                return decided
            try:
                rows = self.store.append_many(
                    self._batches(every), recorded_at=at, timers=_timer_changes(every),
                    side=side(decided, state) if side is not None else (),
                    expect_head=self.position,
                )  # fmt: skip
            except (VersionConflict, HeadMoved):
                self._contended = _CONTENDED_GROUPS
                if attempt == _CONFLICT_RETRIES - 1:
                    raise
                continue
            self._contended = max(0, self._contended - 1)
            self.state, self.position = state, rows[-1].position
            share_rows(decided, rows)
            for item in decided:
                item.state = state
            return decided
        raise AssertionError("unreachable")

    def _decide_alone(self, command: cmd.Command, at: datetime) -> list[ev.Event]:
        # The single-writer path: no read-back, and (in memory) no encoding until a read.
        events, new_state = step(self.state, command, at)
        if not events:
            return events
        timers = _timer_changes(events)
        if self._append_events is not None:
            self.position = self._append_events(
                self._event_batches(events), at, encode_event, timers
            )
        else:
            rows = self.store.append_many(self._batches(events), recorded_at=at, timers=timers)
            self.position = rows[-1].position
        self.state = new_state
        return events

    def _event_batches(self, events: Sequence[ev.Event]) -> list[tuple[str, int, list[ev.Event]]]:
        # Consecutive events of one stream form one batch, so the log keeps decision order;
        # each batch carries the stream's version before it (from the state, once a stream).
        batches: list[tuple[str, int, list[ev.Event]]] = []
        versions: dict[str, int] = {}
        for e in events:
            stream = e.stream
            if batches and batches[-1][0] == stream:
                batches[-1][2].append(e)
            else:
                base = versions.get(stream)
                if base is None:
                    base = self.state.stream_version(stream)
                batches.append((stream, base, [e]))
            versions[stream] = batches[-1][1] + len(batches[-1][2])
        return batches

    def _batches(self, events: Sequence[ev.Event]) -> list[tuple[str, int, list[NewEvent]]]:
        # The same batches, encoded for a store's ``append_many``.
        return [
            (stream, base, [NewEvent(stream, *encode_event(e), plain=True) for e in group])
            for stream, base, group in self._event_batches(events)
        ]

    # --- the market and the timers --------------------------------------------------------

    def _follow_up(self, events: Sequence[ev.Event], at: datetime) -> None:
        market = self.market
        assert market is not None
        for e in events:
            if isinstance(e, ev.QuotesRequested):
                rs = self.state.requirements[e.requirement_id]
                quotes, failures = market.gather(rs.requirement, e.providers, at)
                self._try(cmd.RecordQuotes(e.requirement_id, e.round, quotes, failures), at)
            elif isinstance(e, ev.ReservationRequested):
                ok, reason = market.reserve(e.placement, at)
                if ok:
                    self._try(cmd.ConfirmReservation(e.requirement_id, e.placement.id), at)
                else:
                    self._try(cmd.RefuseReservation(e.requirement_id, e.placement.id, reason), at)
            elif isinstance(e, ev.ReservationCancelled):
                market.cancel(e.provider, e.placement_id)

    def _try(self, command: cmd.Command, at: datetime) -> None:
        # Rejected here means another writer already moved the requirement on (cancelled it).
        with contextlib.suppress(Rejected):
            self.execute(command, at)

    def fire_due(self, now: datetime | None = None) -> int:
        """Fire every due deadline once; safe to run concurrently and twice."""
        at = now if now is not None else self.clock()
        fired = 0
        for timer in self.store.due_timers(at):
            try:
                self.execute(
                    cmd.FireDeadline(str(timer.data["requirement_id"]), timer.timer_id), at
                )
                fired += 1
            except Rejected:
                continue  # fired by someone else meanwhile
        return fired

    def resume(self, now: datetime | None = None) -> int:
        """Ask the market again for whatever the log says is still awaited; returns how many.

        ``execute`` appends first and asks the market after, so a process that dies in
        between leaves a requirement waiting for quotes or a reservation answer that nobody
        will fetch. The service calls this on start and on every tick: the log, not memory,
        says what is outstanding. Answers are idempotent (a quote round already recorded or
        a reservation already settled is rejected and ignored), so running it twice, or in
        two processes, is harmless.
        """
        if self.market is None:
            return 0
        at = now if now is not None else self.clock()
        self.catch_up()
        waiting = [
            rs for rs in self.state.requirements.values()
            if not rs.final and (rs.quote_purpose is not None or rs.pending)
        ]  # fmt: skip
        asked = 0
        for rs in waiting:
            pending = {p.id for p in rs.pending}
            outstanding: list[ev.Event] = []
            for row in self.store.read_stream(f"req:{rs.requirement.id}"):
                e = decode_event(row.type, dict(row.data))
                if isinstance(e, ev.QuotesRequested) and rs.quote_purpose is not None:
                    outstanding = [x for x in outstanding if not isinstance(x, ev.QuotesRequested)]
                    outstanding.append(e)
                elif isinstance(e, ev.ReservationRequested) and e.placement.id in pending:
                    outstanding.append(e)
            self._follow_up(outstanding, at)
            asked += len(outstanding)
        return asked
