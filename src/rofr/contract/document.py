"""A contract document: parties and an ordered list of versions (amendments), and its loading.

A requirement is judged under the version in force when it was submitted; ``version_at``
answers which that is. Cross-field rules (ordering of versions, party references, unique ids)
are checked here so their errors can point at the line in the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rofr.contract.clauses import (
    Clause,
    Commitment,
    Entitlement,
    Exclusivity,
    FirstRefusal,
    Ident,
    RevenueShare,
    Trigger,
    UtcDateTime,
    Waiver,
)
from rofr.inputs import Located, located_errors, read_located, validate

__all__ = [
    "Contract",
    "Parties",
    "Party",
    "Version",
    "contract_schema",
    "load_contract",
    "parse_contract_data",
]

Problem = tuple[tuple[str | int, ...], str]


class Party(BaseModel):
    """A buyer, a provider, or another party (an expert panel member, an auditor)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Ident
    name: str = ""


class Parties(BaseModel):
    """Who is bound by the contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    buyer: Party
    providers: tuple[Party, ...] = Field(..., min_length=1)
    others: tuple[Party, ...] = ()

    def ids(self) -> set[str]:
        """Every party id."""
        return {self.buyer.id} | {p.id for p in self.providers} | {p.id for p in self.others}

    def provider_ids(self) -> set[str]:
        """Provider ids only."""
        return {p.id for p in self.providers}


class Version(BaseModel):
    """One version of the contract: the clauses in force from ``effective_from``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Ident
    effective_from: UtcDateTime
    effective_until: UtcDateTime | None = None
    description: str = ""
    clauses: tuple[Clause, ...] = ()
    waivers: tuple[Waiver, ...] = ()

    def clause(self, clause_id: str) -> Clause:
        """The clause with this id (KeyError if absent)."""
        for c in self.clauses:
            if c.id == clause_id:
                return c
        raise KeyError(clause_id)

    def of_type(self, kind: type[Any]) -> Iterator[Any]:
        """Clauses of one type, in file order."""
        return (c for c in self.clauses if isinstance(c, kind))

    def trigger(self, name: str) -> Trigger | None:
        """The trigger clause named ``name``, if this version defines it."""
        return next((t for t in self.of_type(Trigger) if t.name == name), None)


class Contract(BaseModel):
    """A whole contract: parties and versions in order of ``effective_from``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    parties: Parties
    versions: tuple[Version, ...] = Field(..., min_length=1)

    def version_at(self, at: datetime) -> Version | None:
        """The version in force at ``at`` (None before the first one or in a gap)."""
        current: Version | None = None
        for v in self.versions:
            if v.effective_from <= at:
                current = v
        if (
            current is not None
            and current.effective_until is not None
            and at >= current.effective_until
        ):
            return None
        return current

    def version(self, version_id: str) -> Version:
        """The version with this id (KeyError if absent)."""
        for v in self.versions:
            if v.id == version_id:
                return v
        raise KeyError(version_id)

    def amended(self, version: Version) -> Contract:
        """A new contract with ``version`` appended; raises ``ValueError`` if it breaks a rule."""
        candidate = self.model_copy(update={"versions": (*self.versions, version)})
        problems = check(candidate)
        if problems:
            raise ValueError("; ".join(f"{_dotted(p)}: {m}" for p, m in problems))
        return candidate


def _dotted(path: tuple[str | int, ...]) -> str:
    from rofr.inputs import dotted

    return dotted(path)


def check(contract: Contract) -> list[Problem]:
    """Cross-field rules the models cannot check on their own."""
    problems: list[Problem] = []
    parties = contract.parties.ids()
    providers = contract.parties.provider_ids()
    seen_versions: set[str] = set()
    for vi, version in enumerate(contract.versions):
        base: tuple[str | int, ...] = ("versions", vi)
        if version.id in seen_versions:
            problems.append(((*base, "id"), f"duplicate version id {version.id!r}"))
        seen_versions.add(version.id)
        if vi > 0:
            prev = contract.versions[vi - 1]
            if version.effective_from <= prev.effective_from:
                problems.append(
                    (
                        (*base, "effective_from"),
                        f"versions must be in order: {version.effective_from:%Y-%m-%d} is not "
                        f"after {prev.id}'s {prev.effective_from:%Y-%m-%d}",
                    )
                )
            elif prev.effective_until is not None and prev.effective_until > version.effective_from:
                problems.append(
                    (
                        (*base, "effective_from"),
                        f"overlaps version {prev.id}, which runs until "
                        f"{prev.effective_until:%Y-%m-%d}",
                    )
                )
        if (
            version.effective_until is not None
            and version.effective_until <= version.effective_from
        ):
            problems.append(((*base, "effective_until"), "must be after effective_from"))
        problems += _check_version(version, base, parties, providers)
    return problems


def _check_version(
    version: Version, base: tuple[str | int, ...], parties: set[str], providers: set[str]
) -> list[Problem]:
    problems: list[Problem] = []
    triggers = {t.name for t in version.of_type(Trigger)}
    ids: set[str] = set()

    def need(ci: int, field: str, value: str | None, pool: set[str], what: str) -> None:
        if value is not None and value not in pool:
            known = ", ".join(sorted(pool))
            problems.append(((*base, "clauses", ci, field), f"unknown {what} {value!r} ({known})"))

    for ci, clause in enumerate(version.clauses):
        if clause.id in ids:
            problems.append(((*base, "clauses", ci, "id"), f"duplicate clause id {clause.id!r}"))
        ids.add(clause.id)
        for ti, name in enumerate(clause.ends_on):
            if name not in triggers:
                problems.append(
                    (
                        (*base, "clauses", ci, "ends_on", ti),
                        f"no trigger named {name!r} in version {version.id}",
                    )
                )
        if isinstance(clause, FirstRefusal):
            need(ci, "holder", clause.holder, providers, "provider")
        elif isinstance(clause, Exclusivity | Commitment):
            need(ci, "provider", clause.provider, providers, "provider")
            if isinstance(clause, Exclusivity):
                for pi, p in enumerate(clause.also_permitted):
                    if p not in providers:
                        problems.append(
                            (
                                (*base, "clauses", ci, "also_permitted", pi),
                                f"unknown provider {p!r}",
                            )
                        )
        elif isinstance(clause, RevenueShare):
            need(ci, "payer", clause.payer, parties, "party")
            need(ci, "payee", clause.payee, parties, "party")
        elif isinstance(clause, Entitlement):
            need(ci, "grantee", clause.grantee, parties, "party")
            need(ci, "grantor", clause.grantor, parties, "party")
        elif isinstance(clause, Trigger):
            for field in ("declared_by", "confirm_by"):
                for pi, p in enumerate(getattr(clause, field)):
                    if p not in parties:
                        problems.append(((*base, "clauses", ci, field, pi), f"unknown party {p!r}"))
    clause_ids = {c.id for c in version.clauses}
    for wi, waiver in enumerate(version.waivers):
        if waiver.clause not in clause_ids:
            problems.append(((*base, "waivers", wi, "clause"), f"no clause {waiver.clause!r}"))
        if waiver.provider is not None and waiver.provider not in providers:
            problems.append(
                ((*base, "waivers", wi, "provider"), f"unknown provider {waiver.provider!r}")
            )
        if waiver.granted_by not in parties:
            problems.append(
                ((*base, "waivers", wi, "granted_by"), f"unknown party {waiver.granted_by!r}")
            )
    return problems


def parse_contract(located: Located) -> Contract:
    """Validate parsed YAML as a contract, including the cross-field rules."""
    contract = validate(located, Contract)
    problems = check(contract)
    if problems:
        raise located_errors(located, problems)
    return contract


def parse_contract_data(data: dict[str, Any]) -> Contract:
    """Validate a contract from plain data (e.g. the JSON stored in the event log)."""
    contract = Contract.model_validate(data)
    problems = check(contract)
    if problems:
        raise ValueError("; ".join(f"{_dotted(p)}: {m}" for p, m in problems))
    return contract


def load_contract(path: str | Path, *, text: str | None = None) -> Contract:
    """Load and validate a contract file; mistakes raise ``InputErrors`` naming file and line."""
    return parse_contract(read_located(path, text))


def contract_schema() -> str:
    """The JSON Schema of contract files, as pretty-printed JSON text."""
    schema = Contract.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "rofr contract"
    return json.dumps(schema, indent=2, sort_keys=True)
