"""The driver's event order: time, then commands before deadlines, then scheduling order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rofr.broker import VirtualClock
from rofr.engine import commands as cmd
from rofr.engine import events as ev
from rofr.sim.driver import Driver

T0 = datetime(2025, 1, 1, tzinfo=UTC)


class _Recorder:
    """Stands in for the broker: records what it is asked to execute, and, for a command whose
    reason names a delay, sets a deadline that much later (as an offer's window would)."""

    def __init__(self) -> None:
        self.listeners: list[Any] = []
        self.executed: list[tuple[datetime, str]] = []
        self.state = self  # the driver looks up deadlines' requirements here
        self.requirements = self

    def get(self, requirement_id: str) -> Any:
        return self  # every deadline is still pending

    def timer(self, timer_id: str) -> object:
        return timer_id

    def execute(self, command: cmd.Command, now: datetime) -> list[ev.Event]:
        if isinstance(command, cmd.FireDeadline):
            self.executed.append((now, command.timer_id))
            return []
        assert isinstance(command, cmd.CancelRequirement)
        self.executed.append((now, command.requirement_id))
        events: list[ev.Event] = []
        if command.reason:
            due = now + timedelta(hours=int(command.reason))
            events.append(ev.DeadlineSet(at=now, requirement_id=command.requirement_id,
                                         timer_id=f"t-{command.requirement_id}", due=due,
                                         purpose="offer"))  # fmt: skip
        for listener in self.listeners:
            listener(events)
        return events


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.one_of(st.none(), st.integers(0, 10))),
        min_size=1,
        max_size=40,
    )
)
def test_items_run_in_time_then_kind_then_schedule_order(
    items: list[tuple[int, int | None]],
) -> None:
    # Schedules come in any order (some in time order, which the driver queues without its
    # heap, some not); deadlines are learned while running. The run must be one global order.
    broker = _Recorder()
    clock = VirtualClock(T0)
    driver = Driver(broker, clock)  # type: ignore[arg-type]
    for i, (hours, delay) in enumerate(items):
        reason = "" if delay is None else str(delay)
        driver.schedule(
            T0 + timedelta(hours=hours), cmd.CancelRequirement(f"r{i}", "buyer", reason)
        )
    driver.run()

    # The order one heap of (time, commands before deadlines, sequence) gives.
    expected: list[tuple[datetime, int, int, str]] = []
    seq = 0
    for i, (hours, _) in enumerate(items):
        seq += 1
        expected.append((T0 + timedelta(hours=hours), 0, seq, f"r{i}"))
    # A deadline's sequence number is taken when its command runs, so replay that too.
    order = sorted(expected)
    runs: list[tuple[datetime, str]] = []
    pending = list(order)
    while pending:
        pending.sort()
        at, _, _, name = pending.pop(0)
        runs.append((at, name))
        if name.startswith("r"):
            delay = items[int(name[1:])][1]
            if delay is not None:
                seq += 1
                pending.append((at + timedelta(hours=delay), 1, seq, f"t-{name}"))
    assert broker.executed == runs
    assert [at for at, _ in broker.executed] == sorted(at for at, _ in broker.executed)
