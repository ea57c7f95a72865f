"""A provider simulated from an inventory: quotes what it has free, takes reservations.

There is no wall clock and no randomness here: ``now`` is passed in, quote ids are a counter,
so the same calls in the same order give the same answers (the simulator and the tests rely on
it). Each (sku, region) is a pool with a ``CapacityTimeline``; reserved blocks (capacity the
buyer already paid for) are separate pools that are quoted with ``reserved=True``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from rofr.market.capacity import CapacityTimeline
from rofr.market.inventory import PriceEntry, ProviderSpec, load_inventory
from rofr.market.port import Refusal, Reservation
from rofr.values import Quote, Requirement, as_utc

__all__ = ["SimulatedProvider", "load_simulated_provider"]

Pool = tuple[str, str, bool]  # (sku, region, reserved)

# Expired quotes are kept a while so that a late reserve is refused as "expired", not "unknown".
_QUOTE_MEMORY = timedelta(days=7)
_PRUNE_EVERY = 4096


@dataclass(frozen=True, slots=True)
class _QuoteState:
    quote: Quote
    pool: Pool


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class SimulatedProvider:
    """A ``ProviderPort`` over an inventory entry. Not thread-safe; the server locks around it."""

    def __init__(self, spec: ProviderSpec) -> None:
        self.spec = spec
        steps: dict[Pool, list[tuple[date, int]]] = {}
        for change in spec.capacity:
            steps.setdefault((change.sku, change.region, False), []).append(
                (change.from_, change.gpus)
            )
        self._reserved_blocks = list(spec.reserved)
        for block in spec.reserved:
            pool = (block.sku, block.region, True)
            steps.setdefault(pool, []).extend([(block.start, block.gpus), (block.end, -block.gpus)])
        self._pools: dict[Pool, CapacityTimeline] = {
            pool: CapacityTimeline(changes) for pool, changes in sorted(steps.items())
        }
        self._quotes: dict[str, _QuoteState] = {}
        self._taken_by_quote: dict[str, int] = {}
        self._reservations: dict[str, Reservation] = {}
        self._cancelled: set[str] = set()
        self._counter = 0
        self._regions: dict[str, list[str]] = {}
        self._prices: dict[tuple[str, str, date], Decimal | None] = {}

    @property
    def provider_id(self) -> str:
        """The provider's id from the inventory."""
        return self.spec.id

    @property
    def reservations(self) -> dict[str, Reservation]:
        """Live reservations by id (a copy)."""
        return dict(self._reservations)

    def regions(self, sku: str) -> list[str]:
        """Regions where ``sku`` has (or will have) general capacity, sorted."""
        regions = self._regions.get(sku)
        if regions is None:
            # The pools are fixed at construction, so this is computed once per sku.
            regions = sorted({r for s, r, reserved in self._pools if s == sku and not reserved})
            self._regions[sku] = regions
        return list(regions)

    def free(
        self, sku: str, region: str, start: datetime, end: datetime, reserved: bool = False
    ) -> int:
        """GPUs free in every hour of ``[start, end)``; 0 for a pool that does not exist."""
        timeline = self._pools.get((sku, region, reserved))
        return 0 if timeline is None else timeline.free(as_utc(start), as_utc(end))

    def list_price(self, sku: str, region: str, at: datetime) -> Decimal | None:
        """The price in force at ``at``: an exact region beats ``"*"``, then the latest ``from``."""
        day = as_utc(at).date()
        key = (sku, region, day)
        if key in self._prices:  # the price list is fixed: one lookup per pool and day
            return self._prices[key]
        price = self._list_price(sku, region, day)
        self._prices[key] = price
        return price

    def _list_price(self, sku: str, region: str, day: date) -> Decimal | None:
        def rank(entry: PriceEntry) -> tuple[bool, date]:
            return (entry.region == region, entry.from_ or date.min)

        candidates = [
            entry
            for entry in self.spec.prices
            if entry.sku == sku
            and entry.region in (region, "*")
            and (entry.from_ is None or entry.from_ <= day)
        ]
        return max(candidates, key=rank).unit_price if candidates else None

    def _reserved_price(self, sku: str, region: str, start: datetime, end: datetime) -> Decimal:
        # Sunk cost of the buyer's own blocks; if several overlap, the dearest one is quoted.
        prices = [
            block.unit_price
            for block in self._reserved_blocks
            if block.sku == sku
            and block.region == region
            and _day_start(block.start) < end
            and _day_start(block.end) > start
        ]
        return max(prices, default=Decimal(0))

    def _priced_pools(
        self, skus: tuple[str, ...], regions: tuple[str, ...], start: datetime, end: datetime
    ) -> Iterator[tuple[Pool, int, Decimal]]:
        # The pools ``quote`` quotes, in order: (pool, GPUs free over [start, end), price).
        for pool, timeline in self._pools.items():
            sku, region, reserved = pool
            if sku not in skus:
                continue
            if regions and region not in regions:
                continue
            free = timeline.free(start, end)
            if free <= 0:
                continue
            if reserved:
                price: Decimal | None = self._reserved_price(sku, region, start, end)
            else:
                price = self.list_price(sku, region, start)
            if price is None:
                continue  # capacity with no price on the list is not for sale
            yield pool, free, price

    def quote(self, requirement: Requirement, now: datetime) -> list[Quote]:
        """One quote per matching pool with GPUs free over the whole requirement window
        ``[start, start + duration)``, where ``start = max(now, earliest_start)``."""
        now = as_utc(now)
        start = max(now, as_utc(requirement.earliest_start))
        if start > as_utc(requirement.latest_start):
            return []
        end = start + requirement.duration
        valid_until = now + timedelta(hours=self.spec.quote_validity_hours)
        quotes: list[Quote] = []
        for pool, free, price in self._priced_pools(
            requirement.skus, requirement.regions, start, end
        ):
            sku, region, reserved = pool
            self._counter += 1
            quote = Quote(
                id=f"{self.spec.id}-q{self._counter}",
                provider=self.spec.id,
                sku=sku,
                region=region,
                gpus=free,
                unit_price=price,
                earliest_start=start,
                valid_until=valid_until,
                requirement_id=requirement.id,
                reserved=reserved,
            )
            self._quotes[quote.id] = _QuoteState(quote, pool)
            quotes.append(quote)
        if self._counter % _PRUNE_EVERY < len(quotes):
            self._prune(now)
        return quotes

    def take(
        self,
        sku: str,
        region: str,
        gpus: int,
        reservation_id: str,
        requirement_id: str,
        start: datetime,
        end: datetime,
        now: datetime,
    ) -> Reservation | None:
        """Book GPUs the provider itself chose to give (a holder's acceptance, in the
        simulator): exactly what ``quote`` for this sku, region and interval followed by
        ``reserve`` on the first quote with room would do, quote numbering included, without
        building quotes nobody else sees. None if no pool has room (or it is too late)."""
        start, end, now = as_utc(start), as_utc(end), as_utc(now)
        if now > start:
            return None  # ``quote`` quotes nothing that starts in the past
        issued = 0
        booked: Reservation | None = None
        if reservation_id in self._reservations or reservation_id in self._cancelled:
            gpus = 0  # ``reserve`` would refuse (or return the existing one): quotes only
        for pool, free, price in self._priced_pools((sku,), (region,), start, end):
            self._counter += 1
            issued += 1
            if booked is None and 0 < gpus <= free and start < end:
                quote_id = f"{self.spec.id}-q{self._counter}"
                booked = self._book(pool, quote_id, price, gpus, reservation_id, requirement_id,
                                     start, end)  # fmt: skip
        if self._counter % _PRUNE_EVERY < issued:
            self._prune(now)
        return booked

    def _prune(self, now: datetime) -> None:
        horizon = now - _QUOTE_MEMORY
        for quote_id in [q for q, s in self._quotes.items() if s.quote.valid_until < horizon]:
            del self._quotes[quote_id]
            self._taken_by_quote.pop(quote_id, None)

    def reserve(
        self,
        quote_id: str,
        gpus: int,
        reservation_id: str,
        requirement_id: str,
        start: datetime,
        end: datetime,
        now: datetime,
    ) -> Reservation | Refusal:
        """Take ``gpus`` from a quote over ``[start, end)``. Asking again with the same
        ``reservation_id`` returns the same reservation and takes nothing more."""
        start, end, now = as_utc(start), as_utc(end), as_utc(now)
        existing = self._reservations.get(reservation_id)
        if existing is not None:
            same = (existing.quote_id, existing.gpus, existing.start, existing.end) == (
                quote_id,
                gpus,
                start,
                end,
            )
            return existing if same else Refusal("reservation id already used for other terms")
        if reservation_id in self._cancelled:
            return Refusal("reservation id was used for a reservation since cancelled")
        state = self._quotes.get(quote_id)
        if state is None:
            return Refusal(f"unknown quote {quote_id}")
        quote = state.quote
        if now > quote.valid_until:
            return Refusal(f"stale quote: valid until {quote.valid_until.isoformat()}")
        if gpus <= 0:
            return Refusal("gpus must be positive")
        if end <= start or start < quote.earliest_start:
            return Refusal("the interval must start at or after the quote's start and end later")
        taken = self._taken_by_quote.get(quote_id, 0)
        if taken + gpus > quote.gpus:
            return Refusal(f"quote {quote_id} has {quote.gpus - taken} GPUs left, asked {gpus}")
        timeline = self._pools[state.pool]
        free = timeline.free(start, end)
        if free < gpus:
            return Refusal(f"capacity gone: {free} GPUs free over the interval, asked {gpus}")
        self._taken_by_quote[quote_id] = taken + gpus
        return self._book(state.pool, quote_id, quote.unit_price, gpus, reservation_id,
                          requirement_id, start, end)  # fmt: skip

    def _book(
        self,
        pool: Pool,
        quote_id: str,
        unit_price: Decimal,
        gpus: int,
        reservation_id: str,
        requirement_id: str,
        start: datetime,
        end: datetime,
    ) -> Reservation:
        self._pools[pool].add(start, end, -gpus)
        sku, region, reserved = pool
        reservation = Reservation(
            id=reservation_id,
            provider=self.spec.id,
            quote_id=quote_id,
            requirement_id=requirement_id,
            sku=sku,
            region=region,
            gpus=gpus,
            unit_price=unit_price,
            start=start,
            end=end,
            reserved=reserved,
        )
        self._reservations[reservation_id] = reservation
        return reservation

    def cancel(self, reservation_id: str) -> bool:
        """Give the capacity back. Idempotent: cancelling again is still True; False only
        for an id never reserved here."""
        if reservation_id in self._cancelled:
            return True
        reservation = self._reservations.pop(reservation_id, None)
        if reservation is None:
            return False
        self._cancelled.add(reservation_id)
        pool = (reservation.sku, reservation.region, reservation.reserved)
        self._pools[pool].add(reservation.start, reservation.end, reservation.gpus)
        if reservation.quote_id in self._taken_by_quote:
            self._taken_by_quote[reservation.quote_id] -= reservation.gpus
        return True


def load_simulated_provider(inventory: str | Path, provider_id: str) -> SimulatedProvider:
    """Build the simulated provider ``provider_id`` from an inventory file."""
    return SimulatedProvider(load_inventory(inventory).provider(provider_id))
