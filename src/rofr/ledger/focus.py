"""Spend in the FinOps FOCUS layout (1.x column names), for the tools finance already uses.

One row per placement per charge period; charge periods are calendar months (UTC), so a
placement running from mid-March to mid-May gives three rows, each priced for its own hours.
Billing periods are the same months. What rofr knows maps onto FOCUS as follows:

* costs: ``BilledCost = EffectiveCost = ContractedCost = ListCost`` = unit price x GPUs x hours
  in the period. rofr records only the negotiated price of each placement (no list price, no
  amortised prepayment), so the four are equal; they are all given because FOCUS requires them;
* quantities: ``PricingQuantity = ConsumedQuantity`` in ``GPU-Hours``;
* ``ResourceId`` is the placement id, ``SkuId`` the accelerator type, ``SkuPriceId`` the quote;
* a row counted towards a spend commitment names it in ``CommitmentDiscountId`` (category
  ``Spend``, status ``Used``): FOCUS defines those columns for commitment-based discounts, the
  nearest fit for a committed-spend agreement; rows that count towards none leave them empty;
* ``Tags`` is a JSON object: requirement, basis, workload class, kind, decision version.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

from rofr.ledger.book import Book, PlacedRecord, hours_between
from rofr.ledger.commitments import commitments_of, why_not_counted
from rofr.values import to_jsonable

__all__ = ["FOCUS_COLUMNS", "FOCUS_REQUIRED", "focus_csv", "focus_rows"]

FOCUS_COLUMNS: tuple[str, ...] = (
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName",
    "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory",
    "ChargeClass", "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd",
    "ChargePeriodStart", "CommitmentDiscountCategory", "CommitmentDiscountId",
    "CommitmentDiscountName", "CommitmentDiscountStatus", "CommitmentDiscountType",
    "ConsumedQuantity", "ConsumedUnit", "ContractedCost", "ContractedUnitPrice",
    "EffectiveCost", "InvoiceIssuerName", "ListCost", "ListUnitPrice", "PricingCategory",
    "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "RegionId",
    "RegionName", "ResourceId", "ResourceName", "ResourceType", "ServiceCategory",
    "ServiceName", "SkuId", "SkuPriceId", "SubAccountId", "SubAccountName", "Tags",
)  # fmt: skip

# Columns that must hold a value on every row (the FOCUS 1.x mandatory, non-nullable set).
FOCUS_REQUIRED: tuple[str, ...] = (
    "BilledCost", "BillingAccountId", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargePeriodEnd", "ChargePeriodStart",
    "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost", "ProviderName",
    "PublisherName", "ServiceCategory", "ServiceName",
)  # fmt: skip

_CENT = Decimal("0.01")


def _month_start(t: datetime) -> datetime:
    return datetime(t.year, t.month, 1, tzinfo=UTC)


def _next_month(t: datetime) -> datetime:
    return datetime(t.year + (t.month == 12), t.month % 12 + 1, 1, tzinfo=UTC)


def _months(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    m = _month_start(start)
    while m < end:
        nxt = _next_month(m)
        yield max(m, start), min(nxt, end)
        m = nxt


def _iso(t: datetime) -> str:
    return str(to_jsonable(t))


def _num(x: Decimal) -> str:
    return format(x.normalize(), "f") if x == x.to_integral() else format(x, "f")


def focus_rows(book: Book, *, currency: str = "USD") -> Iterator[dict[str, str]]:
    """FOCUS rows (column -> text) for every placement in the book, month by month."""
    contract = book.state.contract
    names = {}
    buyer = "buyer"
    if contract is not None:
        buyer = contract.parties.buyer.id
        names = {p.id: p.name or p.id for p in contract.parties.providers}
    terms = commitments_of(book)
    for rec in book.placements:
        p = rec.placement
        counted = next((t for t in terms if why_not_counted(t, rec) is None), None)
        provider = names.get(p.provider, p.provider)
        for lo, hi in _months(p.start, p.end):
            gpu_hours = Decimal(p.gpus) * hours_between(lo, hi)
            cost = _num((p.unit_price * gpu_hours).quantize(_CENT))
            row = dict.fromkeys(FOCUS_COLUMNS, "")
            row.update(
                BilledCost=cost,
                EffectiveCost=cost,
                ContractedCost=cost,
                ListCost=cost,
                ContractedUnitPrice=_num(p.unit_price),
                ListUnitPrice=_num(p.unit_price),
                BillingAccountId=f"{buyer}@{p.provider}",
                BillingAccountName=f"{buyer} at {provider}",
                BillingCurrency=currency,
                BillingPeriodStart=_iso(_month_start(lo)),
                BillingPeriodEnd=_iso(_next_month(_month_start(lo))),
                ChargePeriodStart=_iso(lo),
                ChargePeriodEnd=_iso(hi),
                ChargeCategory="Usage",
                ChargeFrequency="Usage-Based",
                ChargeDescription=_description(rec),
                ConsumedQuantity=_num(gpu_hours),
                ConsumedUnit="GPU-Hours",
                PricingQuantity=_num(gpu_hours),
                PricingUnit="GPU-Hours",
                PricingCategory="Standard",
                InvoiceIssuerName=provider,
                ProviderName=provider,
                PublisherName=provider,
                RegionId=p.region,
                RegionName=p.region,
                ResourceId=p.id,
                ResourceName=f"{rec.requirement.id} on {p.provider}",
                ResourceType="GPU capacity reservation",
                ServiceCategory="Compute",
                ServiceName="GPU capacity",
                SkuId=p.sku,
                SkuPriceId=p.quote_id or "",
                SubAccountId=rec.requirement.id,
                SubAccountName=rec.requirement.workload_class,
                Tags=json.dumps(_tags(rec), sort_keys=True, separators=(",", ":")),
            )
            if counted is not None:
                row.update(
                    CommitmentDiscountId=counted.id,
                    CommitmentDiscountName=f"{counted.id} (version {counted.version_id})",
                    CommitmentDiscountCategory="Spend",
                    CommitmentDiscountStatus="Used",
                    CommitmentDiscountType="Committed spend",
                )
            yield row


def _description(rec: PlacedRecord) -> str:
    p = rec.placement
    return (
        f"{p.gpus} x {p.sku} in {p.region} at {_num(p.unit_price)} USD/GPU-h "
        f"for {rec.requirement.id} ({p.basis.value})"
    )


def _tags(rec: PlacedRecord) -> dict[str, str]:
    return {
        "requirement": rec.requirement.id,
        "basis": rec.placement.basis.value,
        "workload_class": rec.requirement.workload_class,
        "kind": rec.requirement.kind.value,
        "version": rec.version_id,
    }


def focus_csv(book: Book, *, currency: str = "USD") -> str:
    """The whole FOCUS table as CSV text (header first)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FOCUS_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in focus_rows(book, currency=currency):
        writer.writerow(row)
    return buf.getvalue()
