"""Clause evaluation: which clauses run at a time, who may serve a requirement, and whether the
holder of a first refusal must be asked first. Pure functions of the state and a time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from rofr.contract import ClauseBase, Exclusivity, FirstRefusal, Version, Waiver
from rofr.engine.events import Exclusion
from rofr.engine.state import State
from rofr.values import Basis, Requirement

__all__ = ["Screening", "clause_end", "clause_runs", "eligibility", "screen", "waivers_for"]


def clause_end(state: State, clause: ClauseBase) -> datetime | None:
    """The earliest effective time of the triggers that end ``clause`` (None if none has)."""
    if not state.triggers:
        return None  # nothing declared (most runs): asked for every offer and screening
    ends = [t for t in (state.trigger_end(n) for n in clause.ends_on) if t is not None]
    return min(ends) if ends else None


def clause_runs(state: State, clause: ClauseBase, at: datetime) -> bool:
    """The clause's own period, cut short by any trigger that ended it."""
    return clause.runs_at(at, clause_end(state, clause))


def waivers_for(
    state: State, version: Version, clause_id: str, req: Requirement, at: datetime
) -> Iterator[Waiver]:
    """Waivers of ``clause_id`` covering ``req`` at ``at``: standing ones written into the
    version, and those granted at run time and not revoked."""
    for w in version.waivers:
        if w.clause == clause_id and w.covers(req, at):
            yield w
    for ws in state.waivers.values():
        if ws.waiver.clause == clause_id and ws.active(at) and ws.waiver.covers(req, at):
            yield ws.waiver


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Providers that may serve a requirement now, the rest with reasons."""

    eligible: tuple[str, ...]
    excluded: tuple[Exclusion, ...]
    exclusive: bool  # narrowed by a running exclusivity clause


def eligibility(state: State, version: Version, req: Requirement, at: datetime) -> Eligibility:
    """Apply every exclusivity clause that runs at ``at`` and covers ``req``."""
    assert state.contract is not None
    allowed = set(state.contract.parties.provider_ids())
    reasons: dict[str, str] = {}
    exclusive = False
    for clause in version.of_type(Exclusivity):
        if not (clause_runs(state, clause, at) and clause.covers(req)):
            continue
        permitted = {clause.provider, *clause.also_permitted}
        waived = list(waivers_for(state, version, clause.id, req, at))
        if any(w.provider is None for w in waived):
            continue  # the exclusive provider consented to any provider for this scope
        permitted |= {w.provider for w in waived if w.provider is not None}
        exclusive = True
        for provider in sorted(allowed - permitted):
            reasons.setdefault(
                provider,
                f"exclusive to {clause.provider} under clause {clause.id} (version {version.id})",
            )
        allowed &= permitted
    excluded = tuple(Exclusion(p, r) for p, r in sorted(reasons.items()))
    return Eligibility(tuple(sorted(allowed)), excluded, exclusive)


@dataclass(frozen=True, slots=True)
class Screening:
    """The outcome of screening: who may serve, and whether the holder is asked first."""

    eligible: tuple[str, ...]
    excluded: tuple[Exclusion, ...]
    clause: FirstRefusal | None
    basis: Basis
    reason: str


def screen(state: State, version: Version, req: Requirement, at: datetime) -> Screening:
    """Eligibility, then the first refusal clause that applies (if any) and why."""
    elig = eligibility(state, version, req, at)
    eligible = elig.eligible
    notes: list[str] = []
    for clause in version.of_type(FirstRefusal):
        if not clause_runs(state, clause, at):
            end = clause_end(state, clause)
            notes.append(
                f"first refusal {clause.id} ended by trigger at {end:%Y-%m-%d %H:%M}Z"
                if end is not None and at >= end
                else f"first refusal {clause.id} is not in its period"
            )
            continue
        if not clause.covers(req):
            notes.append(f"first refusal {clause.id} does not cover this requirement")
            continue
        if clause.holder not in eligible:
            notes.append(f"holder {clause.holder} of {clause.id} may not serve it")
            continue
        waived = list(waivers_for(state, version, clause.id, req, at))
        if waived:
            waiver = waived[0]
            if waiver.provider is not None:
                eligible = tuple(p for p in eligible if p in {clause.holder, waiver.provider})
            scope = f" for {waiver.provider}" if waiver.provider else ""
            reason = f"first refusal {clause.id} waived{scope} by waiver {waiver.id}"
            return Screening(eligible, elig.excluded, None, Basis.WAIVED, reason)
        reason = f"first refusal {clause.id} ({clause.mode}) held by {clause.holder}"
        return Screening(eligible, elig.excluded, clause, Basis.OUT_OF_SCOPE, reason)
    basis = Basis.EXCLUSIVE if elig.exclusive and len(eligible) == 1 else Basis.OUT_OF_SCOPE
    reason = "; ".join(notes) if notes else "no first refusal clause in this version"
    if basis is Basis.EXCLUSIVE:
        reason = f"exclusive to {eligible[0]}; {reason}"
    return Screening(eligible, elig.excluded, None, basis, reason)
