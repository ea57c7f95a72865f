"""Match-mode acceptance: the holder's price must meet every rival line its GPUs displace."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from rofr.engine import Rejected
from rofr.engine.commands import RespondToOffer
from rofr.engine.events import OfferLine, OfferSent
from rofr.engine.state import RequirementState
from rofr.engine.terms import check_acceptance
from rofr.values import Requirement, parse_time

T = parse_time("2025-03-03T09:00Z")
REQ = Requirement("r", "b", ("H100",), 96, T, T + timedelta(days=5), 24, Decimal("12"))
LINES = (  # rivals: 32 at 6, 32 at 8; 32 GPUs nobody quoted (shown at the cap)
    OfferLine(32, Decimal("6"), "H100", "x", T, "cheap", "q1"),
    OfferLine(32, Decimal("8"), "H100", "x", T, "dear", "q2"),
    OfferLine(32, Decimal("12"), "H100", None, T),
)
OFFER = OfferSent(
    at=T, requirement_id="r", offer_id="o", holder="h", clause_id="c", version_id="v",
    mode="match", round=1, gpus=96, lines=LINES, deadline=T + timedelta(days=1),
    min_increment=1, all_or_none=False, content_hash="", reason="",
)  # fmt: skip
RS = RequirementState(REQ, "v", T)


@pytest.mark.parametrize(
    ("gpus", "price", "ok"),
    [
        (32, "12", True),  # takes only the unquoted part: the requirement's cap applies
        (32, "12.01", False),
        (64, "8", True),  # displaces the dear rival line (8)
        (64, "8.5", False),
        (96, "6", True),  # displaces both rival lines: must meet the cheapest (6)
        (96, "7", False),
    ],
    ids=["unquoted-at-cap", "unquoted-above-cap", "dear-line-met", "dear-line-missed",
         "all-lines-met", "cheap-line-missed"],
)  # fmt: skip
def test_match_acceptance_meets_every_displaced_line(gpus: int, price: str, ok: bool) -> None:
    command = RespondToOffer("o", "h", gpus, unit_price=Decimal(price))
    if ok:
        assert check_acceptance(RS, OFFER, command, T).unit_price == Decimal(price)
    else:
        with pytest.raises(Rejected) as caught:
            check_acceptance(RS, OFFER, command, T)
        assert caught.value.code == "does_not_match" and caught.value.field == "price"


def test_match_acceptance_defaults_to_the_matching_price() -> None:
    terms = check_acceptance(RS, OFFER, RespondToOffer("o", "h", 64), T)
    assert terms.unit_price == Decimal("8")
