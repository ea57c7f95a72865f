"""Amendments, waivers and triggers: commands that change which clauses apply."""

from __future__ import annotations

from pydantic import ValidationError

from rofr.contract import Exclusivity, FirstRefusal, Version, Waiver
from rofr.engine import commands as cmd
from rofr.engine import events as ev
from rofr.engine.flow import Out, set_timer, withdraw_for_clause_end

__all__ = ["amend", "confirm_trigger", "declare_trigger", "grant_waiver", "revoke_waiver"]


def _contract(out: Out):  # type: ignore[no-untyped-def]
    contract = out.state.contract
    if contract is None:
        raise cmd.Rejected("no_contract", "no contract adopted yet")
    return contract


def amend(out: Out, c: cmd.AmendContract) -> None:
    """Add a version. Only the buyer may record an amendment (both sides signed it on paper)."""
    contract = _contract(out)
    if c.by != contract.parties.buyer.id:
        raise cmd.Rejected("forbidden", f"only the buyer records amendments, not {c.by!r}", "by")
    try:
        version = Version.model_validate(c.version)
        contract.amended(version)
    except (ValidationError, ValueError) as exc:
        raise cmd.Rejected("invalid_amendment", f"invalid amendment: {exc}") from None
    if version.effective_from < out.now and any(
        rs.submitted_at >= version.effective_from for rs in out.state.requirements.values()
    ):
        raise cmd.Rejected(
            "retroactive_amendment",
            "the amendment would take effect before requirements already judged; "
            "give an effective_from no earlier than now",
            "effective_from",
        )
    out.emit(ev.ContractAmended(at=out.now, version=c.version, by=c.by))


def grant_waiver(out: Out, waiver: Waiver, c: cmd.GrantWaiver) -> None:
    """Record a holder's (or exclusive provider's) consent to skip one of its clauses."""
    contract = _contract(out)
    if waiver.id in out.state.waivers:
        raise cmd.Rejected("duplicate_waiver", f"waiver {waiver.id!r} exists", "id")
    version = contract.version_at(out.now)
    clause = None
    if version is not None:
        clause = next((cl for cl in version.clauses if cl.id == waiver.clause), None)
    if clause is None:
        raise cmd.Rejected("unknown_clause", f"no clause {waiver.clause!r} in force now", "clause")
    owner = clause.holder if isinstance(clause, FirstRefusal) else None
    if isinstance(clause, Exclusivity):
        owner = clause.provider
    if owner is None:
        raise cmd.Rejected(
            "not_waivable", f"clause {clause.id} is not a first refusal or exclusivity"
        )
    if c.by != owner or waiver.granted_by != owner:
        raise cmd.Rejected("forbidden", f"only {owner} may waive clause {clause.id}", "granted_by")
    if waiver.provider is not None and waiver.provider not in contract.parties.provider_ids():
        raise cmd.Rejected("unknown_provider", f"unknown provider {waiver.provider!r}", "provider")
    out.emit(ev.WaiverGranted(at=out.now, waiver=waiver.model_dump(mode="json"), by=c.by))


def revoke_waiver(out: Out, c: cmd.RevokeWaiver) -> None:
    """Withdraw a waiver; requirements screened earlier keep the decision made for them."""
    ws = out.state.waivers.get(c.waiver_id)
    if ws is None:
        raise cmd.Rejected("unknown_waiver", f"no waiver {c.waiver_id!r}", "waiver_id")
    if ws.revoked_at is not None:
        raise cmd.Rejected("already_revoked", f"waiver {c.waiver_id} was revoked already")
    if c.by != ws.waiver.granted_by:
        raise cmd.Rejected("forbidden", f"only {ws.waiver.granted_by} may revoke it", "by")
    out.emit(ev.WaiverRevoked(at=out.now, waiver_id=c.waiver_id, by=c.by))


def declare_trigger(out: Out, c: cmd.DeclareTrigger) -> None:
    """A party declares a trigger defined in the version in force now."""
    contract = _contract(out)
    version = contract.version_at(out.now)
    trigger = version.trigger(c.name) if version is not None else None
    if version is None or trigger is None or not trigger.runs_at(out.now):
        raise cmd.Rejected(
            "unknown_trigger", f"no trigger {c.name!r} in the version in force", "name"
        )
    if c.by not in trigger.declared_by:
        allowed = ", ".join(trigger.declared_by)
        raise cmd.Rejected("forbidden", f"{c.by!r} may not declare {c.name} (only {allowed})", "by")
    if c.name in out.state.triggers:
        raise cmd.Rejected("already_declared", f"{c.name} was declared already")
    effective_at = c.effective_at or out.now
    out.emit(
        ev.TriggerDeclared(
            at=out.now, name=c.name, by=c.by, effective_at=effective_at, version_id=version.id
        )
    )
    if trigger.quorum == 0:
        _take_effect(out, c.name, effective_at, version)


def confirm_trigger(out: Out, c: cmd.ConfirmTrigger) -> None:
    """A confirmer confirms; at quorum the trigger takes effect."""
    contract = _contract(out)
    ts = out.state.triggers.get(c.name)
    if ts is None:
        raise cmd.Rejected("not_declared", f"{c.name} has not been declared", "name")
    if ts.effective_at is not None:
        raise cmd.Rejected("already_effective", f"{c.name} is already in effect")
    version = contract.version(ts.version_id)
    trigger = version.trigger(c.name)
    assert trigger is not None
    if c.by not in trigger.confirm_by:
        raise cmd.Rejected("forbidden", f"{c.by!r} is not a confirmer of {c.name}", "by")
    if c.by in ts.confirmations:
        raise cmd.Rejected("already_confirmed", f"{c.by} confirmed {c.name} already")
    out.emit(ev.TriggerConfirmed(at=out.now, name=c.name, by=c.by))
    if len(ts.confirmations) + 1 >= trigger.quorum:
        effective = ts.stated_effective_at if trigger.effective == "declaration" else out.now
        _take_effect(out, c.name, effective, version)


def _take_effect(out: Out, name: str, effective_at: object, version: Version) -> None:
    from datetime import datetime

    assert isinstance(effective_at, datetime)
    ends = tuple(cl.id for cl in version.clauses if name in cl.ends_on)
    out.emit(ev.TriggerTookEffect(at=out.now, name=name, effective_at=effective_at, ends=ends))
    # Open offers under a first refusal that this trigger ends are withdrawn once it takes
    # effect: now, or (for a future effective time) by a deadline set for that moment.
    # Earlier decisions stand.
    contract = out.state.contract
    assert contract is not None
    for rs in list(out.state.requirements.values()):
        if rs.final or rs.offer is None or rs.clause_id is None:
            continue
        clause = contract.version(rs.version_id).clause(rs.clause_id)
        if name not in clause.ends_on:
            continue
        if effective_at > out.now:
            set_timer(out, rs, f"clause-end-{rs.round}", effective_at, "clause_end")
        else:
            withdraw_for_clause_end(
                out, rs.requirement.id, f"first refusal {clause.id} ended by trigger {name}"
            )
