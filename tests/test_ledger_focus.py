"""FOCUS export: the header, and one placement split into monthly charge periods."""

from __future__ import annotations

import csv
import io
import json

from ledger_kit import book, placed
from rofr.ledger import FOCUS_COLUMNS, FOCUS_REQUIRED, focus_csv


def test_header_and_rows():
    text = focus_csv(book(placed("a", "2025-01-31", "2025-02-02", gpus=2, price="2.5")))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0].split(",") == list(FOCUS_COLUMNS)
    assert set(FOCUS_REQUIRED) <= set(FOCUS_COLUMNS)
    assert len(rows) == 2  # January and February
    jan, feb = rows
    assert jan["ChargePeriodStart"] == "2025-01-31T00:00:00Z"
    assert jan["ChargePeriodEnd"] == "2025-02-01T00:00:00Z"
    assert jan["BillingPeriodStart"] == "2025-01-01T00:00:00Z"
    assert (jan["PricingQuantity"], jan["PricingUnit"]) == ("48", "GPU-Hours")
    assert jan["BilledCost"] == jan["EffectiveCost"] == jan["ListCost"] == "120"
    assert jan["ProviderName"] == "Provider One" and jan["ResourceId"] == "a"
    assert jan["CommitmentDiscountId"] == "c1" and jan["CommitmentDiscountStatus"] == "Used"
    assert json.loads(jan["Tags"])["requirement"] == "r-a"
    assert feb["ChargePeriodStart"] == "2025-02-01T00:00:00Z" and feb["BilledCost"] == "120"
    assert all(row[c] for row in rows for c in FOCUS_REQUIRED)


def test_rival_row_has_no_commitment():
    text = focus_csv(book(placed("a", "2025-03-01", "2025-03-02", provider="p2")))
    (row,) = csv.DictReader(io.StringIO(text))
    assert row["CommitmentDiscountId"] == "" and row["ProviderName"] == "p2"
