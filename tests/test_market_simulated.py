"""Simulated providers: capacity over time, quotes, reservations, idempotency, staleness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rofr.market import (
    Refusal,
    Reservation,
    SimulatedProvider,
    load_inventory,
)
from rofr.market.capacity import CapacityTimeline
from rofr.values import Requirement

INVENTORY = """\
providers:
  - id: acme
    name: Acme Cloud
    quote_validity_hours: 12
    capacity:
      - {sku: H100, region: east, gpus: 100, from: 2025-01-01}
      - {sku: H100, region: east, gpus: 50, from: 2025-03-01}
      - {sku: H100, region: west, gpus: 10, from: 2025-01-01}
      - {sku: GB200, region: east, gpus: 40, from: 2025-01-01}
      - {sku: GB200, region: east, gpus: -40, from: 2025-06-01}
    prices:
      - {sku: H100, region: "*", unit_price: 10.00}
      - {sku: H100, region: west, unit_price: 9.00}
      - {sku: H100, region: "*", unit_price: 8.00, from: 2025-04-01}
      - {sku: GB200, region: east, unit_price: 16.00}
    reserved:
      - {sku: H100, region: east, gpus: 20, start: 2025-01-01, end: 2025-02-01, unit_price: 2.5}
"""

T0 = datetime(2025, 1, 10, tzinfo=UTC)


def at(month: int, day: int = 1, hour: int = 0) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=UTC)


def provider() -> SimulatedProvider:
    return SimulatedProvider(load_inventory(INVENTORY).provider("acme"))


def requirement(
    skus: tuple[str, ...] = ("H100",),
    gpus: int = 10,
    start: datetime = T0,
    hours: int = 24,
    regions: tuple[str, ...] = (),
) -> Requirement:
    return Requirement(
        id="req-1",
        buyer="lab",
        skus=skus,
        gpus=gpus,
        earliest_start=start,
        latest_start=start + timedelta(days=30),
        duration_hours=hours,
        regions=regions,
    )


@pytest.mark.parametrize(
    ("sku", "region", "start", "end", "free"),
    [
        ("H100", "east", at(1, 5), at(1, 6), 100),
        ("H100", "east", at(3, 2), at(3, 3), 150),
        ("H100", "east", at(2, 27), at(3, 2), 100),  # the new site counts only from its date
        ("H100", "east", at(12, 31), at(12, 31, 5), 150),  # flat after the last change
        ("H100", "east", datetime(2024, 12, 31, tzinfo=UTC), at(1, 2), 0),  # before any site
        ("GB200", "east", at(5, 1), at(5, 2), 40),
        ("GB200", "east", at(5, 31), at(6, 2), 0),  # retired on June 1st
        ("H200", "east", at(5, 1), at(5, 2), 0),  # not sold here
    ],
    ids=[
        "first site",
        "after addition",
        "straddles addition",
        "far future",
        "before start",
        "gb200 live",
        "gb200 retired",
        "unknown sku",
    ],
)
def test_free_capacity_over_time(
    sku: str, region: str, start: datetime, end: datetime, free: int
) -> None:
    assert provider().free(sku, region, start, end) == free


@pytest.mark.parametrize(
    ("region", "when", "price"),
    [
        ("east", at(1, 5), "10.00"),
        ("west", at(1, 5), "9.00"),
        ("east", at(4, 2), "8.00"),
        ("west", at(4, 2), "9.00"),
    ],
    ids=["wildcard", "exact region beats wildcard", "dated change", "exact still wins"],
)
def test_list_price(region: str, when: datetime, price: str) -> None:
    assert provider().list_price("H100", region, when) == Decimal(price)


def test_quotes_one_per_pool_with_free_capacity_over_the_whole_window() -> None:
    quotes = provider().quote(requirement(skus=("H100", "GB200"), hours=24), T0)
    summary = {(q.sku, q.region, q.reserved): (q.gpus, q.unit_price) for q in quotes}
    assert summary == {
        ("H100", "east", False): (100, Decimal("10.00")),
        ("H100", "west", False): (10, Decimal("9.00")),
        ("H100", "east", True): (20, Decimal("2.5")),
        ("GB200", "east", False): (40, Decimal("16.00")),
    }
    assert all(q.valid_until == T0 + timedelta(hours=12) for q in quotes)
    assert all(q.earliest_start == T0 and q.provider == "acme" for q in quotes)
    assert len({q.id for q in quotes}) == len(quotes)


def test_quote_window_starts_now_when_earliest_start_has_passed() -> None:
    now = at(5, 31)
    # GB200 retires on June 1st, so a 48-hour window from now has nothing free.
    quotes = provider().quote(requirement(skus=("GB200",), start=at(5, 1), hours=48), now)
    assert quotes == []
    later = provider().quote(requirement(skus=("GB200",), start=at(2, 15), hours=1), at(3, 1))
    assert [(q.earliest_start, q.gpus) for q in later] == [(at(3, 1), 40)]


def test_quote_after_latest_start_is_empty() -> None:
    assert provider().quote(requirement(start=at(1, 1)), at(3, 1)) == []


def test_reservation_consumes_over_its_interval_and_releases_at_end() -> None:
    p = provider()
    quote = p.quote(requirement(regions=("east",)), T0)[0]
    result = p.reserve(quote.id, 60, "res-1", "req-1", T0, T0 + timedelta(hours=24), T0)
    assert isinstance(result, Reservation)
    assert p.free("H100", "east", T0, T0 + timedelta(hours=24)) == 40
    assert p.free("H100", "east", T0 + timedelta(hours=24), T0 + timedelta(hours=25)) == 100
    assert p.free("H100", "east", T0 - timedelta(hours=1), T0) == 100
    assert p.cancel("res-1") is True
    assert p.free("H100", "east", T0, T0 + timedelta(hours=24)) == 100
    assert p.cancel("res-1") is True  # idempotent: a retried cancel is not an error
    assert p.free("H100", "east", T0, T0 + timedelta(hours=24)) == 100  # released only once
    assert p.cancel("never-made") is False


def test_reserve_is_idempotent_on_reservation_id() -> None:
    p = provider()
    quote = p.quote(requirement(regions=("east",)), T0)[0]
    end = T0 + timedelta(hours=24)
    first = p.reserve(quote.id, 30, "res-1", "req-1", T0, end, T0)
    again = p.reserve(quote.id, 30, "res-1", "req-1", T0, end, T0 + timedelta(hours=1))
    assert again == first
    assert p.free("H100", "east", T0, end) == 70
    other = p.reserve(quote.id, 31, "res-1", "req-1", T0, end, T0)
    assert isinstance(other, Refusal) and "other terms" in other.reason


@pytest.mark.parametrize(
    ("gpus", "start_offset", "now_offset", "reason"),
    [
        (10, 0, 13, "stale quote"),
        (101, 0, 0, "GPUs left"),
        (0, 0, 0, "positive"),
        (10, -1, 0, "quote's start"),
    ],
    ids=["stale", "more than quoted", "zero", "before quoted start"],
)
def test_reserve_refusals(gpus: int, start_offset: int, now_offset: int, reason: str) -> None:
    p = provider()
    quote = p.quote(requirement(regions=("east",)), T0)[0]
    start = T0 + timedelta(hours=start_offset)
    now = T0 + timedelta(hours=now_offset)
    result = p.reserve(quote.id, gpus, "res-1", "req-1", start, start + timedelta(hours=5), now)
    assert isinstance(result, Refusal)
    assert reason in result.reason
    assert p.free("H100", "east", T0 - timedelta(hours=1), T0 + timedelta(hours=24)) == 100


def test_capacity_gone_since_the_quote_is_refused() -> None:
    p = provider()
    req = requirement(regions=("east",))
    first, second = p.quote(req, T0)[0], p.quote(req, T0)[0]
    end = T0 + timedelta(hours=24)
    assert isinstance(p.reserve(first.id, 80, "res-1", "req-1", T0, end, T0), Reservation)
    refused = p.reserve(second.id, 80, "res-2", "req-1", T0, end, T0)
    assert isinstance(refused, Refusal) and "capacity gone: 20" in refused.reason
    assert isinstance(p.reserve("nope", 1, "res-3", "req-1", T0, end, T0), Refusal)


def test_reserved_block_is_a_separate_pool() -> None:
    p = provider()
    quote = next(q for q in p.quote(requirement(), T0) if q.reserved)
    result = p.reserve(quote.id, 20, "res-1", "req-1", T0, T0 + timedelta(hours=24), T0)
    assert isinstance(result, Reservation) and result.reserved
    assert result.unit_price == Decimal("2.5")
    assert p.free("H100", "east", T0, T0 + timedelta(hours=24), reserved=True) == 0
    assert p.free("H100", "east", T0, T0 + timedelta(hours=24)) == 100


def test_quote_ids_are_deterministic() -> None:
    ids_a = [q.id for q in provider().quote(requirement(), T0)]
    ids_b = [q.id for q in provider().quote(requirement(), T0)]
    assert ids_a == ids_b == ["acme-q1", "acme-q2", "acme-q3"]


# --- invariants -------------------------------------------------------------------------------

actions = st.lists(
    st.tuples(
        st.booleans(),  # reserve (True) or cancel an earlier one (False)
        st.integers(min_value=0, max_value=24 * 200),  # start hour
        st.integers(min_value=1, max_value=24 * 60),  # duration hours
        st.integers(min_value=1, max_value=120),  # gpus
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(actions)
def test_random_reservations_never_overdraw_or_exceed_inventory(
    script: list[tuple[bool, int, int, int]],
) -> None:
    p = provider()
    base = at(1, 1)
    live: list[str] = []
    for n, (is_reserve, start_h, hours, gpus) in enumerate(script):
        if not is_reserve and live:
            assert p.cancel(live.pop(n % len(live)))
            continue
        start = base + timedelta(hours=start_h)
        end = start + timedelta(hours=hours)
        quote = p.quote(requirement(start=start, hours=hours, regions=("east",)), start)
        general = [q for q in quote if not q.reserved]
        before = p.free("H100", "east", start, end)
        if not general:
            assert before == 0
            continue
        result = p.reserve(general[0].id, gpus, f"r{n}", "req", start, end, start)
        if isinstance(result, Reservation):
            live.append(result.id)
            assert p.free("H100", "east", start, end) == before - gpus
        else:
            assert gpus > before
    # Check every day of the horizon against the inventory and the live reservations.
    for day in range(0, 270):
        start = base + timedelta(days=day)
        for hour in range(0, 24, 6):
            t = start + timedelta(hours=hour)
            capacity = 100 + (50 if t >= at(3, 1) else 0)
            used = sum(r.gpus for r in p.reservations.values() if r.start <= t < r.end)
            free = p.free("H100", "east", t, t + timedelta(hours=1))
            assert 0 <= free <= capacity
            assert free == capacity - used


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 2000), st.integers(-30, 50)), min_size=1, max_size=8),
    st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 900), st.integers(-5, 5)), max_size=30),
)
def test_timeline_matches_a_naive_hour_list(
    steps: list[tuple[int, int]], adds: list[tuple[int, int, int]]
) -> None:
    base = datetime(2025, 1, 1, tzinfo=UTC).date()
    timeline = CapacityTimeline([(base + timedelta(days=d // 24), g) for d, g in steps])
    horizon = 4000
    naive = [0] * horizon
    for d, g in steps:
        for h in range((d // 24) * 24 - (min(s[0] for s in steps) // 24) * 24, horizon):
            naive[h] += g
    for a, length, delta in adds:
        b = min(a + length, horizon)
        timeline.add_hours(a, b, delta)
        for h in range(a, b):
            naive[h] += delta
    for a in range(0, horizon - 1, 97):
        for length in (1, 5, 200, 1500):
            b = min(a + length, horizon)
            assert timeline.free_hours(a, b) == min(naive[a:b])


def _quote_then_reserve(
    p: SimulatedProvider,
    sku: str,
    region: str,
    gpus: int,
    rid: str,
    start: datetime,
    hours: int,
    now: datetime,
) -> Reservation | None:
    # What the simulator did before ``take``: quote exactly this sku, region and start, then
    # reserve on the first quote with room.
    probe = Requirement(
        id="req-1", buyer="b", skus=(sku,), gpus=gpus, earliest_start=start, latest_start=start,
        duration_hours=hours, regions=(region,),
    )  # fmt: skip
    for q in p.quote(probe, now):
        answer = p.reserve(q.id, gpus, rid, "req-1", start, start + timedelta(hours=hours), now)
        if isinstance(answer, Reservation):
            return answer
    return None


@pytest.mark.parametrize(
    ("sku", "region", "gpus", "start", "hours", "now"),
    [
        ("H100", "east", 10, at(1, 10), 24, at(1, 9)),  # general pool first, reserved one quoted
        ("H100", "east", 110, at(1, 10), 24, at(1, 9)),  # only the reserved pool is too small
        ("H100", "east", 500, at(1, 10), 24, at(1, 9)),  # nothing has room: quotes only
        ("H100", "west", 10, at(1, 10), 24, at(1, 11)),  # starts in the past: nothing
        ("GB200", "east", 40, at(5, 30), 72, at(5, 1)),  # runs into a retirement
        ("H100", "north", 1, at(1, 10), 24, at(1, 9)),  # no such pool
    ],
)
def test_take_books_what_quote_then_reserve_would(
    sku: str, region: str, gpus: int, start: datetime, hours: int, now: datetime
) -> None:
    old, new = provider(), provider()
    before = old.quote(requirement(), now), new.quote(requirement(), now)
    assert before[0] == before[1]
    expected = _quote_then_reserve(old, sku, region, gpus, "r-1", start, hours, now)
    got = new.take(sku, region, gpus, "r-1", "req-1", start, start + timedelta(hours=hours), now)
    assert got == expected
    assert new.reservations == old.reservations
    # The quote counter moved alike: the next quotes have the same ids and the same GPUs.
    assert new.quote(requirement(), now) == old.quote(requirement(), now)
    # The same id again takes nothing more, as reserve's idempotency would have it.
    assert new.take(sku, region, gpus, "r-1", "req-1", start, start + timedelta(hours=hours),
                    now) is None  # fmt: skip
    _quote_then_reserve(old, sku, region, gpus, "r-1", start, hours, now)
    assert new.quote(requirement(), now) == old.quote(requirement(), now)
