"""Entitlements: may a party use an asset at a time? Yes or no, with the clause and the reason.

The version in force at the asked time decides which entitlement clauses exist. A clause runs
from its start until its end or the effective time of a trigger in its ``ends_on``, whichever
comes first ("until AGI or through 2030, whichever is first"). A trigger ends a clause only
once it has taken effect in the log (declared and, where the contract asks, confirmed); a
declared but unconfirmed trigger is mentioned in the reason and ends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rofr.contract import Entitlement
from rofr.engine.rules import clause_end
from rofr.ledger.book import Book

__all__ = ["Answer", "may"]


@dataclass(frozen=True, slots=True)
class Answer:
    """The answer, the clause and version it rests on (None when no clause speaks), and why."""

    allowed: bool
    party: str
    asset: str
    at: datetime
    clause_id: str | None
    version_id: str | None
    reason: str


def _pending_triggers(book: Book, clause: Entitlement) -> list[str]:
    out = []
    for name in clause.ends_on:
        ts = book.state.triggers.get(name)
        if ts is not None and ts.effective_at is None:
            out.append(f"{name} declared {ts.declared_at:%Y-%m-%d} but not yet confirmed")
    return out


def may(book: Book, party: str, asset: str, at: datetime) -> Answer:
    """Whether ``party`` may use ``asset`` at ``at`` under the contract in the log."""
    contract = book.state.contract
    if contract is None:
        return Answer(False, party, asset, at, None, None, "the log has no contract")
    version = contract.version_at(at)
    if version is None:
        return Answer(False, party, asset, at, None, None, f"no version in force at {at:%Y-%m-%d}")
    found = [c for c in version.of_type(Entitlement) if c.grantee == party and asset in c.assets]
    if not found:
        return Answer(
            False, party, asset, at, None, version.id,
            f"no entitlement in version {version.id} grants {asset} to {party}",
        )  # fmt: skip
    ended: Answer | None = None
    for clause in found:
        trig_end = clause_end(book.state, clause)
        if clause.runs_at(at, trig_end):
            limits = [f"{clause.end:%Y-%m-%d}"] if clause.end else []
            limits += [f"{name} takes effect" for name in clause.ends_on]
            pending = _pending_triggers(book, clause)
            reason = f"{clause.grantor} grants {asset} to {party} until " + " or ".join(limits)
            reason += ", whichever comes first" if len(limits) > 1 else ""
            reason = reason if limits else f"{clause.grantor} grants {asset} to {party} (no end)"
            if pending:
                reason += "; " + "; ".join(pending)
            return Answer(True, party, asset, at, clause.id, version.id, reason)
        if clause.start is not None and at < clause.start:
            why = f"starts {clause.start:%Y-%m-%d}"
        elif (
            trig_end is not None
            and at >= trig_end
            and (clause.end is None or trig_end < clause.end)
        ):
            name = next(n for n in clause.ends_on if book.state.trigger_end(n) == trig_end)
            why = f"ended by trigger {name}, effective {trig_end:%Y-%m-%d %H:%M}Z (before the term end)"
        else:
            assert clause.end is not None
            why = f"ended at its term end {clause.end:%Y-%m-%d}"
        ended = ended or Answer(False, party, asset, at, clause.id, version.id, why)
    assert ended is not None
    return ended
