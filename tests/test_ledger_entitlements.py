"""Entitlements: the term end, a confirmed trigger, an unconfirmed one, other parties."""

from __future__ import annotations

import pytest

from ledger_kit import book, run
from rofr.engine import commands as cmd
from rofr.ledger import may
from rofr.values import parse_time

DECLARED = ("2025-08-16", cmd.DeclareTrigger("t", "b"))
CONFIRMED = ("2025-08-20", cmd.ConfirmTrigger("t", "panel"))


@pytest.mark.parametrize(
    ("commands", "party", "asset", "at", "allowed", "clause", "words"),
    [
        pytest.param([], "p1", "ip", "2025-06-01", True, "ent", "whichever comes first",
                     id="in-term"),
        pytest.param([], "p1", "ip", "2026-02-01", False, "ent", "term end", id="after-term"),
        pytest.param([DECLARED, CONFIRMED], "p1", "ip", "2025-08-10", True, "ent", "grants",
                     id="before-trigger"),
        pytest.param([DECLARED, CONFIRMED], "p1", "ip", "2025-09-01", False, "ent",
                     "ended by trigger t", id="after-trigger"),
        pytest.param([DECLARED], "p1", "ip", "2025-09-01", True, "ent", "not yet confirmed",
                     id="declared-unconfirmed"),
        pytest.param([], "p2", "ip", "2025-06-01", False, None, "no entitlement", id="other-party"),
        pytest.param([], "p1", "code", "2025-06-01", False, None, "no entitlement",
                     id="other-asset"),
    ],
)  # fmt: skip
def test_may(commands, party, asset, at, allowed, clause, words):  # type: ignore[no-untyped-def]
    ans = may(book(state=run(*commands)), party, asset, parse_time(at))
    assert (ans.allowed, ans.clause_id) == (allowed, clause)
    assert words in ans.reason
    assert ans.version_id == "v1"
