"""Several brokers (processes) on one log: a decision is never made on a stale state.

Each broker decides on the state it has folded and appends only if the log has not grown
since (``expect_head``); otherwise it catches up and decides again. These tests put two
brokers on one SQLite file (as two server processes would share a database) and let one
write behind the other's back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine_kit import BUYER, T0, requirement, small_contract
from rofr.broker import Broker
from rofr.engine import Rejected, Status, decode_event, replay
from rofr.engine import commands as cmd
from rofr.engine import events as ev
from rofr.store import EventStore, HeadMoved, open_store, verify_chain

Write = Callable[[Broker], None]


def _pair(tmp_path: Path) -> tuple[EventStore, EventStore, Broker, Broker]:
    url = str(tmp_path / "shared.db")
    first, second = open_store(url), open_store(url)
    a = Broker(first, lambda: T0)
    a.execute(cmd.AdoptContract(small_contract(), by=BUYER), T0)
    b = Broker(second, lambda: T0)  # folds the contract on start
    return first, second, a, b


def _log_state(store: EventStore):  # type: ignore[no-untyped-def]
    return replay(decode_event(r.type, dict(r.data)) for r in store.read_all())


@pytest.mark.parametrize(
    ("behind_a", "a_command", "expected"),
    [
        # b submits r1; a, which has not seen r1, cancels it: refused on a's stale state,
        # so a catches up and decides again, and the cancellation stands.
        (
            lambda b: b.execute(cmd.SubmitRequirement(requirement("r1")), T0),
            cmd.CancelRequirement("r1", by=BUYER),
            {"r1": Status.CANCELLED},
        ),
        # b cancels r0 (which a knows as open); a's cancellation of r0 is then refused on
        # the caught-up state, not recorded twice.
        (
            lambda b: b.execute(cmd.CancelRequirement("r0", by=BUYER), T0),
            cmd.CancelRequirement("r0", by=BUYER),
            {"r0": Status.CANCELLED},
        ),
        # b writes elsewhere; a's submission is decided again after the head moved.
        (
            lambda b: b.execute(cmd.SubmitRequirement(requirement("r1")), T0),
            cmd.SubmitRequirement(requirement("r2")),
            {"r1": Status.OFFERED, "r2": Status.OFFERED},
        ),
    ],
    ids=["refused-when-stale", "refused-when-current", "head-moved"],
)
def test_a_broker_decides_on_the_log_not_on_its_stale_state(
    tmp_path: Path, behind_a: Write, a_command: cmd.Command, expected: dict[str, Status]
) -> None:
    first, second, a, b = _pair(tmp_path)
    a.execute(cmd.SubmitRequirement(requirement("r0")), T0)
    b.catch_up()
    behind_a(b)
    assert a.position < b.position  # a has not folded b's events
    try:
        a.execute(a_command, T0)
    except Rejected:
        assert isinstance(a_command, cmd.CancelRequirement) and a_command.requirement_id == "r0"
    state = _log_state(first)
    assert a.state == state and a.position == first.head()[0]
    for rid, status in expected.items():
        assert state.requirements[rid].status is status
    cancels = [r for r in first.read_all() if r.type == ev.RequirementCancelled.kind]
    assert len(cancels) == len({r.stream for r in cancels})  # none recorded twice
    assert verify_chain(first) is None
    second.close()
    first.close()


def test_a_stale_append_is_refused_by_the_store(tmp_path: Path) -> None:
    first, second, a, b = _pair(tmp_path)
    b.execute(cmd.SubmitRequirement(requirement("r1")), T0)
    with pytest.raises(HeadMoved):
        first.append_many([("x", 0, [])], T0, expect_head=a.position)
    assert first.head() == second.head()
    second.close()
    first.close()


def test_after_losing_a_race_a_broker_reads_the_tail_before_deciding(tmp_path: Path) -> None:
    first, second, a, b = _pair(tmp_path)
    lost: list[int] = []
    append = first.append_many

    def counting(*args: Any, **kwargs: Any) -> Any:
        try:
            return append(*args, **kwargs)
        except HeadMoved:
            lost.append(1)
            raise

    first.append_many = counting  # type: ignore[method-assign]
    for i in range(3):
        b.execute(cmd.SubmitRequirement(requirement(f"b{i}")), T0)
        a.execute(cmd.SubmitRequirement(requirement(f"a{i}")), T0)
    # Only the first of a's appends raced b blind; the next two read b's events first.
    assert lost == [1]
    assert a.state == _log_state(first)
    second.close()
    first.close()
