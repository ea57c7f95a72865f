"""The broker's side of the market: quotes from, and reservations with, provider ports."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from datetime import datetime

from rofr.market import ProviderPort, ProviderUnavailable, Refusal, SimulatedProvider
from rofr.market.port import gather_quotes
from rofr.values import Placement, Quote, Requirement

__all__ = ["Market"]


class Market:
    """Provider ports by id. A provider with no port is skipped with that reason."""

    def __init__(self, ports: Mapping[str, ProviderPort]) -> None:
        self.ports = dict(ports)

    def gather(
        self, requirement: Requirement, providers: Iterable[str], now: datetime
    ) -> tuple[tuple[Quote, ...], tuple[tuple[str, str], ...]]:
        """Quotes from ``providers`` for ``requirement``, and (provider, reason) failures."""
        ports: list[ProviderPort] = []
        failures: dict[str, str] = {}
        for provider in providers:
            port = self.ports.get(provider)
            if port is None:
                failures[provider] = "no adapter configured for this provider"
            else:
                ports.append(port)
        if all(isinstance(p, SimulatedProvider) for p in ports):
            # In-process providers answer in microseconds; threads would only add overhead.
            quotes: list[Quote] = []
            for port in ports:
                quotes.extend(port.quote(requirement, now))
        else:
            quotes, more = gather_quotes(ports, requirement, now)
            failures.update(more)
        return tuple(quotes), tuple(sorted(failures.items()))

    def reserve(self, placement: Placement, now: datetime) -> tuple[bool, str]:
        """Reserve a placement with its provider: (confirmed, reason if not)."""
        port = self.ports.get(placement.provider)
        if port is None or placement.quote_id is None:
            return False, "no adapter configured for this provider"
        try:
            answer = port.reserve(
                placement.quote_id,
                placement.gpus,
                placement.id,
                placement.requirement_id,
                placement.start,
                placement.end,
                now,
            )
        except ProviderUnavailable as exc:
            return False, f"provider unavailable: {exc.reason}"
        if isinstance(answer, Refusal):
            return False, answer.reason
        return True, ""

    def cancel(self, provider: str, placement_id: str) -> None:
        """Release a reservation; a provider that is down is told nothing (it expires)."""
        port = self.ports.get(provider)
        if port is None:
            return
        with contextlib.suppress(ProviderUnavailable):
            port.cancel(placement_id)
