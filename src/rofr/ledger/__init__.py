"""The ledger: spend against commitments, revenue share, entitlements, and FOCUS spend export.

Pure functions over a ``Book`` (the folded log: contract, triggers, revenue reports and every
placement with its requirement and decision time). Build one with ``book_of(events)``.
"""

from rofr.ledger.book import Book, PlacedRecord, accrued, book_of
from rofr.ledger.commitments import (
    BurnPoint,
    CommitmentStatus,
    CommitmentTerms,
    MilestoneStatus,
    WhatIf,
    burn_down,
    commitment_credit,
    commitment_status,
    commitments_of,
    what_if,
    why_not_counted,
)
from rofr.ledger.entitlements import Answer, may
from rofr.ledger.focus import FOCUS_COLUMNS, FOCUS_REQUIRED, focus_csv, focus_rows
from rofr.ledger.revenue import RevenueLine, Statement, latest_reports, statement

__all__ = [
    "FOCUS_COLUMNS",
    "FOCUS_REQUIRED",
    "Answer",
    "Book",
    "BurnPoint",
    "CommitmentStatus",
    "CommitmentTerms",
    "MilestoneStatus",
    "PlacedRecord",
    "RevenueLine",
    "Statement",
    "WhatIf",
    "accrued",
    "book_of",
    "burn_down",
    "commitment_credit",
    "commitment_status",
    "commitments_of",
    "focus_csv",
    "focus_rows",
    "latest_reports",
    "may",
    "statement",
    "what_if",
    "why_not_counted",
]
