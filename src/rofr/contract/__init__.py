"""The contract language: clauses, scopes, windows, versions and their validation."""

from rofr.contract.calendar import Calendar, Window
from rofr.contract.clauses import (
    Clause,
    ClauseBase,
    Commitment,
    Entitlement,
    Exclusivity,
    FirstRefusal,
    Milestone,
    RevenueShare,
    Scope,
    Trigger,
    Waiver,
)
from rofr.contract.document import (
    Contract,
    Parties,
    Party,
    Version,
    check,
    contract_schema,
    load_contract,
    parse_contract,
    parse_contract_data,
)

__all__ = [
    "Calendar",
    "Clause",
    "ClauseBase",
    "Commitment",
    "Contract",
    "Entitlement",
    "Exclusivity",
    "FirstRefusal",
    "Milestone",
    "Parties",
    "Party",
    "RevenueShare",
    "Scope",
    "Trigger",
    "Version",
    "Waiver",
    "Window",
    "check",
    "contract_schema",
    "load_contract",
    "parse_contract",
    "parse_contract_data",
]
