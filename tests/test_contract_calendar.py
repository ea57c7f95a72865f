"""Response windows: hours and business days (weekends, holidays, weekend notice, DST)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rofr.contract import Calendar, Window
from rofr.contract.calendar import Weekday

LA = "America/Los_Angeles"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# window, opened (UTC), expected deadline (UTC)
CASES = {
    "24-hours": (Window(hours=24), "2025-03-03T09:00", "2025-03-04T09:00"),
    "hours-ignore-weekends": (Window(hours=48), "2025-03-07T12:00", "2025-03-09T12:00"),
    "5-days-monday": (Window(business_days=5), "2025-03-03T09:00", "2025-03-10T09:00"),
    "across-weekend": (Window(business_days=2), "2025-03-06T15:00", "2025-03-10T15:00"),
    "across-holiday": (
        Window(business_days=1, calendar=Calendar(holidays=(utc("2025-02-17").date(),))),
        "2025-02-14T10:00",
        "2025-02-18T10:00",
    ),
    "notice-on-saturday": (Window(business_days=1), "2025-03-08T12:00", "2025-03-11T00:00"),
    "notice-on-holiday": (
        Window(business_days=1, calendar=Calendar(holidays=(utc("2025-03-10").date(),))),
        "2025-03-10T12:00",
        "2025-03-12T00:00",
    ),
    "dst-starts-la": (
        Window(business_days=1, calendar=Calendar(timezone=LA)),
        "2025-03-07T17:00",  # Friday 09:00 PST
        "2025-03-10T16:00",  # Monday 09:00 PDT
    ),
    "dst-ends-la": (
        Window(business_days=1, calendar=Calendar(timezone=LA)),
        "2025-10-31T16:00",  # Friday 09:00 PDT
        "2025-11-03T17:00",  # Monday 09:00 PST
    ),
    "example-contract-window": (
        Window(
            business_days=5,
            calendar=Calendar(timezone=LA, holidays=(utc("2025-02-17").date(),)),
        ),
        "2025-02-10T17:00",
        "2025-02-18T17:00",
    ),
    "sunday-is-a-workday": (
        Window(business_days=1, calendar=Calendar(weekends=("fri", "sat"))),
        "2025-03-06T08:00",  # Thursday
        "2025-03-09T08:00",  # Sunday
    ),
}


@pytest.mark.parametrize(("window", "opened", "expected"), list(CASES.values()), ids=list(CASES))
def test_deadline(window: Window, opened: str, expected: str) -> None:
    assert window.deadline(utc(opened)) == utc(expected)


def test_a_calendar_without_business_days_is_refused() -> None:
    window = Window(
        business_days=1,
        calendar=Calendar(weekends=("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
    )
    with pytest.raises(ValueError, match="no business days"):
        window.deadline(utc("2025-03-03T09:00"))


@pytest.mark.parametrize(
    "fields",
    [{}, {"hours": 0}, {"business_days": 0}, {"hours": 1, "business_days": 1}, {"hours": -2}],
    ids=["none", "zero-hours", "zero-days", "both", "negative"],
)
def test_bad_windows_are_refused(fields: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        Window(**fields)  # type: ignore[arg-type]


def _counted_day_by_day(window: Window, opened: datetime) -> datetime:
    # The rule written out plainly, one day at a time (what ``deadline`` caches per day).
    from datetime import time, timedelta
    from zoneinfo import ZoneInfo

    cal = window.calendar
    assert window.business_days is not None
    zone = ZoneInfo(cal.timezone)
    local = opened.astimezone(zone)
    day = local.date()
    if not cal.is_business_day(day):
        while not cal.is_business_day(day):
            day += timedelta(days=1)
        local = datetime.combine(day, time(0, 0), tzinfo=zone)
    remaining = window.business_days
    while remaining > 0:
        day += timedelta(days=1)
        remaining -= cal.is_business_day(day)
    closing = datetime.combine(day, local.time().replace(tzinfo=None)).replace(tzinfo=zone)
    return closing.astimezone(UTC)


@settings(max_examples=300, deadline=None)
@given(
    opened=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 1, 1)),
    days=st.integers(1, 12),
    zone=st.sampled_from(["UTC", LA, "Europe/Berlin", "Asia/Kolkata"]),
    weekends=st.sampled_from([("sat", "sun"), ("fri", "sat"), (), ("sun",)]),
    holidays=st.lists(st.dates(date(2024, 1, 1), date(2027, 2, 1)), max_size=40),
)
def test_deadline_matches_counting_day_by_day(
    opened: datetime,
    days: int,
    zone: str,
    weekends: tuple[Weekday, ...],
    holidays: list[date],
) -> None:
    calendar = Calendar(timezone=zone, weekends=weekends, holidays=tuple(holidays))
    window = Window(business_days=days, calendar=calendar)
    at = opened.replace(tzinfo=UTC)
    assert window.deadline(at) == _counted_day_by_day(window, at)
