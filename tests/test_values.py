"""Canonical JSON (the prebuilt encoder gives ``json.dumps``'s bytes; ``to_jsonable``'s
shortcuts give what its general path gives) and ``quick_init``'s records."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rofr import values
from rofr.engine import events as ev
from rofr.values import (
    Basis,
    Kind,
    Requirement,
    as_utc,
    canonical_bytes,
    canonical_json_bytes,
    to_jsonable,
)

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


def _dumps(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@settings(max_examples=300, deadline=None)
@given(_JSON)
def test_canonical_json_bytes_are_json_dumps_bytes(data: Any) -> None:
    assert canonical_json_bytes(data) == _dumps(data)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4))
def test_money_encodes_the_same_every_time(value: Decimal) -> None:
    first = to_jsonable(value)
    assert to_jsonable(value) == first
    assert to_jsonable([value, {"v": value}]) == [first, {"v": first}]


def test_enum_members_stay_their_text() -> None:
    for _ in range(2):  # the first call files the type, the second takes the shortcut
        assert to_jsonable([Basis.WAIVED, Kind.NEW]) == ["waived", "new"]
        assert canonical_bytes({"b": Basis.WAIVED, "a": Decimal("12.50")}) == (
            b'{"a":"12.50","b":"waived"}'
        )
        assert canonical_bytes(date(2025, 1, 2)) == b'"2025-01-02"'


def test_quick_init_builds_the_record_the_dataclass_init_builds() -> None:
    from dataclasses import dataclass

    from rofr.values import quick_init

    def make() -> Any:
        @dataclass(frozen=True, slots=True)
        class Base:
            at: int

        @dataclass(frozen=True, slots=True)
        class Record(Base):
            name: str
            tags: tuple[str, ...] = ()
            note: str | None = None

            def __post_init__(self) -> None:
                if not self.name:
                    raise ValueError("name must not be empty")

        return Record

    plain, quick = make(), quick_init(make())
    for args, kwargs in [
        ((1, "a"), {}),
        ((2, "b", ("x",)), {"note": "n"}),
        ((), {"at": 3, "name": "c"}),
    ]:
        assert repr(quick(*args, **kwargs)) == repr(plain(*args, **kwargs))
    with pytest.raises(ValueError, match="must not be empty"):
        quick(1, "")
    with pytest.raises(TypeError):
        quick(1)  # a missing argument is refused as by the dataclass's own __init__
    with pytest.raises(AttributeError):
        quick(1, "a").name = "b"  # type: ignore[misc]  # still frozen


def test_records_keep_their_validation() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="gpus must be positive"):
        Requirement("r", "b", ("H100",), 0, start, start, 1)
    line = ev.OfferLine(8, None, "H100", None, start)
    assert line == ev.OfferLine(gpus=8, unit_price=None, sku="H100", region=None, start=start)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2025, 1, 6, 9, 30, tzinfo=UTC), datetime(2025, 1, 6, 9, 30, tzinfo=UTC)),
        (datetime(2025, 1, 6, 9, 30, tzinfo=timezone(timedelta(hours=2))),
         datetime(2025, 1, 6, 7, 30, tzinfo=UTC)),
        (datetime(2025, 7, 1, 12, tzinfo=ZoneInfo("America/Chicago")),
         datetime(2025, 7, 1, 17, tzinfo=UTC)),
        (datetime(2025, 1, 6, tzinfo=UTC), datetime(2025, 1, 6, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_as_utc_gives_the_same_instant_in_utc(value: datetime, expected: datetime) -> None:
    got = as_utc(value)
    assert got == expected
    assert got.tzinfo is UTC
    assert to_jsonable(got) == expected.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_as_utc_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="no timezone"):
        as_utc(datetime(2025, 1, 6))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
            st.integers(-14 * 60, 14 * 60),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_time_text_is_the_utc_iso_text_however_often_asked(
    times: list[tuple[datetime, int]],
) -> None:
    # The remembered last text must never change a text: every time, in any zone, asked once
    # or again (the same object or an equal one), reads as its instant in UTC.
    for _ in range(2):
        for naive, minutes in times:
            value = naive.replace(tzinfo=timezone(timedelta(minutes=minutes)))
            expected = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
            assert values.time_text(value) == expected
            assert values.time_text(value) == expected
            assert to_jsonable(value) == expected
            assert to_jsonable(ev.DeadlineCancelled(at=value, requirement_id="r",
                               timer_id="t"))["at"] == expected  # fmt: skip
    with pytest.raises(ValueError, match="no timezone"):
        values.time_text(times[0][0])


_AWARE = st.tuples(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(-14 * 60, 14 * 60),
).map(lambda t: t[0].replace(tzinfo=timezone(timedelta(minutes=t[1]))))


@settings(max_examples=300, deadline=None)
@given(_AWARE, _AWARE)
def test_utc_text_orders_as_the_instants_it_names(a: datetime, b: datetime) -> None:
    # The SQL stores compare these texts as times: fixed width, in UTC, ordered as the instants.
    ta, tb = values.utc_text(a), values.utc_text(b)
    assert len(ta) == len(tb) == len("2025-01-06T09:00:00.000000Z")
    assert ta.endswith("Z")
    assert (ta < tb) == (a < b) and (ta == tb) == (a == b)
    assert datetime.fromisoformat(ta.replace("Z", "+00:00")) == a


def _records() -> list[Any]:
    start = datetime(2025, 1, 6, 9, tzinfo=UTC)
    req = Requirement("r1", "lab", ("H100", "H200"), 64, start, start + timedelta(days=2), 72,
                      max_unit_price=Decimal("9.50"), kind=Kind.RENEWAL)  # fmt: skip
    line = ev.OfferLine(64, Decimal("8.25"), "H100", "east", start, "oracle", "q1")
    offer = ev.OfferSent(at=start, requirement_id="r1", offer_id="r1/offer-1", holder="azure",
                         clause_id="fr", version_id="v1", mode="match", round=1, gpus=64,
                         lines=(line,), deadline=start + timedelta(days=1), min_increment=8,
                         all_or_none=False, content_hash="ab", reason="why")  # fmt: skip
    return [req, line, offer]


@pytest.mark.parametrize("record", _records(), ids=lambda r: type(r).__name__)
def test_records_pickle_and_copy_as_themselves(record: Any) -> None:
    import copy
    import pickle

    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        back = pickle.loads(pickle.dumps(record, protocol=protocol))
        assert back == record and type(back) is type(record)
    assert copy.copy(record) == record and copy.deepcopy(record) == record


def test_an_unpickled_record_is_checked_like_a_built_one() -> None:
    # A record pickles as the call that builds it, so a stored or sent record with a bad
    # value is refused on loading, as building it would be.
    import pickle

    cls, args = _records()[0].__reduce__()
    assert cls is Requirement and args[3] == 64

    class Tampered:
        def __reduce__(self) -> tuple[Any, ...]:
            return cls, (*args[:3], 0, *args[4:])

    with pytest.raises(ValueError, match="gpus must be positive"):
        pickle.loads(pickle.dumps(Tampered()))
