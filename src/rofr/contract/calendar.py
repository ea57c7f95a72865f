"""Response windows: hours, or business days on a calendar with weekends, holidays and a zone.

A window of N business days that opens at time t closes at the same local wall-clock time on
the N-th following business day (as in "within five business days of the notice"). If the
notice arrives on a non-business day, counting starts from the next business day's start.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["Calendar", "Weekday", "Window"]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Calendar(BaseModel):
    """Which days count as business days, in which timezone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = Field("UTC", description="IANA zone, e.g. America/Los_Angeles")
    weekends: tuple[Weekday, ...] = ("sat", "sun")
    holidays: tuple[date, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (use an IANA name such as UTC)") from None
        return value

    def is_business_day(self, day: date) -> bool:
        """True when ``day`` is neither a weekend day nor a listed holiday."""
        return _WEEKDAYS[day.weekday()] not in self.weekends and day not in self.holidays


class Window(BaseModel):
    """A response window: exactly one of ``hours`` or ``business_days``, always positive."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hours: Annotated[int, Field(gt=0)] | None = None
    business_days: Annotated[int, Field(gt=0)] | None = None
    calendar: Calendar = Field(default_factory=lambda: Calendar(timezone="UTC"))

    @model_validator(mode="after")
    def _exactly_one(self) -> Window:
        if (self.hours is None) == (self.business_days is None):
            raise ValueError("give exactly one of hours or business_days")
        return self

    def deadline(self, opened: datetime) -> datetime:
        """When a window opened at ``opened`` closes (UTC)."""
        if self.hours is not None:
            return opened + timedelta(hours=self.hours)
        assert self.business_days is not None
        cal = self.calendar
        zone = ZoneInfo(cal.timezone)
        local = opened.astimezone(zone)
        first, day = _count_business_days(
            cal.weekends, cal.holidays, self.business_days, local.date()
        )
        if first != local.date():
            # Notice on a weekend or holiday: the clock starts at the next business day's start.
            local = datetime.combine(first, time(0, 0), tzinfo=zone)
        # Same wall-clock time, re-localised so a DST change in between is handled.
        closing = datetime.combine(day, local.time().replace(tzinfo=None)).replace(tzinfo=zone)
        return closing.astimezone(UTC)


# Every offer computes a deadline, and the simulator sends one per requirement: the day
# arithmetic depends only on the calendar, the count and the local day, so it is kept per
# day (a few hundred days per window over a simulated year; bounded all the same).
@functools.lru_cache(maxsize=4096)
def _count_business_days(
    weekends: tuple[Weekday, ...], holidays: tuple[date, ...], count: int, day: date
) -> tuple[date, date]:
    """(the day the count starts from, the ``count``-th business day after it) for a notice
    received on local ``day``: a notice on a non-business day counts from the next one."""
    calendar = Calendar(timezone="UTC", weekends=weekends, holidays=holidays)
    if not any(calendar.is_business_day(date(2024, 1, 1) + timedelta(d)) for d in range(7)):
        raise ValueError("the calendar has no business days")
    while not calendar.is_business_day(day):
        day += timedelta(days=1)
    first = day
    remaining = count
    while remaining > 0:
        day += timedelta(days=1)
        if calendar.is_business_day(day):
            remaining -= 1
    return first, day
