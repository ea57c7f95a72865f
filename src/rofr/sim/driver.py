"""A discrete-event driver: the real broker on a virtual clock, with simulated parties.

Like SimPy's core, the loop is a heap of ``(time, priority, sequence, item)``; the sequence
number is the explicit tie-breaker that makes every run with the same inputs identical.
Items are commands to execute (arrivals, holder answers) and the broker's own deadlines, which
the driver learns from ``DeadlineSet`` events exactly as the service's timer loop would.
"""

from __future__ import annotations

import gc
import heapq
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from rofr.broker import Broker, VirtualClock
from rofr.engine import Rejected
from rofr.engine import commands as cmd
from rofr.engine import events as ev
from rofr.market import HolderBehaviour, OfferView, SimulatedProvider
from rofr.values import Basis, Requirement

__all__ = ["Driver", "Rejection"]

# At equal times, commands (arrivals, answers) run before deadlines: an answer that arrives at
# the deadline's instant is then judged by the engine's own rule (it is late).
_COMMAND, _DEADLINE = 0, 1


@dataclass(frozen=True, slots=True)
class Rejection:
    """A command the engine refused during the run, kept for the report."""

    at: datetime
    command: cmd.Command
    code: str
    message: str


@dataclass
class Driver:
    """Runs a broker on a virtual clock until nothing is left to do (or ``until``)."""

    broker: Broker
    clock: VirtualClock
    holders: Mapping[str, HolderBehaviour] = field(default_factory=dict)
    # The holders' own fleets, which their acceptances book directly (``take``).
    holder_ports: Mapping[str, SimulatedProvider] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    # When a list, every command the loop executes is appended with its time, so a run can be
    # replayed command for command through another broker (the equivalence test does that).
    executed: list[tuple[datetime, cmd.Command]] | None = None
    _heap: list[tuple[datetime, int, int, object]] = field(default_factory=list)
    # Commands scheduled in time order (a demand trace: most of a run's items) wait in this
    # queue instead of the heap. Its items are in heap order already (time, then the rising
    # sequence number), so the loop takes the smaller of the two heads: the same order as one
    # heap, without a 100,000-item heap's O(log n) tuple comparisons per push and pop.
    _queue: deque[tuple[datetime, int, int, object]] = field(default_factory=deque)
    _seq: int = 0

    def __post_init__(self) -> None:
        self.broker.listeners.append(self._observe)

    def schedule(self, at: datetime, command: cmd.Command) -> None:
        """Execute ``command`` when the clock reaches ``at``."""
        self._seq += 1
        item = (at, _COMMAND, self._seq, command)
        queue = self._queue
        if not queue or queue[-1][0] <= at:
            queue.append(item)
        else:
            heapq.heappush(self._heap, item)

    def submit(self, requirement: Requirement, at: datetime) -> None:
        """A requirement arrives at ``at``."""
        self.schedule(at, cmd.SubmitRequirement(requirement))

    def run(
        self, until: datetime | None = None, progress: Callable[[datetime], None] | None = None
    ) -> None:
        """Process items in time order until the heap is empty or the next is after ``until``."""
        # The run allocates millions of small immutable records and keeps most of them (the
        # log, the state), which makes the cyclic collector's full passes grow with the run
        # (about a quarter of the time at 20,000 requirements). The engine's data has no
        # reference cycles to collect, so the collector is paused for the loop and restored.
        paused = gc.isenabled()
        gc.disable()
        try:
            self._loop(until, progress)
        finally:
            if paused:
                # Everything the loop allocated is still in the youngest generation: the first
                # collections after re-enabling would walk all of it (once per generation it
                # is promoted through; about 7% of a 20,000-requirement run). Those records are
                # acyclic and live as long as the run's result, so they are moved to the
                # permanent generation instead (``gc.freeze``; reference counting still frees
                # them). Cyclic garbage frozen with them would only be reclaimed after a
                # ``gc.unfreeze()``; the one cycle a run makes (the broker's listeners hold
                # the driver, which holds the broker) is broken by ``run_version``.
                gc.freeze()
                gc.enable()

    def _loop(self, until: datetime | None, progress: Callable[[datetime], None] | None) -> None:
        heap, queue = self._heap, self._queue
        while heap or queue:
            if queue and (not heap or queue[0] < heap[0]):
                at, kind, _, item = queue[0]
                if until is not None and at > until:
                    break
                queue.popleft()
            else:
                at, kind, _, item = heap[0]
                if until is not None and at > until:
                    break
                heapq.heappop(heap)
            if at > self.clock.now:
                self.clock.set(at)
            if kind == _DEADLINE:
                assert isinstance(item, tuple)
                req_id, timer_id = str(item[0]), str(item[1])
                rs = self.broker.state.requirements.get(req_id)
                if rs is None or rs.timer(timer_id) is None:
                    continue  # answered or cancelled before it came due
                item = cmd.FireDeadline(req_id, timer_id)
            assert isinstance(item, cmd.Command)
            if self.executed is not None:
                self.executed.append((self.clock.now, item))
            try:
                self.broker.execute(item, self.clock.now)
            except Rejected as exc:
                self.rejections.append(Rejection(self.clock.now, item, exc.code, str(exc)))
            if progress is not None:
                progress(self.clock.now)

    # --- reacting to the broker's events ------------------------------------------------

    def _observe(self, events: Sequence[ev.Event]) -> None:
        for e in events:
            if isinstance(e, ev.DeadlineSet):
                self._seq += 1
                heapq.heappush(
                    self._heap, (e.due, _DEADLINE, self._seq, (e.requirement_id, e.timer_id))
                )
            elif isinstance(e, ev.OfferSent):
                self._answer(e)
            elif isinstance(e, ev.PlacementMade) and e.placement.basis is Basis.HOLDER_ACCEPTED:
                self._book_holder_capacity(e)

    def _answer(self, offer: ev.OfferSent) -> None:
        holder = self.holders.get(offer.holder)
        if holder is None:
            return
        rs = self.broker.state.requirements[offer.requirement_id]
        priced = [line for line in offer.lines if line.provider is not None]
        best = min(priced, key=lambda line: line.unit_price or 0) if priced else None
        view = OfferView(
            offer_id=offer.offer_id,
            requirement=rs.requirement,
            gpus=offer.gpus,
            unit_price=best.unit_price if best else None,
            start=best.start if best else None,
            region=best.region if best else offer.lines[0].region,
            deadline=offer.deadline,
            min_increment=offer.min_increment,
            all_or_none=offer.all_or_none,
            sku=best.sku if best else offer.lines[0].sku,
        )
        answer = holder.answer(view, offer.at)
        if answer is None:
            return  # silence: the deadline will make it a deemed decline
        self.schedule(
            answer.respond_at,
            cmd.RespondToOffer(
                offer_id=offer.offer_id,
                by=offer.holder,
                accept_gpus=answer.accept_gpus,
                unit_price=answer.unit_price,
                start=answer.start,
                region=answer.region,
                sku=answer.sku,
                reason=answer.reason,
            ),
        )

    def _book_holder_capacity(self, e: ev.PlacementMade) -> None:
        # The holder took the GPUs from its own fleet: book them so later answers see it.
        p = e.placement
        port = self.holder_ports.get(p.provider)
        if port is not None:
            port.take(p.sku, p.region, p.gpus, p.id, p.requirement_id, p.start, p.end, e.at)
