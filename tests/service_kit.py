"""Real ``rofr serve`` processes for the crash and race tests, and checks on the log after."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx

from rofr.engine import check_invariants, decode_event
from rofr.store import EventStore, verify_chain

T0 = datetime(2025, 2, 3, 9, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One ``rofr serve`` subprocess that can be SIGKILLed and started again on its port."""

    def __init__(
        self,
        workdir: Path,
        url: str,
        clock: str,
        port: int | None = None,
        *,
        workers: int = 1,
        tick_ms: int = 50,
    ) -> None:
        self.workdir, self.url, self.clock = workdir, url, clock
        self.workers, self.tick_ms = workers, tick_ms
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        cmd = [sys.executable, "-m", "rofr", "--db", str(self.workdir / "rofr.db"), "serve",
               "--port", str(self.port), "--database-url", self.url, "--clock", self.clock,
               "--tick-ms", str(self.tick_ms), "--workers", str(self.workers)]  # fmt: skip
        log = open(self.workdir / f"serve-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, env={**os.environ})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"rofr serve on {self.port} did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None


def clock_spec(rate: float) -> str:
    """A ScaledClock that starts at T0 now and runs ``rate`` times the wall clock."""
    return f"{T0.isoformat()},{time.time()},{rate}"


def check_log(store: EventStore) -> dict[str, int]:
    """The properties the crash and race tests promise; returns counts for messages."""
    rows = list(store.read_all())
    assert verify_chain(store) is None
    events = [decode_event(r.type, dict(r.data)) for r in rows]
    assert check_invariants(events) == []
    fired = Counter(str(r.data["timer_id"]) for r in rows if r.type == "DeadlineReached")
    assert [t for t, n in fired.items() if n > 1] == [], "a deadline fired twice"
    placements = Counter(str(r.data["placement"]["id"]) for r in rows if r.type == "PlacementMade")
    assert [p for p, n in placements.items() if n > 1] == [], "a placement was made twice"
    placed: Counter[str] = Counter()
    for r in rows:
        if r.type == "PlacementMade":
            placed[str(r.data["requirement_id"])] += int(r.data["placement"]["gpus"])
    wanted = {str(r.data["requirement_id"]): int(r.data["requirement"]["gpus"])
              for r in rows if r.type == "RequirementSubmitted"}  # fmt: skip
    assert [rid for rid, n in placed.items() if n > wanted[rid]] == [], "over-placed"
    return {"events": len(rows), "fired": len(fired), "placements": len(placements)}
