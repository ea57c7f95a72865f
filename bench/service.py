"""Service bench: submissions/s and p50/p99 latency over loopback (SQLite, PostgreSQL), and
how late pending deadlines fire. Runs outside CI:

    .venv/bin/python bench/service.py --requests 2000 --concurrency 16 [--postgres URL]
    .venv/bin/python bench/service.py --deadlines 100000 --spread 100

The load comes from a second process (multiprocessing) with a thread pool of HTTP clients.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from rofr.api import Role, ServiceDb, create_key
from rofr.broker import Broker, VirtualClock
from rofr.client import RofrClient
from rofr.contract import load_contract
from rofr.engine import commands as cmd
from rofr.sim.demo import example_path
from rofr.store import open_store
from rofr.values import Requirement
from service_kit import T0, Server


def _spec(i: int) -> dict[str, object]:
    return {"id": f"b{i}", "skus": ["H100"], "gpus": 8, "earliest_start": "2025-03-01T00:00Z",
            "latest_start": "2025-06-01T00:00Z", "duration_hours": 24, "kind": "renewal"}  # fmt: skip


def _load(base: str, key: str, n: int, concurrency: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    clients = [RofrClient(base, key) for _ in range(concurrency)]

    def one(i: int) -> float:
        started = time.perf_counter()
        clients[i % concurrency].submit(_spec(i))
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(one, range(n)))
    out.put((time.perf_counter() - started, latencies))


def submissions(url: str, workdir: Path, n: int, concurrency: int) -> None:
    store = open_store(url)
    contract = load_contract(example_path("contract.yaml"))
    Broker(store, lambda: T0).execute(
        cmd.AdoptContract(contract.model_dump(mode="json"), "openai"), T0
    )
    store.close()
    db = ServiceDb(url)
    key = create_key(db, "openai", Role.BUYER, T0)[1]
    db.close()
    server = Server(workdir, url, f"{T0.isoformat()},{time.time()},1")
    server.start()
    try:
        queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
        proc = multiprocessing.Process(target=_load, args=(server.base, key, n, concurrency, queue))
        proc.start()
        elapsed, latencies = queue.get()
        proc.join()
    finally:
        server.stop()
    ms = sorted(x * 1000 for x in latencies)
    print(f"{url.split(':')[0]:<10} {n} submissions, {concurrency} clients: "
          f"{n / elapsed:,.0f}/s  p50 {statistics.median(ms):.1f} ms  "
          f"p99 {ms[int(len(ms) * 0.99) - 1]:.1f} ms")  # fmt: skip


def deadlines(n: int, spread_s: float) -> None:
    """n first-refusal offers whose windows close spread over ``spread_s`` seconds; the fire
    loop runs against the wall clock; prints how late each deadline fired."""
    clock = VirtualClock(T0)
    broker = Broker(open_store("memory"), clock)
    contract = load_contract(example_path("contract.yaml"))
    broker.execute(cmd.AdoptContract(contract.model_dump(mode="json"), "openai"), T0)
    for i in range(n):
        req = Requirement(id=f"d{i}", buyer="openai", skus=("H100",), gpus=8,
                          earliest_start=T0 + timedelta(days=30), latest_start=T0 + timedelta(days=90),
                          duration_hours=24)  # fmt: skip
        clock.now = T0 + timedelta(seconds=spread_s * i / n)  # offers opened over the spread
        broker.execute(cmd.SubmitRequirement(req), clock.now)
    offers = [rs.offer for rs in broker.state.requirements.values() if rs.offer is not None]
    first_due = min(o.deadline for o in offers)
    lateness: list[float] = []
    wall0 = time.monotonic()
    pending = sorted(offers, key=lambda o: o.deadline)
    k = 0
    while k < len(pending):
        now = first_due + timedelta(seconds=time.monotonic() - wall0)
        broker.fire_due(now)
        real = first_due + timedelta(seconds=time.monotonic() - wall0)
        while k < len(pending) and pending[k].deadline <= now:
            lateness.append((real - pending[k].deadline).total_seconds())
            k += 1
    lateness.sort()
    print(f"{len(lateness)} deadlines over {spread_s:.0f} s: late p50 {statistics.median(lateness):.3f} s, "
          f"p99 {lateness[int(len(lateness) * 0.99) - 1]:.3f} s, max {lateness[-1]:.3f} s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--postgres", default=None, help="also run against this database URL")
    parser.add_argument("--deadlines", type=int, default=0)
    parser.add_argument("--spread", type=float, default=100.0)
    args = parser.parse_args()
    if args.requests:
        with tempfile.TemporaryDirectory() as tmp:
            submissions(f"sqlite:///{tmp}/bench.db", Path(tmp), args.requests, args.concurrency)
        if args.postgres:
            with tempfile.TemporaryDirectory() as tmp:
                submissions(args.postgres, Path(tmp), args.requests, args.concurrency)
    if args.deadlines:
        deadlines(args.deadlines, args.spread)


if __name__ == "__main__":
    main()
