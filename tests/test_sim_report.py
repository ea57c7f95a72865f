"""``rofr simulate`` end to end: the folder, every figure in the report, the key table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rofr.sim.report import FIGURES
from sim_kit import scenario_text


def test_simulate_writes_the_report_with_every_figure(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(scenario_text(months=1))
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "rofr", "simulate", str(path), "--out", str(out),
         "--compare", "2023-01-exclusive,2025-01-rofr,2025-01-rofr:holder.ignore_share=1"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "key metrics per run" in done.stdout
    page = (out / "report.html").read_text()
    for name in FIGURES:
        assert f'<img id="fig-{name}"' in page, name
    assert page.count("data:image/png;base64,") == len(FIGURES)
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {
        "2023-01-exclusive",
        "2025-01-rofr",
        "2025-01-rofr:holder.ignore_share=1",
    }
    assert all(m["invariant_violations"] == 0 for m in metrics.values())
    # A holder that ignores every offer accepts none.
    assert metrics["2025-01-rofr:holder.ignore_share=1"]["offers_accepted"] == 0
    for name in ("requirements.csv", "placements.csv", "provider_shares.csv"):
        assert (out / name).read_text().count("\n") > 1


def test_a_bad_scenario_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(scenario_text().replace("per_week: 3.0", "per_week: zero"))
    done = subprocess.run([sys.executable, "-m", "rofr", "simulate", str(path)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert f"{path}:" in done.stderr and "demand.training[0].per_week" in done.stderr


def test_sweep_on_ray_without_ray_says_so(tmp_path: Path, monkeypatch: object) -> None:
    from click.testing import CliRunner

    import rofr.cli.commands
    import rofr.sim.sweep
    from rofr.cli.app import cli

    path = tmp_path / "s.yaml"
    path.write_text(scenario_text(months=1))
    monkeypatch.setattr(rofr.sim.sweep, "ray_available", lambda: False)  # type: ignore[attr-defined]
    result = CliRunner().invoke(cli, ["sweep", str(path), "--engine", "ray", "--seeds", "1"])
    assert result.exit_code == 2
    assert "ray is not installed" in result.output
