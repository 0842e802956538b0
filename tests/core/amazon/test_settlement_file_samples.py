"""Hand-written samples: a realistic US V2 settlement, and a German V1 file beside its V2 twin."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

from ml_connector.core.amazon.settlement_file import open_settlement_file
from ml_connector.ledger.settlement import SettlementHeader, SettlementLine

DATA = Path(__file__).parent / "data" / "settlement_files"
PDT = dt.timezone(dt.timedelta(hours=-7))


def _read(name: str) -> tuple[SettlementHeader | None, list[SettlementLine], str]:
    with open_settlement_file(DATA / name, source=name) as report:
        return report.header, list(report), report.layout


def test_the_us_sample_summary_row_is_the_header() -> None:
    header, _, layout = _read("sample_v2_us.txt")
    assert layout == "v2"
    assert header == SettlementHeader(
        settlement_id="24288457751",
        start=dt.datetime(2024, 5, 1, tzinfo=PDT),
        end=dt.datetime(2024, 5, 15, tzinfo=PDT),
        deposit_date=dt.datetime(2024, 5, 17, tzinfo=PDT),
        total_amount=Decimal("-8.72"),  # fees and reserve exceed sales: Amazon charges the seller
        currency="USD",
        source="sample_v2_us.txt",
    )


def test_the_us_sample_lines_sum_to_the_total() -> None:
    header, lines, _ = _read("sample_v2_us.txt")
    assert header is not None
    assert len(lines) == 23
    assert sum((line.amount for line in lines), Decimal(0)) == header.total_amount
    assert [line.line_no for line in lines] == list(range(3, 26))


def test_the_us_sample_first_order_line_field_by_field() -> None:
    _, lines, _ = _read("sample_v2_us.txt")
    assert lines[0] == SettlementLine(
        settlement_id="24288457751",
        line_no=3,
        transaction_type="Order",
        amount_type="ItemPrice",
        amount_description="Principal",
        amount=Decimal("39.98"),
        currency="USD",
        marketplace="Amazon.com",
        order_id="111-1234567-1000001",
        merchant_order_id="111-1234567-1000001",
        shipment_id="DmQ4tL7Xb",
        fulfillment_id="AFN",
        posted_date=dt.date(2024, 5, 2),  # written 05/02/24: month first in the US
        posted_at=dt.datetime(2024, 5, 2, 14, 3, 11, tzinfo=dt.UTC),
        order_item_code="52012345678901",
        sku="BOTTLE-01",
        quantity=2,
        source="sample_v2_us.txt",
    )


def test_the_us_sample_kinds_of_line() -> None:
    _, lines, _ = _read("sample_v2_us.txt")
    by_combination: dict[tuple[str, str, str], list[SettlementLine]] = {}
    for line in lines:
        by_combination.setdefault(line.combination, []).append(line)

    facilitator = by_combination[
        ("Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal")
    ]
    assert [line.amount for line in facilitator] == [Decimal("-3.20"), Decimal("-2.06")]
    assert by_combination[("Order", "Promotion", "Shipping")][0].amount == Decimal("-5.99")
    fba = by_combination[("Order", "ItemFees", "FBAPerUnitFulfillmentFee")][0]
    assert (fba.amount, fba.fulfillment_id) == (Decimal("-7.28"), "AFN")

    refund = [line for line in lines if line.transaction_type == "Refund"]
    assert {line.adjustment_id for line in refund} == {"amzn1.adj.7781"}
    assert sum((line.amount for line in refund), Decimal(0)) == Decimal("-17.59")

    reserve = {
        line.amount_description: line.amount
        for line in lines
        if line.amount_description.endswith("Reserve Amount")
        or line.amount_description.startswith("Previous Reserve")
    }
    assert reserve == {
        "Previous Reserve Amount Balance": Decimal("150.00"),
        "Current Reserve Amount": Decimal("-120.00"),
    }
    storage = by_combination[("other-transaction", "other-transaction", "Storage Fee")][0]
    assert (storage.order_id, storage.marketplace, storage.quantity) == ("", "", None)
    assert storage.posted_date == dt.date(2024, 5, 14)

    merchant = by_combination[("Order", "ItemFees", "Commission")][1]
    assert (merchant.merchant_order_id, merchant.fulfillment_id) == ("SO-2024-0042", "MFN")


def test_the_german_v1_sample_reads_with_decimal_commas_and_day_first_dates() -> None:
    header, lines, layout = _read("sample_v1_de.txt")
    assert layout == "v1"
    assert header is not None
    assert header.total_amount == Decimal("1001.87")  # written 1.001,87
    assert sum((line.amount for line in lines), Decimal(0)) == header.total_amount
    principal = lines[0]
    assert principal.combination == ("Order", "ItemPrice", "Principal")
    assert principal.amount == Decimal("1299.00")  # written 1.299,00
    assert principal.posted_date == dt.date(2024, 5, 3)  # written 03.05.2024
    assert principal.posted_at is None


def test_a_v1_row_with_two_amounts_gives_two_lines_on_its_line() -> None:
    _, lines, _ = _read("sample_v1_de.txt")
    on_line_5 = [line for line in lines if line.line_no == 5]
    assert [(line.amount_type, line.amount_description, line.amount) for line in on_line_5] == [
        ("ItemFees", "FBAPerUnitFulfillmentFee", Decimal("-4.50")),
        ("Promotion", "Principal", Decimal("-10.00")),
    ]
    # The row's promotion id belongs to its promotion amount only.
    assert [line.promotion_id for line in on_line_5] == ["", "PROMO-7"]


def test_v1_columns_without_a_type_map_to_documented_lines() -> None:
    _, lines, _ = _read("sample_v1_de.txt")
    combinations = [line.combination for line in lines if not line.order_id]
    assert combinations == [
        ("Lightning Deal Fee", "other-fee-amount", "Lightning Deal Fee"),
        ("BalanceAdjustment", "misc-fee-amount", "BalanceAdjustment"),
        ("other-transaction", "DirectPayment", "DirectPayment-Charge"),
        ("Storage Fee", "other-amount", "Storage Fee"),
        ("Current Reserve Amount", "other-amount", "Current Reserve Amount"),
    ]


def test_the_v1_sample_gives_the_same_lines_as_its_v2_twin() -> None:
    header_v1, from_v1, _ = _read("sample_v1_de.txt")
    header_v2, from_v2, layout = _read("sample_v1_de_twin_v2.txt")
    assert layout == "v2"  # the 24-column variant, whose promotion-id column carries PROMO-7
    assert header_v1 is not None and header_v2 is not None
    assert dataclasses.replace(header_v1, source="") == dataclasses.replace(header_v2, source="")

    def comparable(line: SettlementLine) -> SettlementLine:
        return dataclasses.replace(line, line_no=0, source="")

    assert len(from_v1) == 13
    assert [comparable(line) for line in from_v1] == [comparable(line) for line in from_v2]
