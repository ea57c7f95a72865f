"""The scenario file: horizon, providers, the holder's habits, demand, the contract, a seed.

One YAML file says everything a what-if run needs. Providers come from an inventory file, are
written inline (the market's ``ProviderSpec``), or both; ``adjust`` scales a provider's capacity
or prices and adds capacity on dates (a new site, a build-out) without copying its spec. Demand
is a list of generators (training runs, growing inference, renewals) expanded into requirements
by ``rofr.sim.demand``. Validation is strict and every error names file, line and field
(``rofr.inputs.load_yaml_model``); paths in the file are relative to the file.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from rofr.contract import Calendar, Contract, load_contract
from rofr.inputs import InputError, InputErrors, load_yaml_model
from rofr.market import HolderPolicy, Inventory, ProviderSpec
from rofr.market.inventory import CapacityChange
from rofr.market.yamlmarks import InputError as MarketInputError
from rofr.values import Kind

__all__ = [
    "Adjustment",
    "Choice",
    "ContractRef",
    "Demand",
    "HolderSpec",
    "Horizon",
    "Inference",
    "Providers",
    "Renewals",
    "Scenario",
    "Training",
    "UniformInt",
    "load_scenario",
]

Ident = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
Positive = Annotated[float, Field(gt=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(_Strict):
    """Pick one of ``values`` (with optional relative ``weights``)."""

    kind: Literal["choice"] = "choice"
    values: Annotated[tuple[int, ...], Field(min_length=1)]
    weights: tuple[Positive, ...] | None = None

    @model_validator(mode="after")
    def _weights_match(self) -> Choice:
        if self.weights is not None and len(self.weights) != len(self.values):
            raise ValueError(f"{len(self.weights)} weights for {len(self.values)} values")
        return self


class UniformInt(_Strict):
    """A whole number uniformly in ``[min, max]``, rounded down to a multiple of ``step``."""

    kind: Literal["uniform"]
    min: Annotated[int, Field(ge=1)]
    max: Annotated[int, Field(ge=1)]
    step: Annotated[int, Field(ge=1)] = 1

    @model_validator(mode="after")
    def _ordered(self) -> UniformInt:
        if self.max < self.min:
            raise ValueError("max is below min")
        return self


def _distribution_kind(value: Any) -> str:
    # ``kind`` may be left out for the common case, a list of values to choose from.
    if isinstance(value, dict):
        return str(value.get("kind", "choice"))
    return str(getattr(value, "kind", "choice"))


Distribution = Annotated[
    Annotated[Choice, Tag("choice")] | Annotated[UniformInt, Tag("uniform")],
    Discriminator(_distribution_kind),
]


class Horizon(_Strict):
    """The simulated period ``[start, end)``; nothing is submitted after ``end``."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Horizon:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    @property
    def start_at(self) -> datetime:
        """Midnight UTC of the first day."""
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        """Midnight UTC of the end day."""
        return datetime(self.end.year, self.end.month, self.end.day, tzinfo=UTC)


class Adjustment(_Strict):
    """Changes to one provider for this scenario (the sweep knobs act here)."""

    capacity_scale: Annotated[float, Field(ge=0)] = 1.0
    price_scale: Annotated[Decimal, Field(gt=0)] = Decimal(1)
    add: tuple[CapacityChange, ...] = ()


class Providers(_Strict):
    """Providers from an ``inventory`` file and/or written ``inline``, and adjustments."""

    inventory: str | None = None
    inline: tuple[ProviderSpec, ...] = ()
    adjust: dict[str, Adjustment] = Field(default_factory=dict)


class HolderSpec(_Strict):
    """The first-refusal holder's behaviour; ``policy`` defaults to its inventory ``holder``."""

    provider: Ident
    policy: HolderPolicy | None = None
    seed: int = 0


class _Generator(_Strict):
    name: Ident
    skus: Annotated[tuple[str, ...], Field(min_length=1)]
    regions: tuple[str, ...] = ()
    workload_class: str = "training"
    product_surface: str | None = None
    kind: Kind = Kind.NEW
    customer_tags: tuple[str, ...] = ()
    max_unit_price: Annotated[Decimal, Field(ge=0)] | None = None
    lead_days: Distribution = Choice(values=(14,))
    start_window_days: Annotated[int, Field(ge=0)] = 21
    min_chunk: Annotated[int, Field(ge=1)] = 8
    start: date | None = None  # first arrival no earlier than this (default: horizon start)
    end: date | None = None  # last arrival before this (default: horizon end)


class Training(_Generator):
    """Training runs arriving as a Poisson process of ``per_week`` runs."""

    per_week: Positive
    gpus: Distribution
    duration_days: Distribution


class Inference(_Generator):
    """A requirement every ``every_days`` whose size grows by ``growth_per_month`` (0.1 = 10%)."""

    workload_class: str = "inference"
    every_days: Annotated[int, Field(ge=1)] = 7
    first_gpus: Annotated[int, Field(ge=1)]
    growth_per_month: Annotated[float, Field(ge=-0.9, le=10)] = 0.0
    duration_days: Annotated[int, Field(ge=1)] = 90


class Renewals(_Strict):
    """A ``share`` of fulfilled requirements is renewed at its end (kind ``renewal``), asked
    ``lead_days`` before the end; the run decides it, so renewals follow each version's outcomes."""

    share: Annotated[float, Field(ge=0, le=1)] = 0.0
    lead_days: Annotated[int, Field(ge=0)] = 14
    start_window_days: Annotated[int, Field(ge=0)] = 14


class Demand(_Strict):
    """The demand generators of a scenario."""

    training: tuple[Training, ...] = ()
    inference: tuple[Inference, ...] = ()
    renewals: Renewals = Renewals()

    @model_validator(mode="after")
    def _unique_names(self) -> Demand:
        names = [g.name for g in (*self.training, *self.inference)]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"generator names must be unique; repeated: {', '.join(dupes)}")
        return self


class ContractRef(_Strict):
    """The contract file and the versions to compare (default: all, in file order)."""

    file: str
    versions: tuple[str, ...] = ()


class Scenario(_Strict):
    """A what-if scenario. ``base_dir`` (set by ``load_scenario``) resolves relative paths."""

    name: Ident
    seed: int = 0
    buyer: Ident = "buyer"
    horizon: Horizon
    calendar: Calendar | None = None  # arrivals on non-business days move to the next one
    contract: ContractRef
    providers: Providers
    holder: HolderSpec | None = None
    demand: Demand
    base_dir: str = "."  # set by load_scenario to the file's folder

    def path(self, relative: str) -> Path:
        """A path written in the file, resolved against the file's folder."""
        return (Path(self.base_dir) / relative).resolve()

    def load_contract(self) -> Contract:
        """The contract the scenario names (errors name the contract file)."""
        return load_contract(self.path(self.contract.file))

    def version_ids(self, contract: Contract) -> tuple[str, ...]:
        """The versions to compare: the listed ones, else all of the contract's."""
        return self.contract.versions or tuple(v.id for v in contract.versions)

    def provider_specs(self) -> list[ProviderSpec]:
        """Every provider with the scenario's adjustments applied."""
        specs: list[ProviderSpec] = []
        if self.providers.inventory is not None:
            path = self.path(self.providers.inventory)
            try:
                stat = path.stat()
                inventory = _inventory(str(path), stat.st_mtime_ns, stat.st_size)
            except MarketInputError as exc:
                raise InputErrors(
                    [InputError(exc.file, exc.line, exc.column, exc.field, exc.message)]
                ) from None
            specs.extend(inventory.providers)
        specs.extend(self.providers.inline)
        return [_adjusted(s, self.providers.adjust.get(s.id)) for s in specs]


@functools.lru_cache(maxsize=8)
def _inventory(path: str, mtime_ns: int, size: int) -> Inventory:
    # Every run of a comparison or sweep builds its providers from the same file: parse it
    # once per process (a third of a small run's time), and again only if the file changes.
    # The models are only read (``_adjusted`` copies what it changes).
    return load_yaml_model(Path(path), Inventory)


def _adjusted(spec: ProviderSpec, adj: Adjustment | None) -> ProviderSpec:
    if adj is None:
        return spec
    capacity = [*spec.capacity, *adj.add]
    if adj.capacity_scale != 1.0:
        # Scale each step (not the running total) so retirements stay below additions.
        capacity = [
            c.model_copy(update={"gpus": int(c.gpus * adj.capacity_scale)}) for c in capacity
        ]
    prices = [
        p.model_copy(update={"unit_price": p.unit_price * adj.price_scale}) for p in spec.prices
    ]
    return spec.model_copy(update={"capacity": capacity, "prices": prices})


def _cross_checks(scenario: Scenario) -> list[tuple[tuple[str | int, ...], str]]:
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if scenario.providers.inventory is None and not scenario.providers.inline:
        problems.append((("providers",), "name an inventory file or write providers inline"))
        return problems
    ids = [s.id for s in scenario.provider_specs()]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append((("providers", "inline"), f"provider {dup!r} is defined twice"))
    for name in scenario.providers.adjust:
        if name not in ids:
            problems.append(
                (("providers", "adjust", name), f"no provider {name!r} (known: {', '.join(ids)})")
            )
    if scenario.holder is not None and scenario.holder.provider not in ids:
        problems.append((("holder", "provider"), f"no provider {scenario.holder.provider!r}"))
    if not Path(scenario.path(scenario.contract.file)).exists():
        problems.append(
            (("contract", "file"), f"no such file: {scenario.path(scenario.contract.file)}")
        )
    else:
        contract = scenario.load_contract()
        known = [v.id for v in contract.versions]
        for i, vid in enumerate(scenario.contract.versions):
            if vid not in known:
                problems.append(
                    (("contract", "versions", i), f"no version {vid!r} (known: {', '.join(known)})")
                )
    return problems


def load_scenario(source: str | Path, *, text: str | None = None) -> Scenario:
    """Read and validate a scenario file; raises ``InputErrors`` naming file, line and field."""
    from rofr.inputs import located_errors, read_located, validate

    located = read_located(source, text)
    data: Any = located.data
    if isinstance(data, dict):
        data = {**data, "base_dir": str(Path(source).resolve().parent)}
        located = type(located)(located.source, data, located.marks)
    scenario = validate(located, Scenario)
    problems = _cross_checks(scenario)
    if problems:
        raise located_errors(located, problems)
    return scenario
