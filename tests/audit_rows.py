"""Realistic event-log rows for the audit tests, built with the store's chain rule."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from rofr.store.chain import GENESIS, StoredEvent, chain_hash, record_bytes

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
_FLOW = ["RequirementSubmitted", "OfferSent", "HolderDeclined", "QuotesReceived", "Placed"]


def _data(kind: str, rng: random.Random, req: str, at: datetime) -> dict[str, Any]:
    price = Decimal(rng.randint(180, 420)) / Decimal(100)
    if kind == "RequirementSubmitted":
        return {
            "requirement_id": req,
            "sku": "H100",
            "gpus": rng.choice([8, 64, 512]),
            "max_unit_price": Decimal("4.50"),
            "latest_start": at + timedelta(days=7),
        }
    if kind == "OfferSent":
        return {"holder": "primary", "deadline": at + timedelta(hours=48), "terms": None}
    if kind == "HolderDeclined":
        return {"holder": "primary", "reason": "no capacity in eu-west"}
    if kind == "QuotesReceived":
        return {
            "quotes": [
                {"provider": p, "unit_price": price + i, "gpus": 64}
                for i, p in enumerate(["rival-a", "jv-build"])
            ]
        }
    return {"provider": "rival-a", "unit_price": price, "gpus": 64, "basis": "holder_declined",
            "notes": "ünïcode \"quoted\" and \\ backslash"}  # fmt: skip


def build_rows(n: int = 200, seed: int = 7) -> list[StoredEvent]:
    """``n`` chained rows over several requirement streams, in global position order."""
    rng = random.Random(seed)
    versions: dict[str, int] = {}
    rows: list[StoredEvent] = []
    prev = GENESIS
    for position in range(1, n + 1):
        stream = f"req-{rng.randint(1, 25):04d}"
        version = versions.get(stream, 0) + 1
        versions[stream] = version
        kind = _FLOW[(version - 1) % len(_FLOW)]
        at = START + timedelta(minutes=7 * position, microseconds=rng.randint(0, 999_999))
        data = _data(kind, rng, stream, at)
        digest = chain_hash(prev, record_bytes(position, stream, version, kind, data, at))
        rows.append(StoredEvent(position, stream, version, kind, data, at, prev, digest))
        prev = digest
    return rows
