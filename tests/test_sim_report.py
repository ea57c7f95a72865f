"""``rofr simulate`` end to end: the folder, every figure in the report, the key table."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from rofr.sim.compare import compare_for_report, plan_items, run_item
from rofr.sim.report import FIGURES
from sim_kit import scenario_text, small_scenario


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


def test_compared_items_on_processes_equal_those_run_here(tmp_path: Path) -> None:
    # The CLI runs the compared items side by side; what comes back must be what running
    # them one after the other here gives, and every item must report progress.
    sc = small_scenario(tmp_path, months=2)
    contract = sc.load_contract()
    planned = plan_items(sc, contract, ["2023-01-exclusive", "2025-01-rofr",
                                        "2025-01-rofr:holder.ignore_share=1"])  # fmt: skip
    seen: list[tuple[str, datetime]] = []
    here = compare_for_report(sc, contract, planned, workers=1)
    apart = compare_for_report(sc, contract, planned, workers=2,
                               progress=lambda label, now: seen.append((label, now)))  # fmt: skip
    assert [c.run.label for c in apart] == [label for label, _, _ in planned]
    for a, b in zip(here, apart, strict=True):
        assert (a.facts, a.metrics, a.violations) == (b.facts, b.metrics, b.violations)
        assert (a.run.version_id, a.run.seed, a.run.contract) == (
            b.run.version_id, b.run.seed, b.run.contract
        )  # fmt: skip
        assert a.facts.outcomes and not b.run.events  # the facts came back, the log did not
    assert {label for label, _ in seen} == {label for label, _, _ in planned}
    # The full run has the same facts: nothing the report reads was lost on the way.
    full = run_item(sc, contract, *planned[1])
    assert full.facts == apart[1].facts and full.metrics == apart[1].metrics
