"""Events to plain JSON data and back, losslessly (Decimal and datetime survive as text).

The store keeps ``(type, data)``; replay decodes them here. Decoding is driven by the event
classes' type hints, resolved once per class.
"""

from __future__ import annotations

import types
import typing
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
    value = _decode(cls, data)
    assert isinstance(value, ev.Event)
    return value


@cache
def _hints(cls: type[Any]) -> dict[str, Any]:
    namespace = {**vars(ev), "Decimal": Decimal, "datetime": datetime}
    import rofr.values as values_module

    namespace.update(vars(values_module))
    return typing.get_type_hints(cls, globalns=namespace)


def _decode(tp: Any, raw: Any) -> Any:
    if raw is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(options[0], raw)
    if origin is tuple:
        inner = typing.get_args(tp)[0]
        return tuple(_decode(inner, item) for item in raw)
    if origin is dict or tp is dict:
        return dict(raw)
    if tp is Any:
        return raw
    if isinstance(tp, type):
        if tp is datetime:
            return parse_time(raw) if isinstance(raw, str) else raw
        if tp is Decimal:
            return Decimal(str(raw))
        if issubclass(tp, Enum):
            return tp(raw)
        if is_dataclass(tp):
            hints = _hints(tp)
            kwargs = {
                f.name: _decode(hints[f.name], raw[f.name])
                for f in fields(tp)
                if f.init and f.name in raw
            }
            return tp(**kwargs)
    return raw
