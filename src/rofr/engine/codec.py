"""Events to plain JSON data and back, losslessly (Decimal and datetime survive as text).

The store keeps ``(type, data)``; replay decodes them here. Decoding is driven by the event
classes' type hints, resolved once per class.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

from rofr.engine import events as ev
from rofr.values import parse_time, to_jsonable

__all__ = ["decode_event", "encode_event"]


def encode_event(event: ev.Event) -> tuple[str, dict[str, Any]]:
    """``(type name, JSON-ready data)`` for the store."""
    data = to_jsonable(event)
    assert isinstance(data, dict)
    return event.kind, data


def decode_event(kind: str, data: dict[str, Any]) -> ev.Event:
    """Rebuild an event from what ``encode_event`` produced."""
    try:
        cls = ev.ALL_EVENTS[kind]
    except KeyError:
        raise ValueError(f"unknown event type {kind!r}") from None
    value = _decoder(cls)(data)
    assert isinstance(value, ev.Event)
    return value


@cache
def _hints(cls: type[Any]) -> dict[str, Any]:
    namespace = {**vars(ev), "Decimal": Decimal, "datetime": datetime}
    import rofr.values as values_module

    namespace.update(vars(values_module))
    return typing.get_type_hints(cls, globalns=namespace)


Decoder = Callable[[Any], Any]


def _identity(raw: Any) -> Any:
    return raw


_DECODERS: dict[Any, Decoder] = {}


def _decoder(tp: Any) -> Decoder:
    """The decoder of ``tp`` (see :func:`_build`), built on first use."""
    found = _DECODERS.get(tp)
    if found is None:
        found = _DECODERS[tp] = _build(tp)
    return found


def _build(tp: Any) -> Decoder:
    """A function that rebuilds a value of type ``tp`` from its JSON form (``None`` stays
    ``None``). Built once per type from its hints, so that a server folding half a million
    events at start does not walk the type hints again for every field of every event (that
    walk was two thirds of the fold)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decoder(options[0])
    if origin is tuple:
        item = _decoder(typing.get_args(tp)[0])
        return lambda raw: None if raw is None else tuple([item(x) for x in raw])
    if origin is dict or tp is dict:
        return lambda raw: None if raw is None else dict(raw)
    if tp is Any or not isinstance(tp, type):
        return _identity
    if tp is datetime:
        return lambda raw: parse_time(raw) if isinstance(raw, str) else raw
    if tp is Decimal:
        return lambda raw: None if raw is None else Decimal(str(raw))
    if issubclass(tp, Enum):
        return lambda raw: None if raw is None else tp(raw)
    if is_dataclass(tp):
        return _dataclass_decoder(tp)
    return _identity


def _dataclass_decoder(cls: Any) -> Decoder:
    hints = _hints(cls)
    # Field decoders are looked up when first used: a class may refer to itself (or to a
    # class that refers back), and _decoder(cls) is only stored once this returns.
    names = [f.name for f in fields(cls) if f.init]
    decoders: list[tuple[str, Decoder]] = []

    def decode(raw: Any) -> Any:
        if raw is None:
            return None
        if not decoders:
            decoders.extend((name, _decoder(hints[name])) for name in names)
        return cls(**{name: d(raw[name]) for name, d in decoders if name in raw})

    return decode
