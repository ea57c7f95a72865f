"""The broker against real provider processes (`rofr provider serve`) on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from rofr.broker import Broker, Market, VirtualClock
from rofr.contract import load_contract
from rofr.engine import commands as cmd
from rofr.engine import decode_event
from rofr.engine import events as ev
from rofr.engine.invariants import check_invariants
from rofr.market import HttpProvider, ProviderUnavailable
from rofr.sim.demo import example_path
from rofr.store import MemoryStore
from rofr.values import Kind, Requirement


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def providers() -> Iterator[dict[str, str]]:
    """coreweave and oracle as separate `rofr provider serve` processes."""
    procs: list[subprocess.Popen[bytes]] = []
    urls: dict[str, str] = {}
    for provider in ("coreweave", "oracle"):
        port = free_port()
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "rofr", "provider", "serve", "--inventory",
                 str(example_path("inventory.yaml")), "--provider", provider, "--port", str(port)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
        urls[provider] = f"http://127.0.0.1:{port}"
    try:
        for provider, url in urls.items():
            deadline = time.monotonic() + 30
            while True:
                try:
                    HttpProvider(provider, url, timeout_s=0.5, retries=0).health()
                    break
                except ProviderUnavailable:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        yield urls
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)


def renewal(req_id: str, gpus: int, now: datetime) -> Requirement:
    # A renewal is outside the first refusal (new capacity only), so it goes to the market.
    return Requirement(
        id=req_id, buyer="openai", skus=("H100",), gpus=gpus,
        earliest_start=now + timedelta(days=1), latest_start=now + timedelta(days=10),
        duration_hours=240, kind=Kind.RENEWAL, max_unit_price=Decimal("11"),
    )  # fmt: skip


def test_placement_over_http_with_a_provider_down(providers: dict[str, str]) -> None:
    # The servers judge quote staleness by their own (wall) clock, so the broker runs on
    # today's date too; the contract's 2025-01 version is re-dated to start before it.
    now = datetime.now(UTC).replace(microsecond=0)
    contract = load_contract(example_path("contract.yaml"))
    version = contract.version("2025-01-rofr").model_copy(
        update={"effective_from": now - timedelta(days=1)}
    )
    contract = contract.model_copy(update={"versions": (version,)})
    ports = {
        name: HttpProvider(name, url, timeout_s=2.0, retries=1) for name, url in providers.items()
    }
    ports["aws"] = HttpProvider("aws", f"http://127.0.0.1:{free_port()}", timeout_s=0.3, retries=0)
    clock = VirtualClock(now)
    broker = Broker(MemoryStore(), clock, Market(ports))
    broker.execute(cmd.AdoptContract(contract.model_dump(mode="json"), by="openai"))
    events = broker.execute(cmd.SubmitRequirement(renewal("r1", 2000, now)))
    rs = broker.state.requirements["r1"]
    assert rs.status.value == "fulfilled", rs
    assert {p.provider for p in rs.placed} <= {"coreweave", "oracle"}
    assert sum(p.gpus for p in rs.placed) == 2000
    recorded = [e for e in broker.store.read_all() if e.type == "QuotesRecorded"]
    reasons = {f["provider"]: f["reason"] for f in recorded[0].data["failures"]}
    # aws is down: skipped with the transport's reason; azure has no adapter in this market
    assert set(reasons) == {"aws", "azure"}
    assert reasons["azure"] == "no adapter configured for this provider"
    assert reasons["aws"]
    # the same reservation ids sent again do not place twice (idempotent on the server)
    for p in rs.placed:
        assert p.quote_id is not None
        again = ports[p.provider].reserve(
            p.quote_id, p.gpus, p.id, p.requirement_id, p.start, p.end, now
        )
        assert getattr(again, "id", None) == p.id
    logged = [decode_event(r.type, dict(r.data)) for r in broker.store.read_all()]
    assert check_invariants(logged) == []
    assert any(isinstance(e, ev.PlacementMade) for e in events) or rs.placed
