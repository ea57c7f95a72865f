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
again on the caught-up state. The deciding and appending is ``Broker.decide_many`` (which a
single ``Broker.execute`` uses too); this module adds the queue and the idempotent answers.

Idempotency. A command sent with an ``Idempotency-Key`` (see ``api.app.idempotent``) may come
with a ``respond`` function: the HTTP answer built from its :class:`Decided`. The leader calls
it inside the group's transaction, once the rows are fixed, and the store writes the answer
with the events (``append_many(side=...)``): a crash cannot keep the events and lose the
answer, so a retry with the same key gets the first success instead of re-running the command.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel

from rofr.broker import Broker, Decided, share_rows
from rofr.engine import State
from rofr.engine import commands as cmd
from rofr.store import IdempotencyRecord, Side, StoredEvent

__all__ = [
    "ANSWERING", "Answering", "Decided", "Found", "GroupCommit", "Rendered", "Replay", "Respond",
    "decide_and_append_many", "render_body",
]  # fmt: skip

log = logging.getLogger("rofr.api")


@dataclass(frozen=True, slots=True)
class Rendered:
    """An answer body already rendered to JSON text (see :attr:`Decided.answer`)."""

    text: str


def render_body(content: Any) -> str:
    """An answer's JSON text (a model is rendered once, by pydantic: jsonable_encoder would
    walk it in Python)."""
    if isinstance(content, Rendered):
        return content.text
    if isinstance(content, BaseModel):
        return content.model_dump_json()
    return json.dumps(jsonable_encoder(content))


Respond = Callable[[Decided], tuple[int, Any] | None]
"""The HTTP answer (status, body) to a command, built from what it came to (``None``: not
from the decision alone)."""


@dataclass(slots=True)
class Answering:
    """An HTTP request with an ``Idempotency-Key`` being answered; ``kept`` is the body text
    stored with the command's events, once they are committed."""

    party: str
    key: str
    request_hash: str
    kept: tuple[int, str] | None = None


ANSWERING: ContextVar[Answering | None] = ContextVar("rofr_answering", default=None)
"""Set by ``api.app.idempotent`` around a request's action (one request per thread of the
pool, and a context per request), read by :meth:`GroupCommit.execute`."""

_Answer = tuple[Answering, Respond]


def decide_and_append_many(
    broker: Broker,
    commands: Sequence[cmd.Command],
    at: datetime,
    answers: Sequence[_Answer | None] = (),
) -> list[Decided]:
    """Decide ``commands`` in order at ``at`` and append all their events in one transaction.

    ``answers[i]``, when given, is the idempotency key of command ``i`` and how to answer it:
    that answer is written in the same transaction (and its ``kept`` set once committed).
    The caller holds whatever lock guards ``broker``. Listeners and the market follow-up are
    run by the caller (see :class:`GroupCommit`)."""
    if not any(answers):
        return broker.decide_many(commands, at)
    # One list of kept answers per attempt that appends; only the attempt that committed
    # (the one whose items are returned) tells its requests what was kept.
    attempts: list[tuple[list[Decided], list[tuple[Answering, tuple[int, str]]]]] = []

    def side(decided: list[Decided], state: State) -> Side:
        kept: list[tuple[Answering, tuple[int, str]]] = []
        attempts.append((decided, kept))
        return _answers_side(decided, state, answers, at, kept)

    decided = broker.decide_many(commands, at, side)
    if attempts and attempts[-1][0] is decided:
        for answering, answer in attempts[-1][1]:
            answering.kept = answer
    return decided


def _answers_side(
    decided: list[Decided],
    state: State,
    answers: Sequence[_Answer | None],
    at: datetime,
    kept: list[tuple[Answering, tuple[int, str]]],
) -> Callable[[list[StoredEvent]], list[IdempotencyRecord]]:
    """The side writes of a group: each keyed command's answer, rendered from its rows and the
    decided state while the transaction is open (the store calls this under its lock)."""

    def side(rows: list[StoredEvent]) -> list[IdempotencyRecord]:
        share_rows(decided, rows)
        records: list[IdempotencyRecord] = []
        for item, answer in zip(decided, answers, strict=False):
            if answer is None or item.rejected is not None or not item.events:
                continue
            answering, respond = answer
            item.state = state
            # No answer here (None, or a failure) leaves it to be kept after the commit, as a
            # command without a key's answer would be: never fail the group's transaction.
            try:
                answered = respond(item)
                if answered is None:
                    continue
                status, text = answered[0], render_body(answered[1])
            except Exception:
                log.exception("could not render an answer inside its transaction")
                continue
            records.append(
                IdempotencyRecord(
                    answering.party, answering.key, answering.request_hash, status, text, at
                )
            )
            kept.append((answering, (status, text)))
            item.answer = (status, text)
        return records

    return side


Found = Callable[[Sequence[tuple[str, str]]], dict[tuple[str, str], tuple[str, int, str]]]
"""Looks up the answers kept for ``(party, key)`` pairs: ``(request_hash, status, body)`` by
pair, for the pairs that have one (one query for a whole group)."""


@dataclass(frozen=True, slots=True)
class Replay:
    """An idempotency key that already has an answer: the command was not run again."""

    request_hash: str
    status: int
    text: str


class GroupCommit:
    """Run commands through ``broker`` under ``lock``, many per transaction when they queue up.

    Leader/follower, no extra thread: a caller queues its command and takes the lock; if its
    command is still queued it decides the whole queue (it is the leader of that group), else
    a previous leader already did it and it returns that result.

    Requests served on the event loop use :meth:`execute_async` instead: they queue their
    command and await it, and one drain job in the thread pool leads groups until the queue
    is empty. That is one hop to a thread per group instead of one per request (a hop costs
    about as much CPU as FastAPI's whole handling of a small request).
    """

    def __init__(
        self,
        broker: Broker,
        lock: threading.Lock,
        max_group: int = 256,
        find_answers: Found | None = None,
    ) -> None:
        self.broker = broker
        self.lock = lock
        self.max_group = max_group
        self.find_answers = find_answers
        self._queue: list[_Slot] = []
        self._queue_lock = threading.Lock()
        self._draining = False

    async def execute_async(
        self,
        command: cmd.Command,
        respond: Respond | None = None,
        answering: Answering | None = None,
    ) -> Decided | Replay:
        """Like :meth:`execute`, awaited on the event loop; the database work happens in the
        thread pool. With ``answering``, the key is looked up there first (in the group's
        turn, so a retry that races its original sees the answer once it is committed): a
        :class:`Replay` is returned if it already has an answer."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def settled() -> None:
            loop.call_soon_threadsafe(_settle, future)

        answer = None if answering is None or respond is None else (answering, respond)
        slot = _Slot(command, answer, lookup=answering, settled=settled)
        with self._queue_lock:
            self._queue.append(slot)
            drain = not self._draining
            self._draining = True
        if drain:
            loop.run_in_executor(None, self._drain)
        await future
        return slot.replay if slot.replay is not None else slot.outcome()

    def _drain(self) -> None:
        # Lead groups until the queue is empty; the check and the flag change share the
        # queue lock with execute_async, so a command queued meanwhile is never stranded.
        while True:
            with self.lock:
                with self._queue_lock:
                    if not self._queue:
                        self._draining = False
                        return
                self._lead()

    def execute(self, command: cmd.Command, respond: Respond | None = None) -> Decided:
        """Decide and record ``command`` now; raises ``Rejected`` if it was refused.

        With ``respond``, inside a request with an idempotency key (:data:`ANSWERING`), the
        answer ``respond`` builds is kept in the same transaction as the events."""
        answering = ANSWERING.get() if respond is not None else None
        slot = _Slot(
            command, None if answering is None or respond is None else (answering, respond)
        )
        with self._queue_lock:
            self._queue.append(slot)
        with self.lock:
            if slot.result is None and slot.error is None:
                self._lead()
        return slot.outcome()

    def run(
        self,
        commands: Sequence[cmd.Command],
        at: datetime,
        answers: Sequence[_Answer | None] = (),
    ) -> list[Decided]:
        """Decide and record ``commands`` as one group, then tell the listeners and ask the
        market; the caller holds ``lock``. ``answers``: see :func:`decide_and_append_many`."""
        broker = self.broker
        decided = decide_and_append_many(broker, commands, at, answers)
        for item in decided:
            if item.events:
                for listener in broker.listeners:
                    listener(item.events)
                if broker.market is not None:
                    broker._follow_up(item.events, at)
        if broker.market is not None:
            # The market's answers were recorded after the group: answers must show them.
            for item in decided:
                if item.state is not broker.state:
                    item.state, item.answer = broker.state, None
        return decided

    def _lead(self) -> None:
        with self._queue_lock:
            group, self._queue = self._queue[: self.max_group], self._queue[self.max_group :]
        decided: list[Decided] = []
        try:
            group = self._replays(group)
            if group:
                decided = self.run(
                    [s.command for s in group], self.broker.clock(), [s.answer for s in group]
                )
        except BaseException as error:  # the group failed as a whole: every member hears it
            for slot in group:
                slot.error = error
                slot.settle()
            return
        for slot, item in zip(group, decided, strict=True):
            slot.result = item
            slot.settle()

    def _replays(self, group: list[_Slot]) -> list[_Slot]:
        """The slots still to decide: a slot whose key already has an answer gets it."""
        keys = [(s.lookup.party, s.lookup.key) for s in group if s.lookup is not None]
        if self.find_answers is None or not keys:
            return group
        found = self.find_answers(keys)
        rest = []
        for slot in group:
            answer = None if slot.lookup is None else found.get(
                (slot.lookup.party, slot.lookup.key)
            )  # fmt: skip
            if answer is None:
                rest.append(slot)
            else:
                slot.replay = Replay(*answer)
                slot.settle()
        return rest


@dataclass(slots=True)
class _Slot:
    command: cmd.Command
    answer: _Answer | None = None
    result: Decided | None = None
    error: BaseException | None = None
    lookup: Answering | None = None  # look the key up before deciding (async requests)
    replay: Replay | None = None
    settled: Callable[[], None] | None = None  # tells an awaiting request it is done

    def settle(self) -> None:
        if self.settled is not None:
            self.settled()

    def outcome(self) -> Decided:
        """The decided command; raises what failed its group, or its refusal."""
        if self.error is not None:
            raise self.error
        result = self.result
        assert result is not None
        if result.rejected is not None:
            raise result.rejected
        return result


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():  # the request may have been cancelled (client gone)
        future.set_result(None)
