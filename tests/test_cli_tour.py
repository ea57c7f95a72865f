"""The tour of the README through the real `rofr` command (a subprocess per step)."""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


def rofr(
    *args: str, db: Path | None = None, now: str | None = None
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "rofr"]
    if db is not None:
        cmd += ["--db", str(db)]
    if now is not None:
        cmd += ["--now", now]
    env = {**os.environ, "COLUMNS": "200"}  # wide tables: no word split across lines
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, timeout=60, check=False, env=env
    )


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("tour")
    done = rofr("init", str(d / "t"), "--at", "2025-02-01T00:00Z")
    assert done.returncode == 0, done.stderr
    db = d / "t" / "rofr.db"
    out = rofr(
        "submit",
        "--id",
        "r1",
        "--gpus",
        "1024",
        "--sku",
        "H100",
        "--max-price",
        "13",
        db=db,
        now="2025-02-03T09:00Z",
    )
    assert out.returncode == 0, out.stderr
    assert "offer r1/offer-1 to azure until 2025-02-10 09:00Z" in out.stdout
    return db


def count_events(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("select count(*) from events").fetchone()[0])


@pytest.mark.parametrize(
    ("args", "now", "message"),
    [
        (
            ("respond", "r1/offer-1", "accept", "--gpus", "512", "--as", "oracle"),
            "2025-02-04T10:00Z",
            "only the holder azure may answer",
        ),
        (
            ("respond", "r1/offer-1", "accept", "--gpus", "500", "--price", "12.29"),
            "2025-02-04T10:00Z",
            "multiple of 8 GPUs",
        ),
        (
            ("respond", "r1/offer-1", "accept", "--price", "14"),
            "2025-02-04T10:00Z",
            "above the requirement's cap",
        ),
        (("respond", "nope", "decline"), "2025-02-04T10:00Z", "no offer 'nope'"),
        (("respond", "r1/offer-1", "decline"), "2025-02-11T10:00Z", "silence was a decline"),
        (("status", "r9"), None, "no requirement 'r9'"),
        (
            ("submit", "--id", "r1", "--gpus", "8", "--sku", "H100"),
            "2025-02-03T09:00Z",
            "requirement 'r1' exists",
        ),
    ],
    ids=[
        "non-holder",
        "below-increment",
        "above-cap",
        "unknown-offer",
        "after-deadline",
        "unknown-req",
        "duplicate",
    ],
)
def test_user_mistakes_are_one_line_exit_2_and_record_nothing(
    tour: Path, args: tuple[str, ...], now: str | None, message: str
) -> None:
    before = count_events(tour)
    done = rofr(*args, db=tour, now=now)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert count_events(tour) == before


def test_partial_accept_sends_the_remainder_to_a_rival(tour: Path, tmp_path: Path) -> None:
    # Work on a copy so the mistake table above keeps its open offer.
    db = tmp_path / "rofr.db"
    db.write_bytes(tour.read_bytes())
    (tmp_path / "inventory.yaml").write_text((tour.parent / "inventory.yaml").read_text())
    done = rofr(
        "respond",
        "r1/offer-1",
        "accept",
        "--gpus",
        "512",
        "--price",
        "12.29",
        db=db,
        now="2025-02-04T10:00Z",
    )
    assert done.returncode == 0, done.stderr
    assert "fulfilled; placed 1024/1024" in done.stdout
    status = rofr("status", "r1", db=db)
    assert "holder_accepted" in status.stdout and "holder_partial" in status.stdout
    lines = rofr("log", "--json", db=db).stdout.splitlines()
    rows = [json.loads(line) for line in lines]
    placed = [r["data"]["placement"] for r in rows if r["type"] == "PlacementMade"]
    assert sum(p["gpus"] for p in placed) == 1024
    assert {p["provider"] for p in placed} >= {"azure"}
    assert all(r["prev_hash"] == p["hash"] for p, r in itertools.pairwise(rows))


def test_silence_becomes_a_deemed_decline_on_tick(tour: Path, tmp_path: Path) -> None:
    db = tmp_path / "rofr.db"
    db.write_bytes(tour.read_bytes())
    (tmp_path / "inventory.yaml").write_text((tour.parent / "inventory.yaml").read_text())
    early = rofr("tick", db=db, now="2025-02-09T00:00Z")
    assert "fired 0 deadline(s)" in early.stdout
    due = rofr("tick", db=db, now="2025-02-10T09:00Z")
    assert "fired 1 deadline(s)" in due.stdout
    again = rofr("tick", db=db, now="2025-02-10T09:00Z")
    assert "fired 0 deadline(s)" in again.stdout
    status = rofr("status", "r1", db=db).stdout
    assert "deemed decline" in status
    assert "window_expired" in rofr("status", db=db).stdout


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "name: x\nparties: {buyer: {id: b}, providers: [{id: p}]}\nversions:\n  - id: v1\n    effective_from: 2025-01-01\n    colour: red\n",
            ":6:5: versions[0].colour: unknown key",
        ),
        (
            "name: x\nparties: {buyer: {id: b}, providers: [{id: p}]}\nversions:\n  - id: v1\n    effective_from: 2025-01-01\n    clauses:\n      - {id: f, type: first_refusal, holder: q, window: {hours: 0}}\n",
            "versions[0].clauses[0].window.hours: Input should be greater than 0",
        ),
        ("name: x\nparties: {buyer: {id: b}, providers: [{id: p}]}\nversions: [\n", "YAML"),
    ],
    ids=["unknown-key", "zero-window", "syntax"],
)
def test_validate_names_file_line_and_field(tmp_path: Path, text: str, where: str) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(text)
    done = rofr("validate", str(f))
    assert done.returncode == 2
    assert str(f) in done.stderr and where in done.stderr


def test_schema_is_json_with_every_clause_type() -> None:
    schema = json.loads(rofr("schema").stdout)
    text = json.dumps(schema)
    for kind in (
        "first_refusal",
        "exclusivity",
        "commitment",
        "revenue_share",
        "entitlement",
        "trigger",
    ):
        assert kind in text
