"""Canonical JSON: the prebuilt encoder gives ``json.dumps``'s bytes, and ``to_jsonable``'s
shortcuts for money and enum members give what its general path gives."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rofr.values import Basis, Kind, canonical_bytes, canonical_json_bytes, to_jsonable

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
