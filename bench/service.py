"""Service bench: submissions/s and p50/p99 latency over loopback (SQLite, PostgreSQL), and
how late pending deadlines fire. Runs outside CI, one command:

    .venv/bin/python bench/service.py [--requests 4000 --concurrency 16] [--postgres URL]
    .venv/bin/python bench/service.py --requests 0 --deadlines 100000 --spread 100 [--postgres URL]

The server is a real ``rofr serve`` subprocess; the load comes from a second process: one
asyncio loop keeping ``concurrency`` keep-alive HTTP/1.1 connections busy (a lean client, so
that on a 2-core machine the bench measures the server rather than httpx). The baseline,
measured in the same run with the same client, is ``GET /health`` on the same server: every
figure is printed with its ratio to that ceiling of the HTTP stack. The PostgreSQL URL defaults
to ``ROFR_TEST_POSTGRES_URL``; each run works in a fresh schema, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


import service_kit
from rofr.api import Role, ServiceDb, create_key
from rofr.api.commit import decide_and_append_many
from rofr.broker import Broker
from rofr.contract import load_contract
from rofr.engine import commands as cmd
from rofr.sim.demo import example_path
from rofr.store import open_store
from rofr.values import Requirement
from service_kit import T0


class Server(service_kit.Server):
    """``rofr serve`` in a subprocess (tests/service_kit.Server), with its CPU time."""

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the server and its worker processes (from /proc): a
        figure that, unlike the rate, hardly moves with other load on the machine."""
        if self.proc is None:
            return 0.0
        tick = os.sysconf("SC_CLK_TCK")
        family = {self.proc.pid}
        total = 0.0
        for stat in sorted(Path("/proc").glob("[0-9]*/stat")):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, ppid = int(stat.parent.name), int(fields[1])
            if pid in family or ppid in family:
                family.add(pid)
                total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        return total


def _spec(i: int) -> dict[str, object]:
    return {"id": f"b{i}", "skus": ["H100"], "gpus": 8, "earliest_start": "2025-03-01T00:00Z",
            "latest_start": "2025-06-01T00:00Z", "duration_hours": 24, "kind": "renewal"}  # fmt: skip


def _request(port: int, key: str, i: int | None) -> bytes:
    if i is None:
        return f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    body = json.dumps(_spec(i)).encode()
    return (
        f"POST /v1/requirements HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {key}\r\nIdempotency-Key: {uuid.uuid4().hex}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _drive(port: int, key: str, n: int, concurrency: int, health: bool, first: int
                 ) -> tuple[float, list[float], int]:  # fmt: skip
    latencies: list[float] = []
    errors = 0
    counter = iter(range(first, first + n))

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in counter:
            started = time.perf_counter()
            writer.write(_request(port, key, None if health else i))
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))  # fmt: skip
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            errors += head.split(b" ", 2)[1] not in (b"200", b"201")
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, errors


def _load(port: int, key: str, n: int, concurrency: int, health: bool, first: int,
          out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]  # fmt: skip
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    out.put(asyncio.run(_drive(port, key, n, concurrency, health, first)))


@contextmanager
def _database(kind: str, postgres: str | None, workdir: Path) -> Iterator[str]:
    """A fresh database: a SQLite file, or a new schema of the PostgreSQL database."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir}/bench.db"
        return
    import psycopg

    assert postgres is not None
    schema = f"bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        sep = "&" if "?" in postgres else "?"
        yield f"{postgres}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(postgres, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _prepare(url: str) -> str:
    """Adopt the example contract and make a buyer key; returns the key."""
    store = open_store(url)
    contract = load_contract(example_path("contract.yaml"))
    Broker(store, lambda: T0).execute(
        cmd.AdoptContract(contract.model_dump(mode="json"), "openai"), T0
    )
    store.close()
    db = ServiceDb(url)
    key = create_key(db, "openai", Role.BUYER, T0)[1]
    db.close()
    return key


def _run_load(server: Server, key: str, n: int, concurrency: int, health: bool, first: int = 0
              ) -> tuple[float, list[float], int, float]:  # fmt: skip
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    port = int(server.base.rsplit(":", 1)[1])
    proc = multiprocessing.Process(
        target=_load, args=(port, key, n, concurrency, health, first, queue)
    )
    cpu = server.cpu_seconds()
    proc.start()
    result: tuple[float, list[float], int] = queue.get()
    proc.join()
    return (*result, server.cpu_seconds() - cpu)


def _line(label: str, n: int, result: tuple[float, list[float], int, float],
          base: float | None) -> float:  # fmt: skip
    elapsed, latencies, errors, cpu = result
    ms = sorted(x * 1000 for x in latencies)
    rate = n / elapsed
    ratio = f"  ({rate / base:.2f}x GET /health)" if base else ""
    failed = f"  {errors} NOT 2xx" if errors else ""
    print(f"{label:<34} {rate:>7,.0f}/s  p50 {statistics.median(ms):6.1f} ms  "
          f"p99 {ms[int(len(ms) * 0.99) - 1]:6.1f} ms  server CPU {cpu * 1e6 / n:5.0f} us/req{ratio}{failed}",
          flush=True)  # fmt: skip
    return rate


def submissions(kind: str, postgres: str | None, n: int, concurrency: int, workers: int) -> None:
    """Submissions/s over loopback against ``rofr serve`` on a fresh database."""
    with tempfile.TemporaryDirectory() as tmp, _database(kind, postgres, Path(tmp)) as url:
        key = _prepare(url)
        server = Server(Path(tmp), url, f"{T0.isoformat()},{time.time()},1", workers=workers)
        server.start()
        try:
            _run_load(server, key, 200, concurrency, health=False, first=10**6)  # warm-up
            base = _line(f"{kind} GET /health, {workers} worker(s)", n,
                         _run_load(server, key, n, concurrency, health=True), None)  # fmt: skip
            _line(f"{kind} submit, {concurrency} clients, {workers} w", n,
                  _run_load(server, key, n, concurrency, health=False), base)  # fmt: skip
        finally:
            server.stop()


def deadlines(kind: str, postgres: str | None, n: int, spread_s: float, workers: int) -> None:
    """``n`` pending first-refusal deadlines, due spread over ``spread_s`` seconds, fired by
    the timer loop of a real ``rofr serve`` (its clock runs at wall speed); prints how late
    each fired: the ``recorded_at`` of its DeadlineReached (the moment its group was decided)
    minus its due time. The baseline is the timer loop's period (``--tick-ms``)."""
    with tempfile.TemporaryDirectory() as tmp, _database(kind, postgres, Path(tmp)) as url:
        _prepare(url)
        store = open_store(url)
        broker = Broker(store, lambda: T0)
        started = time.perf_counter()
        group = 100  # submissions per transaction while setting up (setup speed only)
        for first in range(0, n, group):
            at = T0 + timedelta(seconds=spread_s * first / n)
            commands = [cmd.SubmitRequirement(Requirement(
                id=f"d{i}", buyer="openai", skus=("H100",), gpus=8,
                earliest_start=T0 + timedelta(days=30), latest_start=T0 + timedelta(days=90),
                duration_hours=24)) for i in range(first, min(n, first + group))]  # fmt: skip
            decide_and_append_many(broker, commands, at)
        timers = store.pending_timers()
        due = {t.timer_id: t.due for t in timers}
        setup = time.perf_counter() - started
        # Wall seconds before the first deadline: the server folds the whole log (about half
        # a million events here) before it serves, which takes tens of seconds.
        lead = 30.0 + n / 1000
        start = min(due.values()) - timedelta(seconds=lead)
        server = Server(Path(tmp), url, f"{start.isoformat()},{time.time()},1", workers=workers)
        launched = time.monotonic()
        server.start(timeout=lead + 300)
        ready = time.monotonic() - launched
        try:
            position = broker.position
            lateness: list[float] = []
            limit = time.monotonic() + lead + spread_s + 60
            # Submissions also set later deadlines (the latest start): wait for those due
            # within the spread only.
            horizon = min(due.values()) + timedelta(seconds=spread_s)
            expected = sum(1 for d in due.values() if d <= horizon)
            while len(lateness) < expected and time.monotonic() < limit:
                time.sleep(0.5)
                for row in store.read_all(after=position):
                    position = row.position
                    if row.type == "DeadlineReached":
                        late = row.recorded_at - due[str(row.data["timer_id"])]
                        lateness.append(late.total_seconds())
        finally:
            server.stop()
        store.close()
    lateness.sort()
    print(f"{kind} {len(due):,} pending deadlines, {expected:,} due over {spread_s:.0f} s ({workers} w; setup "
          f"{setup:.0f} s, server up in {ready:.0f} s): {len(lateness):,} fired, late p50 {statistics.median(lateness):.3f} s,"
          f" p99 {lateness[int(len(lateness) * 0.99) - 1]:.3f} s, max {lateness[-1]:.3f} s"
          f" (tick 0.050 s)", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", default="1,2", help="server processes to try, e.g. 1,2")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("ROFR_TEST_POSTGRES_URL"),
        help="PostgreSQL URL (default ROFR_TEST_POSTGRES_URL); 'none' to skip",
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--deadlines", type=int, default=0)
    parser.add_argument("--spread", type=float, default=60.0)
    args = parser.parse_args()
    kinds = [k for k in args.backends.split(",")
             if k == "sqlite" or (args.postgres and args.postgres != "none")]  # fmt: skip
    workers = [int(w) for w in args.workers.split(",")]
    if args.requests:
        for kind in kinds:
            for w in workers:
                submissions(kind, args.postgres, args.requests, args.concurrency, w)
    if args.deadlines:
        for kind in kinds:
            deadlines(kind, args.postgres, args.deadlines, args.spread, workers[0])


if __name__ == "__main__":
    main()
