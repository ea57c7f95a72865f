"""`rofr plan`: a batch in, a placement table and its cost out, honouring exclusivity."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BATCH = """\
at: 2025-03-01T00:00Z
requirements:
  - {id: t1, skus: [H100], gpus: 2000, earliest_start: 2025-03-10, latest_start: 2025-03-31, duration_hours: 720}
  - {id: a1, skus: [H100], gpus: 400, earliest_start: 2025-03-10, latest_start: 2025-03-31, duration_hours: 720, product_surface: api}
  - {id: big, skus: [H100], gpus: 99999999, earliest_start: 2025-03-10, latest_start: 2025-03-31, duration_hours: 24, splittable: false}
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "rofr", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_plan_places_at_minimum_cost_under_the_contract(tmp_path: Path) -> None:
    assert run("init", str(tmp_path / "d"), "--at", "2025-02-01T00:00Z").returncode == 0
    batch = tmp_path / "batch.yaml"
    batch.write_text(BATCH)
    done = run("--db", str(tmp_path / "d" / "rofr.db"), "plan", str(batch))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    a1 = [line for line in lines if "│ a1 " in line]
    t1 = [line for line in lines if "│ t1 " in line]
    # the API workload is exclusive to azure; the training run takes the cheapest H100
    assert a1 and all("azure" in line for line in a1)
    assert t1 and all("coreweave" in line for line in t1)
    assert "shortfall big: 99999999 GPUs" in done.stdout
    assert "proven optimal" in done.stdout


def test_plan_reports_a_bad_file_with_its_line(tmp_path: Path) -> None:
    batch = tmp_path / "batch.yaml"
    batch.write_text(BATCH.replace("gpus: 2000", "gpus: -5"))
    done = run("--db", str(tmp_path / "none.db"), "plan", str(batch))
    assert done.returncode == 2
    assert f"{batch}:3:" in done.stderr and "gpus" in done.stderr
