"""A running API (in-process, over a SQLite file) with one key per role, for the API tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from rofr.api import Role, Settings, create_app, create_key
from rofr.broker import Market, VirtualClock
from rofr.contract import load_contract
from rofr.market import SimulatedProvider, load_inventory
from rofr.sim.demo import example_path

T0 = datetime(2025, 2, 3, 9, 0, tzinfo=UTC)  # a Monday under the 2025-01 first_look clause
KEYS = {
    "admin": ("ops", Role.ADMIN),
    "buyer": ("openai", Role.BUYER),
    "holder": ("azure", Role.PROVIDER),
    "rival": ("oracle", Role.PROVIDER),
    "auditor": ("auditor-1", Role.AUDITOR),
    "other_buyer": ("someone-else", Role.BUYER),
}


@dataclass
class Api:
    """The client, the clock and a header set per role name."""

    client: TestClient
    clock: VirtualClock
    headers: dict[str, dict[str, str]]

    def post(self, role: str, path: str, body: Any = None, **headers: str) -> Any:
        return self.client.post(path, json=body, headers={**self.headers[role], **headers})

    def get(self, role: str, path: str) -> Any:
        return self.client.get(path, headers=self.headers[role])


def spec(rid: str = "r1", gpus: int = 64, **more: Any) -> dict[str, Any]:
    """A requirement body that the 2025-01 first-refusal clause covers."""
    return {
        "id": rid, "skus": ["H100"], "gpus": gpus, "earliest_start": "2025-02-10T00:00Z",
        "latest_start": "2025-02-20T00:00Z", "duration_hours": 720, **more,
    }  # fmt: skip


def running_api(
    db: Path, *, market: bool = True, adopt: bool = True, fast: bool = True
) -> Iterator[Api]:
    """Start the app over ``db`` (lifespan on, background loops off; ``fast``: the fast path
    for submissions, see api/fast.py)."""
    clock = VirtualClock(T0)
    mk = None
    if market:
        inventory = load_inventory(example_path("inventory.yaml"))
        mk = Market({p.id: SimulatedProvider(p) for p in inventory.providers})
    app = create_app(str(db), clock, mk, Settings(background=False, fast_submit=fast))
    with TestClient(app) as client:
        service = app.state.service
        headers = {
            name: {"Authorization": f"Bearer {create_key(service.db, party, role, T0)[1]}"}
            for name, (party, role) in KEYS.items()
        }
        api = Api(client, clock, headers)
        if adopt:
            contract = load_contract(example_path("contract.yaml")).model_dump(mode="json")
            assert api.post("admin", "/v1/contract", contract).status_code == 201
        yield api
