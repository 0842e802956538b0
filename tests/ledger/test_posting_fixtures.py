"""Builders and hypothesis strategies for settlements, shared by the posting and reconcile tests.

Tests in this file check the generator itself: a generated settlement must be one Amazon could
send (its lines sum to its total, reserves come in pairs), or the property tests prove nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ml_connector.ledger.money import from_minor
from ml_connector.ledger.settlement import SettlementHeader, SettlementLine

UTC = dt.UTC
SOURCE = "settlement.txt"

#: Combinations the generator draws ordinary lines from (reserves are added in pairs).
COMBINATIONS: tuple[tuple[str, str, str], ...] = (
    ("Order", "ItemPrice", "Principal"),
    ("Order", "ItemPrice", "Shipping"),
    ("Order", "ItemPrice", "GiftWrap"),
    ("Order", "ItemPrice", "Tax"),
    ("Order", "ItemPrice", "ShippingTax"),
    ("Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal"),
    ("Order", "ItemWithheldTax", "MarketplaceFacilitatorVAT-Principal"),
    ("Order", "Promotion", "Principal"),
    ("Order", "Promotion", "Shipping"),
    ("Order", "ItemFees", "Commission"),
    ("Order", "ItemFees", "FBAPerUnitFulfillmentFee"),
    ("Order", "ItemFees", "ShippingChargeback"),
    ("Order", "ItemFees", "VariableClosingFee"),
    ("Refund", "ItemPrice", "Principal"),
    ("Refund", "ItemPrice", "Tax"),
    ("Refund", "ItemFees", "Commission"),
    ("Refund", "ItemFees", "RefundCommission"),
    ("Refund", "ItemPrice", "RestockingFee"),
    ("Refund", "Promotion", "Principal"),
    ("other-transaction", "other-transaction", "Storage Fee"),
    ("other-transaction", "other-transaction", "FBA Long-Term Storage Fee"),
    ("other-transaction", "other-transaction", "Subscription Fee"),
    ("ServiceFee", "Cost of Advertising", "TransactionTotalAmount"),
    ("other-transaction", "FBA Inventory Reimbursement", "WAREHOUSE_DAMAGE"),
    ("other-transaction", "FBA Inventory Reimbursement", "REVERSAL_REIMBURSEMENT"),
    ("Adjustment", "ItemPrice", "Principal"),
)

SITES = ("", "Amazon.com", "Amazon.ca", "Amazon.de", "Amazon.fr", "Amazon.co.uk", "Amazon.co.jp")
ORDER_IDS = ("111-0000001-0000001", "111-0000002-0000002", "302-0000003-0000003")
CURRENCIES = ("USD", "EUR", "JPY")


def header(
    total: str | Decimal,
    *,
    settlement_id: str = "1001",
    currency: str = "USD",
    start: dt.date = dt.date(2024, 1, 25),
    end: dt.date = dt.date(2024, 2, 8),
    deposit: dt.date = dt.date(2024, 2, 10),
) -> SettlementHeader:
    """A summary row; dates become midnight UTC."""

    def moment(day: dt.date) -> dt.datetime:
        return dt.datetime(day.year, day.month, day.day, tzinfo=UTC)

    return SettlementHeader(
        settlement_id=settlement_id,
        start=moment(start),
        end=moment(end),
        deposit_date=moment(deposit),
        total_amount=Decimal(total),
        currency=currency,
        source=SOURCE,
    )


def line(
    line_no: int,
    combination: tuple[str, str, str],
    amount: str | Decimal,
    *,
    settlement_id: str = "1001",
    currency: str = "USD",
    marketplace: str = "Amazon.com",
    order_id: str = "",
    posted: dt.date | None = dt.date(2024, 2, 1),
) -> SettlementLine:
    transaction_type, amount_type, amount_description = combination
    return SettlementLine(
        settlement_id=settlement_id,
        line_no=line_no,
        transaction_type=transaction_type,
        amount_type=amount_type,
        amount_description=amount_description,
        amount=Decimal(amount),
        currency=currency,
        marketplace=marketplace,
        order_id=order_id,
        posted_date=posted,
        source=SOURCE,
    )


RESERVE_HELD = ("other-transaction", "other-transaction", "Current Reserve Amount")
RESERVE_RELEASED = ("other-transaction", "other-transaction", "Previous Reserve Amount Balance")
SALE = ("Order", "ItemPrice", "Principal")
COMMISSION = ("Order", "ItemFees", "Commission")
FBA_FEE = ("Order", "ItemFees", "FBAPerUnitFulfillmentFee")
TAX = ("Order", "ItemPrice", "Tax")
WITHHELD = ("Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal")
PROMOTION = ("Order", "Promotion", "Principal")
REFUND = ("Refund", "ItemPrice", "Principal")
STORAGE = ("other-transaction", "other-transaction", "Storage Fee")


def total_of(lines: list[SettlementLine]) -> Decimal:
    return sum((ln.amount for ln in lines), Decimal(0))


@st.composite
def settlements(
    draw: st.DrawFn, *, min_lines: int = 1, max_lines: int = 30
) -> tuple[SettlementHeader, list[SettlementLine]]:
    """A settlement Amazon could send: lines over many combinations and marketplaces, posted
    over two or three calendar months, an optional reserve pair, a total equal to the lines."""
    currency = draw(st.sampled_from(CURRENCIES))
    settlement_id = str(draw(st.integers(1, 10**11)))
    count = draw(st.integers(min_lines, max_lines))
    amounts = st.integers(-500_000, 500_000).map(lambda minor: from_minor(minor, currency))
    lines: list[SettlementLine] = []
    for n in range(count):
        combination = draw(st.sampled_from(COMBINATIONS))
        order_related = combination[0] in ("Order", "Refund")
        lines.append(
            line(
                n + 2,
                combination,
                draw(amounts),
                settlement_id=settlement_id,
                currency=currency,
                marketplace=draw(st.sampled_from(SITES)),
                order_id=draw(st.sampled_from(ORDER_IDS)) if order_related else "",
                posted=dt.date(2024, 1, 25) + dt.timedelta(days=draw(st.integers(0, 45))),
            )
        )
    if draw(st.booleans()):
        held = -abs(draw(amounts))
        released = abs(draw(amounts))
        for combination, amount in ((RESERVE_HELD, held), (RESERVE_RELEASED, released)):
            lines.append(
                line(
                    len(lines) + 2,
                    combination,
                    amount,
                    settlement_id=settlement_id,
                    currency=currency,
                    marketplace="",
                    posted=dt.date(2024, 3, 10),
                )
            )
    return (
        header(
            total_of(lines),
            settlement_id=settlement_id,
            currency=currency,
            end=dt.date(2024, 3, 10),
            deposit=dt.date(2024, 3, 12),
        ),
        lines,
    )


@given(settlements())
def test_generated_settlements_sum_to_their_total(settlement: tuple) -> None:
    summary, lines = settlement
    assert total_of(lines) == summary.total_amount
    assert {ln.settlement_id for ln in lines} == {summary.settlement_id}
    assert {ln.currency for ln in lines} == {summary.currency}


@given(settlements())
def test_generated_reserves_come_in_pairs(settlement: tuple) -> None:
    _, lines = settlement
    held = [ln for ln in lines if ln.combination == RESERVE_HELD]
    released = [ln for ln in lines if ln.combination == RESERVE_RELEASED]
    assert len(held) == len(released) <= 1
