"""Value types shared by every layer: requirements, quotes, placements, money, time.

This module is the floor of the package: it imports nothing from rofr and does no I/O.
Everything here is immutable. Money is ``Decimal`` (never float); time is timezone-aware UTC.
"""

from __future__ import annotations

import copyreg
import json
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields, is_dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

__all__ = [
    "Basis",
    "Kind",
    "Placement",
    "Quote",
    "Requirement",
    "as_utc",
    "canonical_bytes",
    "canonical_json_bytes",
    "canonical_json_text",
    "parse_time",
    "quick_init",
    "time_text",
    "to_jsonable",
    "utc_text",
]


_C = TypeVar("_C", bound=type)


def quick_init(cls: _C) -> _C:
    """Give a frozen, slotted dataclass an ``__init__`` that stores each field through its
    slot's descriptor instead of ``object.__setattr__`` (which a frozen dataclass's own
    ``__init__`` calls per field): the same parameters, defaults and ``__post_init__`` call,
    the same record, in about two thirds of the time. The engine builds a dozen such records
    per requirement (events, placements, offer lines), so that is worth a few per cent of a
    simulation. A class with a field this does not handle keeps its own ``__init__``."""
    params: list[str] = []
    body: list[str] = []
    namespace: dict[str, Any] = {}
    for i, f in enumerate(fields(cls)):
        if not f.init or f.kw_only or f.default_factory is not MISSING:
            return cls
        descriptor = next(k.__dict__[f.name] for k in cls.__mro__ if f.name in k.__dict__)
        namespace[f"set{i}"] = descriptor.__set__
        if f.default is MISSING:
            params.append(f.name)
        else:
            namespace[f"default{i}"] = f.default
            params.append(f"{f.name}=default{i}")
        body.append(f"    set{i}(self, {f.name})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    exec(f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body or ["    pass"]), namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(cls, "__init__", init)  # noqa: B010 (mypy refuses assigning to a method)
    # Pickling (a simulation's facts coming back from a worker process) likewise: a slotted
    # dataclass's own ``__getstate__``/``__setstate__`` call ``fields()`` for every record,
    # which made a 100,000-requirement run's facts take seconds each way. This pickles the
    # record as the call ``cls(*values)``, so unpickling runs ``__init__`` (and its checks).
    # A subclass (there is none today) keeps the dataclass protocol.
    names = ", ".join(f"self.{f.name}" for f in fields(cls))
    namespace.update(cls=cls, newobj=vars(copyreg)["__newobj__"])
    exec(
        "def __reduce__(self):\n"
        "    if type(self) is cls:\n"
        f"        return cls, ({names}{',' if names else ''})\n"
        "    return newobj, (type(self),), self.__getstate__()\n",
        namespace,
    )
    reduce = namespace["__reduce__"]
    reduce.__qualname__ = f"{cls.__qualname__}.__reduce__"
    setattr(cls, "__reduce__", reduce)  # noqa: B010
    return cls


class Kind(StrEnum):
    """Why the buyer needs the capacity: first refusal usually covers only ``new``."""

    NEW = "new"
    RENEWAL = "renewal"
    EXPANSION = "expansion"


class Basis(StrEnum):
    """The contractual ground on which a placement was made (see DESIGN.md, "placement")."""

    HOLDER_ACCEPTED = "holder_accepted"
    HOLDER_DECLINED = "holder_declined"
    HOLDER_PARTIAL = "holder_partial"  # the holder took part; this is the remainder
    WINDOW_EXPIRED = "window_expired"
    WAIVED = "waived"
    OUT_OF_SCOPE = "out_of_scope"
    EXCLUSIVE = "exclusive"


def as_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; naive datetimes are refused because they are ambiguous."""
    tz = value.tzinfo
    if tz is UTC:
        return value  # already UTC (nearly every call): astimezone would copy it unchanged
    if tz is None:
        raise ValueError(f"datetime {value.isoformat()} has no timezone; write it with Z or +00:00")
    return value.astimezone(UTC)


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (``Z`` allowed) or a date (midnight UTC) into aware UTC."""
    text = text.strip()
    if len(text) == 10:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@quick_init
@dataclass(frozen=True, slots=True)
class Requirement:
    """What the buyer needs. ``skus`` lists acceptable accelerator types; an empty
    ``regions`` tuple means any region."""

    id: str
    buyer: str
    skus: tuple[str, ...]
    gpus: int
    earliest_start: datetime
    latest_start: datetime
    duration_hours: int
    max_unit_price: Decimal | None = None
    regions: tuple[str, ...] = ()
    workload_class: str = "training"
    product_surface: str | None = None
    kind: Kind = Kind.NEW
    splittable: bool = True
    customer_tags: tuple[str, ...] = ()
    min_chunk: int = 1
    max_providers: int | None = None

    def __post_init__(self) -> None:
        if self.gpus <= 0:
            raise ValueError("gpus must be positive")
        if self.duration_hours <= 0:
            raise ValueError("duration_hours must be positive")
        if self.latest_start < self.earliest_start:
            raise ValueError("latest_start is before earliest_start")
        if not self.skus:
            raise ValueError("skus must name at least one accelerator type")
        if self.max_unit_price is not None and self.max_unit_price < 0:
            raise ValueError("max_unit_price must not be negative")
        if self.min_chunk <= 0:
            raise ValueError("min_chunk must be positive")

    @property
    def duration(self) -> timedelta:
        return timedelta(hours=self.duration_hours)


@quick_init
@dataclass(frozen=True, slots=True)
class Quote:
    """A provider's terms for some quantity. ``unit_price`` is USD per GPU-hour."""

    id: str
    provider: str
    sku: str
    region: str
    gpus: int
    unit_price: Decimal
    earliest_start: datetime
    valid_until: datetime
    requirement_id: str | None = None
    reserved: bool = False  # capacity already paid for (priced at its sunk cost)

    def __post_init__(self) -> None:
        if self.gpus < 0:
            raise ValueError("quote gpus must not be negative")
        if self.unit_price < 0:
            raise ValueError("quote unit_price must not be negative")


@quick_init
@dataclass(frozen=True, slots=True)
class Placement:
    """Capacity bought for a requirement, with the contractual basis it was bought on."""

    id: str
    requirement_id: str
    provider: str
    sku: str
    region: str
    gpus: int
    unit_price: Decimal
    start: datetime
    end: datetime
    basis: Basis
    quote_id: str | None = None

    @property
    def cost(self) -> Decimal:
        hours = Decimal(int((self.end - self.start).total_seconds())) / Decimal(3600)
        return self.unit_price * self.gpus * hours


# --- canonical JSON -----------------------------------------------------------------------
# The hash chain and the audit export hash these bytes, so the encoding must never depend on
# dict order, float formatting or the local timezone.


# One generated encoder per dataclass (built on first use): the fields are read and the plain
# ones passed through inline, instead of a generic recursive call per field. Same output.
# Decimal and the StrEnum types are filed here too, once ``to_jsonable`` has met them.
_ENCODERS: dict[type, Callable[[Any], Any]] = {}


def _make_encoder(cls: type) -> Callable[[Any], dict[str, Any]]:
    names = [f.name for f in fields(cls)]
    body = ["def encode(obj):"]
    for i, name in enumerate(names):
        body.append(f"    v = obj.{name}")
        body.append("    t = type(v)")
        body.append(
            f"    a{i} = v if t is str or t is int or t is bool or v is None else "
            "time_text(v) if t is datetime else to_jsonable(v)"
        )
    body.append("    return {" + ", ".join(f"{n!r}: a{i}" for i, n in enumerate(names)) + "}")
    namespace: dict[str, Any] = {
        "to_jsonable": to_jsonable, "time_text": time_text, "datetime": datetime
    }  # fmt: skip
    exec("\n".join(body), namespace)
    encoder: Callable[[Any], dict[str, Any]] = namespace["encode"]
    _ENCODERS[cls] = encoder
    return encoder


# The latest time encoded and its text. The events of one decision share its time object
# (the engine's ``now``), so consecutive calls mostly ask for the same object again; an
# identity check costs far less than formatting (about 1 us: ``isoformat`` asks the zone for
# its offset). One (time, text) tuple, swapped whole, so threads never see a mixed pair.
_LAST_TIME: tuple[datetime | None, str] = (None, "")


def time_text(value: datetime) -> str:
    """An aware time as canonical text: ISO 8601 in UTC with ``Z`` (naive times refused)."""
    global _LAST_TIME
    last = _LAST_TIME
    if value is last[0]:
        return last[1]
    text = as_utc(value).isoformat().replace("+00:00", "Z")
    _LAST_TIME = (value, text)
    return text


def utc_text(value: datetime) -> str:
    """A time as fixed-width UTC text (always microseconds, always ``Z``), so that comparing
    the text in SQL compares the instants: ``...:00Z`` would otherwise sort after
    ``...:00.5Z``. The SQL stores and the service's tables keep their times in this form."""
    return as_utc(value).isoformat(timespec="microseconds").replace("+00:00", "Z")


def to_jsonable(value: Any) -> Any:
    """Turn values, events and commands into plain JSON data (Decimal and datetime as text)."""
    # Exact-type checks first: this runs for every field of every event the log stores, and
    # most values are already plain. ``bool`` is a subclass of ``int``, so it is listed too.
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    encoder = _ENCODERS.get(kind)
    if encoder is not None:
        return encoder(value)
    if kind is datetime:
        return time_text(value)
    if kind is dict:
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [to_jsonable(v) for v in value]
    # Money and enum members (``Basis``, ``Kind``) are in most records: from the second time
    # on, skip the slow path's chain of checks and go straight to the branch it takes.
    if kind is Decimal:
        _ENCODERS[kind] = _decimal_text
    elif issubclass(kind, StrEnum):
        _ENCODERS[kind] = _itself  # a str: the slow path passes it through as it is
    return _to_jsonable_slow(value)


def _decimal_text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


def _itself(value: Any) -> Any:
    return value


def _to_jsonable_slow(value: Any) -> Any:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, datetime):
        return time_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return _make_encoder(type(value))(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        items = [to_jsonable(v) for v in value]
        return sorted(items, key=json.dumps) if isinstance(value, frozenset | set) else items
    if isinstance(value, float):
        raise TypeError("floats are not allowed in canonical data; use Decimal")
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def canonical_bytes(value: Any) -> bytes:
    """Deterministic UTF-8 JSON: sorted keys, no spaces. The hash chain is computed over these."""
    return canonical_json_bytes(to_jsonable(value))


def canonical_json_bytes(data: Any) -> bytes:
    """``canonical_bytes`` for data that is already plain JSON (``to_jsonable`` output): the
    same bytes without walking the data again."""
    return _canonical_text(data).encode("utf-8")


def canonical_json_text(data: Any) -> str:
    """:func:`canonical_json_bytes` as text (what the SQL stores keep in their data column)."""
    return _canonical_text(data)


# What ``json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` builds
# on every call, built once (the same encoder, so the same bytes).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _make_canonical_text() -> Callable[[Any], str]:
    # ``JSONEncoder.encode`` also builds a new C encoder on every call, which costs as much
    # as encoding a small record (about 2 us; the log hashes one record per event). This
    # builds that encoder once, with the arguments ``encode`` passes for ``_CANONICAL``'s
    # settings, so the text is the same. The one difference: no circular-reference check
    # (the shared ``markers`` dict would outlive a failed call); ``to_jsonable`` output
    # cannot be circular. Without the C accelerator, the encoder's own method.
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _CANONICAL.encode
    encoder = make(None, _CANONICAL.default, json.encoder.encode_basestring, None,
                   ":", ",", True, False, True)  # fmt: skip

    def text(data: Any) -> str:
        return "".join(encoder(data, 0))

    return text


_canonical_text = _make_canonical_text()
