"""End to end through the real command: demo -> audit export -> verify -> tamper -> report."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


def rofr(*args: str, db: Path | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "rofr", *(["--db", str(db)] if db else []), *args]
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert rofr("demo", "--out", str(out)).returncode == 0
    return out


def test_export_verify_and_tamper(demo: Path, tmp_path: Path) -> None:
    db, export = demo / "rofr.db", tmp_path / "log.jsonl"
    done = rofr("audit", "export", "--out", str(export), db=db)
    assert done.returncode == 0, done.stderr
    assert (demo / "audit-key.pem").stat().st_mode & 0o777 == 0o600
    ok = rofr("audit", "verify", str(export))
    assert ok.returncode == 0 and "ok" in ok.stdout
    lines = export.read_text().splitlines()
    i = next(i for i, ln in enumerate(lines) if '"type":"PlacementMade"' in ln)
    record = json.loads(lines[i])
    record["data"]["placement"]["gpus"] += 8
    lines[i] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    export.write_text("\n".join(lines) + "\n")
    bad = rofr("audit", "verify", str(export))
    assert bad.returncode == 1
    assert re.search(rf"event {record['position']}\b", bad.stdout), bad.stdout
    assert "FAILED" in bad.stdout


def test_report_html_has_every_requirement(demo: Path, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    done = rofr("audit", "report", "--html", str(html), db=demo / "rofr.db")
    assert done.returncode == 0, done.stdout + done.stderr
    text = html.read_text()
    ids = {f"req-{n:03d}" for n in range(1, 51)}
    assert all(f'id="{rid}"' in text for rid in ids)
    assert "Notices to the holder" in text and "content hash" in text
    assert "deemed decline" in text and "no more favourable" in text
    assert "Waivers that applied" in text
    assert text.count("<section") == 50


def test_ledger_commands_on_the_demo(demo: Path, tmp_path: Path) -> None:
    db = demo / "rofr.db"
    plot, focus = tmp_path / "burn.png", tmp_path / "focus.csv"
    table = rofr("commitments", "--plot", str(plot), db=db)
    assert table.returncode == 0 and "azure-commit" in table.stdout
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert rofr("spend", "export", "--out", str(focus), db=db).returncode == 0
    assert focus.read_text().startswith("AvailabilityZone,BilledCost,")
    yes = rofr("may", "azure", "model_ip", "--at", "2025-06-01", db=db)
    assert yes.returncode == 0 and yes.stdout.startswith("yes") and "ip-access" in yes.stdout
