"""Group commit: commands queued together share one transaction; awaited requests too.

``GroupCommit.execute_async`` is how the event loop's requests are decided: queued, drained
by one job in the thread pool, each awaiting its own outcome. These tests drive it directly
over an in-memory log and count the appends.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine_kit import BUYER, T0, requirement, small_contract
from pg_kit import postgres_param, store_url
from rofr.api import ServiceDb
from rofr.api.commit import Answering, Decided, GroupCommit, Replay
from rofr.broker import Broker
from rofr.engine import Rejected
from rofr.engine import commands as cmd
from rofr.store import MemoryStore, open_store


class CountingStore(MemoryStore):
    """A memory store that counts its transactions and can be made slow (to let a queue form)."""

    def __init__(self) -> None:
        super().__init__()
        self.appends = 0
        self.gate = threading.Event()
        self.gate.set()

    def append_many(self, *args: Any, **kwargs: Any) -> Any:
        self.gate.wait(5)
        self.appends += 1
        return super().append_many(*args, **kwargs)


def _commit(found: dict[tuple[str, str], tuple[str, int, str]] | None = None) -> GroupCommit:
    store = CountingStore()
    broker = Broker(store, lambda: T0 + timedelta(hours=1))
    broker.execute(cmd.AdoptContract(small_contract(), by=BUYER), T0)
    store.appends = 0
    answers = found or {}
    return GroupCommit(
        broker,
        threading.Lock(),
        find_answers=lambda keys: {k: answers[k] for k in keys if k in answers},
    )


def _respond(decided: Decided) -> tuple[int, Any] | None:
    return 201, {"events": len(decided.events)}


async def _submit_all(commit: GroupCommit, ids: list[str]) -> list[Decided | Replay | Exception]:
    store = commit.broker.store
    assert isinstance(store, CountingStore)
    store.gate.clear()  # the first group's append waits until every request has queued
    tasks = [
        asyncio.ensure_future(commit.execute_async(
            cmd.SubmitRequirement(requirement(rid)), _respond, Answering(BUYER, f"k-{rid}", "h"),
        ))
        for rid in ids
    ]  # fmt: skip
    await asyncio.sleep(0.05)
    store.gate.set()
    return list(await asyncio.gather(*tasks, return_exceptions=True))


def test_awaited_commands_are_decided_in_order_and_share_transactions() -> None:
    commit = _commit()
    ids = [f"r{i}" for i in range(40)] + ["r3"]  # the last one repeats an id: refused
    outcomes = asyncio.run(_submit_all(commit, ids))
    store = commit.broker.store
    assert isinstance(store, CountingStore)
    assert 1 <= store.appends <= 5  # 40 commands in a few transactions, not 40
    assert all(isinstance(o, Decided) and o.events for o in outcomes[:-1])
    assert isinstance(outcomes[-1], Rejected)
    submitted = [r.stream for r in store.read_all() if r.type == "RequirementSubmitted"]
    assert submitted == [f"req:{rid}" for rid in ids[:-1]]  # queue order kept
    # Each answer was kept in its events' transaction.
    kept = {o.command.requirement.id: o.answer for o in outcomes[:-1] if isinstance(o, Decided)}  # type: ignore[attr-defined]
    assert set(kept) == set(ids[:-1]) and all(a is not None and a[0] == 201 for a in kept.values())
    assert store.idempotency(BUYER, "k-r7") is not None


def test_a_key_with_an_answer_is_replayed_not_run_again() -> None:
    commit = _commit({(BUYER, "k-r2"): ("first-hash", 201, '{"id": "r2"}')})
    outcomes = asyncio.run(_submit_all(commit, ["r1", "r2", "r3"]))
    assert outcomes[1] == Replay("first-hash", 201, '{"id": "r2"}')
    assert [isinstance(o, Decided) for o in outcomes] == [True, False, True]
    streams = {r.stream for r in commit.broker.store.read_all()}
    assert "req:r2" not in streams and {"req:r1", "req:r3"} <= streams


def test_a_failed_group_tells_every_awaiting_request() -> None:
    commit = _commit()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk full")

    store = commit.broker.store
    working = store.append_many
    store.append_many = broken  # type: ignore[method-assign]
    outcomes = asyncio.run(_submit_all(commit, ["r1", "r2"]))
    assert [type(o) for o in outcomes] == [OSError, OSError]
    store.append_many = working  # type: ignore[method-assign]
    (later,) = asyncio.run(_submit_all(commit, ["r9"]))  # the queue was not left stuck
    assert isinstance(later, Decided) and later.events


@pytest.fixture(params=["sqlite", postgres_param()])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServiceDb]:
    with store_url(request.param, tmp_path) as url:
        open_store(url).close()  # creates the tables
        opened = ServiceDb(url)
        yield opened
        opened.close()


def test_find_answers_reads_exactly_the_pairs_asked_for(db: ServiceDb) -> None:
    for party, key in [("a", "k1"), ("a", "k2"), ("b", "k1"), ("b", "k3")]:
        db.keep_answer(party, key, f"h-{party}-{key}", 201, f'"{party}{key}"', T0)
    asked = [("a", "k1"), ("b", "k3"), ("a", "k3"), ("c", "k1")]  # a/k3 and c/k1 have none
    assert db.find_answers(asked) == {
        ("a", "k1"): ("h-a-k1", 201, '"ak1"'),
        ("b", "k3"): ("h-b-k3", 201, '"bk3"'),
    }
    assert db.find_answers([]) == {}
    assert {k: db.find_answer(*k) for k in asked if db.find_answer(*k)} == db.find_answers(asked)
