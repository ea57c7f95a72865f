"""A small typed client for the rofr HTTP API (``rofr --server URL ...`` uses it).

Every POST sends an ``Idempotency-Key`` (a fresh one unless the caller passes its own), so a
caller that retries after a timeout with the same key gets the first answer, not a duplicate.
Errors come back as :class:`RofrError` with the API's ``code``, ``message`` and ``field``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Self
from urllib.parse import quote

import httpx

__all__ = ["RofrClient", "RofrError"]


class RofrError(Exception):
    """An error answer from the API."""

    def __init__(self, status: int, code: str, message: str, field: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.field = field


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class RofrClient:
    """``RofrClient(base_url, api_key)``: one method per endpoint, JSON in and out."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)

    # --- plumbing ---------------------------------------------------------------------------

    def _check(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"code": "http_error", "message": response.text, "field": None}
            raise RofrError(
                response.status_code, str(body.get("code", "http_error")),
                str(body.get("message", response.text)), body.get("field"),
            )  # fmt: skip
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` and return the JSON answer."""
        return self._check(self._http.get(path, params=params or None))

    def post(self, path: str, body: Any = None, idempotency_key: str | None = None) -> Any:
        """POST ``body`` with an idempotency key and return the JSON answer."""
        key = idempotency_key or uuid.uuid4().hex
        clean = None if body is None else {k: _jsonable(v) for k, v in body.items()}
        return self._check(self._http.post(path, json=clean, headers={"Idempotency-Key": key}))

    # --- endpoints --------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``GET /health``."""
        return dict(self.get("/health"))

    def submit(self, spec: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        """Submit a requirement (the RequirementSpec form); returns its status."""
        return dict(self.post("/v1/requirements", spec, idempotency_key))

    def cancel(self, requirement_id: str, reason: str = "cancelled by the buyer") -> Any:
        """Withdraw a requirement."""
        return self.post(f"/v1/requirements/{quote(requirement_id)}/cancel", {"reason": reason})

    def requirement(self, requirement_id: str) -> dict[str, Any]:
        """Status, placements and events of one requirement."""
        return dict(self.get(f"/v1/requirements/{quote(requirement_id)}"))

    def requirements(self) -> list[dict[str, Any]]:
        """The requirements this key may see."""
        return list(self.get("/v1/requirements"))

    def offers(self, all: bool = False) -> list[dict[str, Any]]:
        """Open offers (or the latest of each requirement with ``all``)."""
        return list(self.get("/v1/offers", all=str(all).lower()))

    def offer(self, offer_id: str) -> dict[str, Any]:
        """One offer."""
        return dict(self.get(f"/v1/offers/{offer_id}"))

    def accept(
        self, offer_id: str, gpus: int | None = None, unit_price: Decimal | str | None = None,
        start: datetime | None = None, region: str | None = None, sku: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Accept all (``gpus=None``) or part of an offer at stated terms."""
        terms = {"gpus": gpus, "unit_price": unit_price, "start": start, "region": region,
                 "sku": sku}  # fmt: skip
        body = {k: v for k, v in terms.items() if v is not None}
        return dict(self.post(f"/v1/offers/{offer_id}/accept", body, idempotency_key))

    def decline(self, offer_id: str, reason: str = "", idempotency_key: str | None = None) -> Any:
        """Decline an offer."""
        return self.post(f"/v1/offers/{offer_id}/decline", {"reason": reason}, idempotency_key)

    def placements(self) -> list[dict[str, Any]]:
        """Placements this key may see."""
        return list(self.get("/v1/placements"))

    def quotes(self) -> list[dict[str, Any]]:
        """Quotes this key may see."""
        return list(self.get("/v1/quotes"))

    def waivers(self) -> list[dict[str, Any]]:
        """Waivers this key may see."""
        return list(self.get("/v1/waivers"))

    def grant_waiver(self, waiver: dict[str, Any]) -> Any:
        """Grant a waiver (its holder)."""
        return self.post("/v1/waivers", waiver)

    def revoke_waiver(self, waiver_id: str) -> Any:
        """Revoke a waiver."""
        return self.post(f"/v1/waivers/{quote(waiver_id)}/revoke")

    def triggers(self) -> list[dict[str, Any]]:
        """Declared triggers."""
        return list(self.get("/v1/triggers"))

    def declare(self, name: str, effective_at: datetime | None = None) -> Any:
        """Declare a trigger."""
        body = {} if effective_at is None else {"effective_at": effective_at}
        return self.post(f"/v1/triggers/{quote(name)}/declare", body)

    def confirm(self, name: str) -> Any:
        """Confirm a trigger."""
        return self.post(f"/v1/triggers/{quote(name)}/confirm", {})

    def contract(self) -> dict[str, Any]:
        """The contract with every version."""
        return dict(self.get("/v1/contract"))

    def adopt(self, contract: dict[str, Any]) -> Any:
        """Start the log under a contract (admin)."""
        return self.post("/v1/contract", contract)

    def amend(self, version: dict[str, Any]) -> Any:
        """Record a contract version (admin)."""
        return self.post("/v1/contract/versions", version)

    def events(self, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """Log rows after a position (auditor, admin)."""
        return list(self.get("/v1/events", after=after, limit=limit))

    def all_events(self, after: int = 0) -> list[dict[str, Any]]:
        """Every log row after a position, page by page."""
        rows: list[dict[str, Any]] = []
        while page := self.events(after, 10_000):
            rows.extend(page)
            after = int(page[-1]["position"])
        return rows

    def tick(self) -> int:
        """Fire due deadlines now (admin); returns how many fired."""
        return int(self.post("/v1/tick")["fired"])

    def create_key(self, party: str, role: str) -> dict[str, Any]:
        """A new API key (admin); the key is in this answer only."""
        return dict(self.post("/v1/keys", {"party": party, "role": role}))

    def set_webhook(self, party: str, url: str, secret: str | None = None) -> dict[str, Any]:
        """Register a party's webhook (admin)."""
        body = {"url": url} if secret is None else {"url": url, "secret": secret}
        return dict(self.post(f"/v1/webhooks/{quote(party)}", body))

    def deliveries(self) -> list[dict[str, Any]]:
        """The webhook delivery log (admin, auditor)."""
        return list(self.get("/v1/deliveries"))

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
