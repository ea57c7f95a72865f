"""The broker's side of the provider protocol: ``HttpProvider``, a ``ProviderPort`` over HTTP.

A remote provider can be down, slow, or wrong. This adapter turns every such case into one
``ProviderUnavailable`` with a one-line reason, so the broker can skip the provider and record
why, and it retries only what is safe to retry:

- connect errors, timeouts, dropped connections and 5xx answers are retried with exponential
  backoff (``backoff_s``, doubled each time), at most ``retries`` times;
- a reservation carries the broker's ``reservation_id`` and the server treats a repeat as the
  same request, so a retried reserve whose first answer was lost cannot reserve twice;
- 4xx answers are never retried: asking again would get the same answer.

The ``now`` arguments of the port are not sent: a real provider judges staleness by its own
clock, as the reference server does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar
from urllib.parse import quote as quote_path

import httpx
from pydantic import BaseModel, ValidationError

from rofr.market.port import ProviderUnavailable, Refusal, Reservation
from rofr.market.protocol import (
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    CancelResponse,
    HealthResponse,
    QuotesRequest,
    QuotesResponse,
    RequirementWire,
    ReserveConfirmed,
    ReserveRefused,
    ReserveRequest,
)
from rofr.values import Quote, Requirement

__all__ = ["HttpProvider"]

ModelT = TypeVar("ModelT", bound=BaseModel)


class HttpProvider:
    """A provider reached over the v1 protocol at ``base_url`` (e.g. ``http://host:8700``)."""

    def __init__(
        self,
        provider_id: str,
        base_url: str,
        timeout_s: float = 2.0,
        retries: int = 2,
        backoff_s: float = 0.1,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._provider_id = provider_id
        self.retries = retries
        self.backoff_s = backoff_s
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=base_url,
            timeout=timeout_s,
            transport=transport,
            headers={PROTOCOL_HEADER: PROTOCOL_VERSION},
        )

    @property
    def provider_id(self) -> str:
        """The id the broker knows this provider by; its quotes must carry the same id."""
        return self._provider_id

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> HttpProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing -------------------------------------------------------------------------

    def _unavailable(self, reason: str) -> ProviderUnavailable:
        return ProviderUnavailable(self._provider_id, reason)

    def _send(self, method: str, path: str, body: BaseModel | None = None) -> httpx.Response:
        payload = None if body is None else body.model_dump(mode="json")
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                response = self._client.request(method, path, json=payload)
            except httpx.TimeoutException as exc:
                last = f"timed out ({type(exc).__name__})"
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if response.status_code < 500:
                    return response
                last = f"HTTP {response.status_code}"
        attempts = self.retries + 1
        raise self._unavailable(f"{method} {path}: {last} ({attempts} attempts)")

    def _parse(self, response: httpx.Response, model: type[ModelT], what: str) -> ModelT:
        try:
            data = response.json()
        except ValueError:
            raise self._unavailable(f"{what}: answer is not valid JSON") from None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "(body)"
            raise self._unavailable(
                f"{what}: answer does not match protocol v{PROTOCOL_VERSION}: "
                f"{where}: {error['msg']}"
            ) from None

    def _unexpected(self, response: httpx.Response, what: str) -> ProviderUnavailable:
        snippet = response.text[:120].replace("\n", " ")
        return self._unavailable(f"{what}: unexpected HTTP {response.status_code}: {snippet}")

    # --- the port -------------------------------------------------------------------------

    def health(self) -> HealthResponse:
        """The provider's health answer; raises ``ProviderUnavailable`` if it has none."""
        response = self._send("GET", "/v1/health")
        if response.status_code != 200:
            raise self._unexpected(response, "health")
        return self._parse(response, HealthResponse, "health")

    def quote(self, requirement: Requirement, now: datetime) -> list[Quote]:
        """Ask for quotes; every quote must be this provider's and well-formed."""
        body = QuotesRequest(requirement=RequirementWire.of(requirement))
        response = self._send("POST", "/v1/quotes", body)
        if response.status_code != 200:
            raise self._unexpected(response, "quotes")
        answer = self._parse(response, QuotesResponse, "quotes")
        quotes = [wire.to_value() for wire in answer.quotes]
        for quote in quotes:
            if quote.provider != self._provider_id:
                raise self._unavailable(f"quotes: got a quote for provider {quote.provider!r}")
        return quotes

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
        """Reserve from a quote; retried safely thanks to ``reservation_id``."""
        body = ReserveRequest(
            reservation_id=reservation_id,
            quote_id=quote_id,
            gpus=gpus,
            requirement_id=requirement_id,
            start=start,
            end=end,
        )
        response = self._send("POST", "/v1/reservations", body)
        if response.status_code == 409:
            return Refusal(self._parse(response, ReserveRefused, "reserve").reason)
        if response.status_code not in (200, 201):
            raise self._unexpected(response, "reserve")
        reservation = self._parse(response, ReserveConfirmed, "reserve").reservation.to_value()
        asked = (reservation_id, self._provider_id, quote_id, gpus)
        got = (reservation.id, reservation.provider, reservation.quote_id, reservation.gpus)
        if got != asked:
            raise self._unavailable(f"reserve: confirmed {got}, which is not what was asked")
        return reservation

    def cancel(self, reservation_id: str) -> bool:
        """Cancel a reservation; True also if it was already cancelled, False if unknown."""
        path = f"/v1/reservations/{quote_path(reservation_id, safe='')}"
        response = self._send("DELETE", path)
        if response.status_code == 404:
            return False
        if response.status_code != 200:
            raise self._unexpected(response, "cancel")
        self._parse(response, CancelResponse, "cancel")
        return True
