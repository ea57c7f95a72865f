"""What the broker needs from a provider, whatever sits behind it (a simulation or HTTP).

``ProviderPort`` is the one interface; ``SimulatedProvider`` and ``HttpProvider`` implement it.
A port answers a reservation with a ``Reservation`` or a ``Refusal`` (the provider said no, with
a reason); it raises ``ProviderUnavailable`` when it cannot give an answer at all (down, slow,
or talking nonsense), so the broker can skip that provider and record why.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from rofr.values import Quote, Requirement, quick_init

__all__ = ["ProviderPort", "ProviderUnavailable", "Refusal", "Reservation", "gather_quotes"]


@quick_init
@dataclass(frozen=True, slots=True)
class Reservation:
    """Capacity a provider has set aside for a requirement over ``[start, end)``.

    ``id`` is chosen by the broker, so a retried request cannot reserve twice.
    """

    id: str
    provider: str
    quote_id: str
    requirement_id: str
    sku: str
    region: str
    gpus: int
    unit_price: Decimal
    start: datetime
    end: datetime
    reserved: bool = False  # drawn from capacity the buyer had already paid for


@dataclass(frozen=True, slots=True)
class Refusal:
    """A provider's "no" to a reservation, with its reason (stale quote, capacity gone...)."""

    reason: str


class ProviderUnavailable(Exception):
    """The provider gave no usable answer; ``reason`` is one line saying why."""

    def __init__(self, provider_id: str, reason: str) -> None:
        self.provider_id = provider_id
        self.reason = reason
        super().__init__(f"provider {provider_id} unavailable: {reason}")


@runtime_checkable
class ProviderPort(Protocol):
    """A provider as the broker sees it. ``now`` is the broker's clock (virtual in the sim)."""

    @property
    def provider_id(self) -> str:
        """The provider's id as written in contracts and inventories."""
        ...

    def quote(self, requirement: Requirement, now: datetime) -> list[Quote]:
        """Terms for the requirement's window; an empty list if nothing fits."""
        ...

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
        """Take ``gpus`` from a quote over ``[start, end)``; idempotent on ``reservation_id``."""
        ...

    def cancel(self, reservation_id: str) -> bool:
        """Release a reservation; False if the provider does not know it."""
        ...


def gather_quotes(
    ports: Sequence[ProviderPort], requirement: Requirement, now: datetime, max_workers: int = 8
) -> tuple[list[Quote], dict[str, str]]:
    """Ask every port for quotes at once; return the quotes (in port order) and, for each
    provider that could not answer, the reason. Other exceptions are bugs and propagate."""

    def ask(port: ProviderPort) -> list[Quote] | ProviderUnavailable:
        try:
            return port.quote(requirement, now)
        except ProviderUnavailable as exc:
            return exc

    quotes: list[Quote] = []
    failures: dict[str, str] = {}
    if not ports:
        return quotes, failures
    # Threads, because each remote port spends its time waiting on the network.
    with ThreadPoolExecutor(max_workers=min(max_workers, len(ports))) as pool:
        answers = list(pool.map(ask, ports))
    for port, answer in zip(ports, answers, strict=True):
        if isinstance(answer, ProviderUnavailable):
            failures[port.provider_id] = answer.reason
        else:
            quotes.extend(answer)
    return quotes, failures
