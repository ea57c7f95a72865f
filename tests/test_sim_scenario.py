"""Scenario files: what a mistake looks like (file, line, field) and what the trace is."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from rofr.inputs import InputErrors
from rofr.sim.demand import demand_trace
from rofr.sim.knobs import KnobError, apply_knobs
from rofr.sim.scenario import load_scenario
from rofr.values import Kind
from sim_kit import scenario_text

GOOD = scenario_text()

CASES = [
    # (id, replace this, with this, expected line, expected field, message part)
    (
        "end-before-start",
        "end: 2025-04-03}",
        "end: 2025-01-03}",
        5,
        "horizon",
        "end must be after start",
    ),
    ("unknown-key", "  renewals:", "  renewal:", 29, "demand.renewal", "unknown key"),
    (
        "negative-rate",
        "per_week: 3.0",
        "per_week: -1",
        21,
        "demand.training[0].per_week",
        "greater than 0",
    ),
    (
        "bad-version",
        "2025-10-no-rofr]",
        "2099-no-such]",
        8,
        "contract.versions[2]",
        "no version '2099-no-such'",
    ),
    (
        "unknown-provider",
        "    azure: {capacity_scale",
        "    azurre: {capacity_scale",
        12,
        "providers.adjust.azurre",
        "no provider 'azurre'",
    ),
    (
        "bad-share",
        "ignore_share: 0.1",
        "ignore_share: 1.5",
        17,
        "holder.policy.ignore_share",
        "less than or equal to 1",
    ),
    (
        "uniform-backwards",
        "min: 10, max: 40",
        "min: 50, max: 40",
        24,
        "demand.training[0].duration_days",
        "max is below min",
    ),
    (
        "weights-mismatch",
        "values: [1024, 4096, 8192]}",
        "values: [1024, 4096], weights: [1]}",
        23,
        "demand.training[0].gpus",
        "1 weights for 2 values",
    ),
]


@pytest.mark.parametrize(("old", "new", "line", "field", "message"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_a_mistake_names_file_line_and_field(
    tmp_path: Path, old: str, new: str, line: int, field: str, message: str
) -> None:
    assert old in GOOD
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(InputErrors) as info:
        load_scenario(path)
    first = info.value.errors[0]
    assert (first.file, first.line, first.field) == (str(path), line, field), str(info.value)
    assert message in first.message


def test_the_trace_is_a_function_of_the_seed(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    sc = load_scenario(path)
    a, b, c = demand_trace(sc), demand_trace(sc), demand_trace(sc, seed=99)
    assert a == b
    assert a != c
    assert all(x[0] <= y[0] for x, y in itertools.pairwise(a))
    api = [r for _, r in a if r.id.startswith("api-")]
    assert api[-1].gpus > api[0].gpus  # inference grows
    assert {r.kind for _, r in a} == {Kind.NEW}  # renewals come from the run, not the trace


@pytest.mark.parametrize(
    ("knob", "value", "message"),
    [("providers.nobody.capacity_scale", "2", "no provider 'nobody'"),
     ("holder.ignore_share", "2", "less than or equal to 1"),
     ("demand.train.per_week", "x", "expected a number"),
     ("frobnicate", "1", "unknown knob")],
    ids=["provider", "range", "number", "unknown"],
)  # fmt: skip
def test_bad_knobs_are_refused(tmp_path: Path, knob: str, value: str, message: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    with pytest.raises(KnobError, match=message):
        apply_knobs(load_scenario(path), {knob: value})


def test_knobs_change_the_scenario(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    sc = load_scenario(path)
    turned, version = apply_knobs(
        sc, {"providers.coreweave.capacity_scale": "0.5", "version": "2025-01-rofr"}
    )
    assert version == "2025-01-rofr"
    before = {s.id: s for s in sc.provider_specs()}["coreweave"].capacity[0].gpus
    after = {s.id: s for s in turned.provider_specs()}["coreweave"].capacity[0].gpus
    assert after == before // 2
