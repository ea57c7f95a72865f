"""A small contract and helpers for the ledger tests: one buyer ``b``, providers ``p1``, ``p2``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from rofr.engine import State, step
from rofr.engine import commands as cmd
from rofr.ledger import Book, PlacedRecord
from rofr.values import Basis, Kind, Placement, Requirement, parse_time

T0 = parse_time("2025-01-01")

CONTRACT: dict[str, Any] = {
    "name": "ledger-test",
    "parties": {
        "buyer": {"id": "b"},
        "providers": [{"id": "p1", "name": "Provider One"}, {"id": "p2"}],
        "others": [{"id": "panel"}],
    },
    "versions": [
        {
            "id": "v1",
            "effective_from": "2025-01-01",
            "clauses": [
                {
                    "id": "c1",
                    "type": "commitment",
                    "provider": "p1",
                    "amount": "10000",
                    "start": "2025-01-01",
                    "end": "2025-12-31",
                    "scope": {"kinds": ["new"]},
                    "counts_bases": ["holder_accepted", "window_expired"],
                    "milestones": [{"by": "2025-03-01", "amount": "100"}],
                },
                {
                    "id": "rs",
                    "type": "revenue_share",
                    "payer": "b",
                    "payee": "p1",
                    "rate": "0.1",
                    "cap": "25",
                    "ends_on": ["t"],
                },
                {
                    "id": "ent",
                    "type": "entitlement",
                    "grantee": "p1",
                    "grantor": "b",
                    "assets": ["ip"],
                    "end": "2026-01-01",
                    "ends_on": ["t"],
                },
                {
                    "id": "trig",
                    "type": "trigger",
                    "name": "t",
                    "declared_by": ["b"],
                    "confirm_by": ["panel"],
                    "quorum": 1,
                },
            ],
        }
    ],
}


def run(*commands: tuple[str, cmd.Command]) -> State:
    """The state after adopting CONTRACT at T0 and executing ``(time, command)`` pairs."""
    _, state = step(State(), cmd.AdoptContract(CONTRACT, by="b"), T0)
    for when, command in commands:
        _, state = step(state, command, parse_time(when))
    return state


def placed(
    pid: str,
    start: str,
    end: str,
    *,
    provider: str = "p1",
    gpus: int = 1,
    price: str = "1",
    basis: Basis = Basis.HOLDER_ACCEPTED,
    kind: Kind = Kind.NEW,
    decided: str | None = None,
) -> PlacedRecord:
    """A placement of its own one-off requirement, decided at ``decided`` (default: start)."""
    s, e = parse_time(start), parse_time(end)
    req = Requirement(
        id=f"r-{pid}", buyer="b", skus=("H100",), gpus=gpus, earliest_start=s, latest_start=s,
        duration_hours=max(1, int((e - s).total_seconds() // 3600)), kind=kind,
    )  # fmt: skip
    p = Placement(pid, req.id, provider, "H100", "eastus", gpus, Decimal(price), s, e, basis)
    when: datetime = parse_time(decided) if decided else s
    return PlacedRecord(p, req, when, "v1")


def book(*records: PlacedRecord, state: State | None = None) -> Book:
    """A book over ``state`` (default: just the contract) with these placements."""
    return Book(state or run(), tuple(records))
