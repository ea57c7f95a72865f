"""The reference provider server: a ``SimulatedProvider`` behind the v1 provider protocol.

It is what a provider would run (or imitate) to sell to the broker, and what the tests and
demos talk to over real HTTP. The clock is injected, so a test can freeze it.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI, Request, Response

from rofr.market.port import Refusal
from rofr.market.protocol import (
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    CancelResponse,
    HealthResponse,
    NotFoundResponse,
    QuotesRequest,
    QuotesResponse,
    QuoteWire,
    ReservationWire,
    ReserveConfirmed,
    ReserveRefused,
    ReserveRequest,
)
from rofr.market.simulated import SimulatedProvider, load_simulated_provider

__all__ = ["create_app", "serve"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(provider: SimulatedProvider, clock: Callable[[], datetime] = _utc_now) -> FastAPI:
    """A FastAPI app serving ``provider`` under ``/v1``; ``clock`` gives the server's now."""
    app = FastAPI(
        title=f"rofr provider {provider.provider_id}",
        version=PROTOCOL_VERSION,
        description="Reference server of the rofr provider protocol v1.",
    )
    # FastAPI runs sync endpoints in a thread pool; the simulated provider is not thread-safe,
    # and a quote or reservation must see and change capacity as one step.
    lock = threading.Lock()

    @app.middleware("http")
    async def protocol_header(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers[PROTOCOL_HEADER] = PROTOCOL_VERSION
        return response

    @app.get("/v1/health")
    def health() -> HealthResponse:
        return HealthResponse(
            status="ok", provider=provider.provider_id, protocol=PROTOCOL_VERSION, time=clock()
        )

    @app.post("/v1/quotes")
    def quotes(body: QuotesRequest) -> QuotesResponse:
        with lock:
            found = provider.quote(body.requirement.to_value(), clock())
        return QuotesResponse(
            provider=provider.provider_id, quotes=[QuoteWire.of(q) for q in found]
        )

    @app.post(
        "/v1/reservations",
        status_code=201,
        responses={409: {"model": ReserveRefused, "description": "refused, with a reason"}},
    )
    def reserve(body: ReserveRequest, response: Response) -> ReserveConfirmed | ReserveRefused:
        with lock:
            result = provider.reserve(
                body.quote_id,
                body.gpus,
                body.reservation_id,
                body.requirement_id,
                body.start,
                body.end,
                clock(),
            )
        if isinstance(result, Refusal):
            response.status_code = 409
            return ReserveRefused(status="refused", reason=result.reason)
        return ReserveConfirmed(status="confirmed", reservation=ReservationWire.of(result))

    @app.delete(
        "/v1/reservations/{reservation_id}",
        responses={404: {"model": NotFoundResponse, "description": "never reserved here"}},
    )
    def cancel(reservation_id: str, response: Response) -> CancelResponse | NotFoundResponse:
        with lock:
            # A repeated DELETE (a retry after a lost answer) is still a success.
            done = provider.cancel(reservation_id)
        if not done:
            response.status_code = 404
            return NotFoundResponse(status="not_found", reason="no such reservation")
        return CancelResponse(status="cancelled", reservation_id=reservation_id)

    return app


def serve(
    inventory_path: str | Path, provider_id: str, host: str = "127.0.0.1", port: int = 8700
) -> None:
    """Run the reference server for one provider of an inventory until interrupted."""
    import uvicorn  # imported here: only the serving process needs it

    app = create_app(load_simulated_provider(inventory_path, provider_id))
    uvicorn.run(app, host=host, port=port, log_level="info")
