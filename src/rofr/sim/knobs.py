"""The knobs a sweep (or ``simulate --compare``) may turn, by dotted name.

A small fixed set, so a typo is an error that lists what exists rather than a silent no-op:

| knob | meaning |
| --- | --- |
| ``version`` | the contract version the run is judged under |
| ``providers.<id>.capacity_scale`` | multiply a provider's capacity steps (0.5 = half) |
| ``providers.<id>.price_scale`` | multiply a provider's list prices |
| ``holder.ignore_share`` | share of offers the holder lets expire |
| ``holder.response_hours`` | the holder answers after exactly this many hours |
| ``demand.<name>.per_week`` | training runs per week of a training generator |
| ``demand.<name>.growth_per_month`` | monthly growth of an inference generator |
| ``renewals.share`` | share of fulfilled requirements renewed at their end |
"""

from __future__ import annotations

from typing import Any

from rofr.market import HolderPolicy
from rofr.sim.scenario import Scenario

__all__ = ["KNOB_HELP", "KnobError", "apply_knobs", "parse_assignment"]

KNOB_HELP = (
    "version, providers.<id>.capacity_scale, providers.<id>.price_scale, holder.ignore_share, "
    "holder.response_hours, demand.<name>.per_week, demand.<name>.growth_per_month, "
    "renewals.share"
)


class KnobError(ValueError):
    """An unknown knob or a value it cannot take."""


def parse_assignment(text: str) -> tuple[str, list[str]]:
    """``NAME=V1,V2`` -> (NAME, [V1, V2])."""
    name, sep, values = text.partition("=")
    if not sep or not name.strip() or not values.strip():
        raise KnobError(f"{text!r}: write NAME=VALUE[,VALUE...] (knobs: {KNOB_HELP})")
    return name.strip(), [v.strip() for v in values.split(",") if v.strip()]


def _set(data: dict[str, Any], path: list[str | int], value: Any) -> None:
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _knob_path(scenario: Scenario, data: dict[str, Any], name: str) -> list[str | int]:
    parts = name.split(".")
    if (
        len(parts) == 3
        and parts[0] == "providers"
        and parts[2] in ("capacity_scale", "price_scale")
    ):
        ids = [s.id for s in scenario.provider_specs()]
        if parts[1] not in ids:
            raise KnobError(f"{name}: no provider {parts[1]!r} (known: {', '.join(ids)})")
        data["providers"]["adjust"].setdefault(parts[1], {})
        return ["providers", "adjust", parts[1], parts[2]]
    if name in ("holder.ignore_share", "holder.response_hours"):
        if data.get("holder") is None:
            raise KnobError(f"{name}: the scenario has no holder")
        if data["holder"].get("policy") is None:
            spec = next(s for s in scenario.provider_specs() if s.id == data["holder"]["provider"])
            policy = spec.holder or HolderPolicy()
            data["holder"]["policy"] = policy.model_dump()
        if name == "holder.response_hours":
            return ["holder", "policy", "response_delay"]
        return ["holder", "policy", "ignore_share"]
    if name == "renewals.share":
        return ["demand", "renewals", "share"]
    if len(parts) == 3 and parts[0] == "demand":
        for group, knob in (("training", "per_week"), ("inference", "growth_per_month")):
            for i, gen in enumerate(data["demand"][group]):
                if gen["name"] == parts[1] and parts[2] == knob:
                    return ["demand", group, i, knob]
    raise KnobError(f"unknown knob {name!r} (knobs: {KNOB_HELP})")


def apply_knobs(scenario: Scenario, settings: dict[str, str]) -> tuple[Scenario, str | None]:
    """The scenario with ``settings`` applied (values as written), and the ``version`` setting
    if there is one. Values are validated by the scenario model, as in the file."""
    version = settings.get("version")
    rest = {k: v for k, v in settings.items() if k != "version"}
    if not rest:
        return scenario, version
    data = scenario.model_dump()
    for name, raw in rest.items():
        path = _knob_path(scenario, data, name)
        try:
            value: Any = float(raw)
        except ValueError:
            raise KnobError(f"{name}={raw}: expected a number") from None
        if name == "holder.response_hours":
            value = {"kind": "fixed", "hours": value}
        _set(data, path, value)
    try:
        return Scenario.model_validate(data), version
    except ValueError as exc:
        raise KnobError(f"{settings}: {exc}") from None
