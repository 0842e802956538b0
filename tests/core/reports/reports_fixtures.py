"""Settlement files written the way Amazon writes them, booked into a fresh database.

A small, fixed book of settlements a bookkeeper could meet in one month, for the report tests:
three booked USD settlements (one of them a charge), a booked JPY one, one held because its
lines do not add up to the deposit, and one with a line no posting rule covers.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

from ml_connector.core.amazon.settlement_file import write_settlement_v2
from ml_connector.core.booking import BookingResult, book_settlement_document
from ml_connector.core.database import Database, open_database
from ml_connector.core.reports import FlowReconciliation, SettlementReport
from ml_connector.ledger.reconcile import OrderFinding, SettlementReconciliation
from ml_connector.ledger.rules import default_rules
from ml_connector.ledger.settlement import SettlementHeader, SettlementLine

FLOW = "shop"
NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
RULES = default_rules()

SALE = ("Order", "ItemPrice", "Principal")
SHIPPING = ("Order", "ItemPrice", "Shipping")
COMMISSION = ("Order", "ItemFees", "Commission")
FBA = ("Order", "ItemFees", "FBAPerUnitFulfillmentFee")
REFUND = ("Refund", "ItemPrice", "Principal")
STORAGE = ("other-transaction", "other-transaction", "Storage Fee")
SUBSCRIPTION = ("other-transaction", "other-transaction", "Subscription Fee")
UNKNOWN = ("other-transaction", "other-transaction", "Something New")


def moment(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def header(
    settlement_id: str,
    total: str,
    *,
    currency: str = "USD",
    start: dt.date = dt.date(2026, 1, 1),
    end: dt.date = dt.date(2026, 1, 15),
    deposit: dt.date = dt.date(2026, 1, 17),
) -> SettlementHeader:
    return SettlementHeader(
        settlement_id=settlement_id,
        start=moment(start),
        end=moment(end),
        deposit_date=moment(deposit),
        total_amount=Decimal(total),
        currency=currency,
    )


def lines(
    settlement_id: str,
    rows: list[tuple[tuple[str, str, str], str, str]],
    *,
    currency: str = "USD",
    marketplace: str = "Amazon.com",
) -> list[SettlementLine]:
    """``rows`` of (combination, amount, order id) as lines numbered from 3 (after the summary)."""
    return [
        SettlementLine(
            settlement_id=settlement_id,
            line_no=number,
            transaction_type=combination[0],
            amount_type=combination[1],
            amount_description=combination[2],
            amount=Decimal(amount),
            currency=currency,
            marketplace=marketplace if order_id else "",
            order_id=order_id,
            posted_date=dt.date(2026, 1, 10),
        )
        for number, (combination, amount, order_id) in enumerate(rows, start=3)
    ]


def document(header_row: SettlementHeader | None, rows: list[SettlementLine]) -> bytes:
    text = io.StringIO()
    write_settlement_v2(header_row, rows, text)
    return text.getvalue().encode("utf-8")


def book(
    database: Database,
    header_row: SettlementHeader | None,
    rows: list[SettlementLine],
    *,
    flow: str = FLOW,
    mode: str = "summary",
) -> BookingResult:
    settlement_id = header_row.settlement_id if header_row else rows[0].settlement_id
    return book_settlement_document(
        database.ledger,
        flow=flow,
        document=document(header_row, rows),
        source=f"settlement-{settlement_id}.txt",
        rules=RULES,
        mode=mode,
        now=NOW,
    )


def new_database(directory: Path) -> Database:
    return open_database(f"sqlite:///{directory / 'books.sqlite'}")


# The fixed book: settlement id -> (header, lines). Each booked one's lines sum to its total.
BOOKED_USD_1 = "1001"
BOOKED_USD_2 = "1002"
CHARGE_USD = "1003"
BOOKED_JPY = "2001"
HELD = "1004"
UNMAPPED = "1005"


def booked_settlements() -> dict[str, tuple[SettlementHeader, list[SettlementLine]]]:
    return {
        BOOKED_USD_1: (
            header(BOOKED_USD_1, "26.00"),
            lines(
                BOOKED_USD_1,
                [
                    (SALE, "20.00", "111-0000001-0000001"),
                    (COMMISSION, "-3.00", "111-0000001-0000001"),
                    (SALE, "10.00", "111-0000002-0000002"),
                    (STORAGE, "-1.00", ""),
                ],
            ),
        ),
        BOOKED_USD_2: (
            header(
                BOOKED_USD_2,
                "1234.56",
                start=dt.date(2026, 1, 15),
                end=dt.date(2026, 1, 29),
                deposit=dt.date(2026, 1, 31),
            ),
            lines(
                BOOKED_USD_2,
                [
                    (SALE, "1500.00", "111-0000003-0000003"),
                    (SHIPPING, "49.99", "111-0000003-0000003"),
                    (COMMISSION, "-225.00", "111-0000003-0000003"),
                    (FBA, "-45.43", "111-0000003-0000003"),
                    (REFUND, "-45.00", "111-0000004-0000004"),
                ],
            ),
        ),
        CHARGE_USD: (
            header(
                CHARGE_USD,
                "-39.99",
                start=dt.date(2026, 1, 29),
                end=dt.date(2026, 2, 12),
                deposit=dt.date(2026, 2, 14),
            ),
            lines(CHARGE_USD, [(SUBSCRIPTION, "-39.99", "")]),
        ),
        BOOKED_JPY: (
            header(BOOKED_JPY, "1500", currency="JPY"),
            lines(
                BOOKED_JPY,
                [
                    (SALE, "1800", "250-0000001-0000001"),
                    (COMMISSION, "-300", "250-0000001-0000001"),
                ],
                currency="JPY",
                marketplace="Amazon.co.jp",
            ),
        ),
    }


def held_settlement() -> tuple[SettlementHeader, list[SettlementLine]]:
    """Amazon reports 100.00 but the lines make 95.00: a line is missing, the settlement is held."""
    return (
        header(
            HELD,
            "100.00",
            start=dt.date(2026, 2, 12),
            end=dt.date(2026, 2, 26),
            deposit=dt.date(2026, 2, 28),
        ),
        lines(
            HELD,
            [
                (SALE, "110.00", "111-0000005-0000005"),
                (COMMISSION, "-15.00", "111-0000005-0000005"),
            ],
        ),
    )


def unmapped_settlement() -> tuple[SettlementHeader, list[SettlementLine]]:
    """A line of a combination no default rule covers."""
    return (
        header(
            UNMAPPED,
            "7.00",
            start=dt.date(2026, 2, 26),
            end=dt.date(2026, 3, 12),
            deposit=dt.date(2026, 3, 14),
        ),
        lines(UNMAPPED, [(SALE, "10.00", "111-0000006-0000006"), (UNKNOWN, "-3.00", "")]),
    )


def book_all(database: Database, *, problems: bool = True) -> dict[str, BookingResult]:
    """Book the fixed book (with the held and unmapped settlements unless ``problems`` is off)."""
    results = {sid: book(database, h, ls) for sid, (h, ls) in booked_settlements().items()}
    assert all(r.status == "booked" for r in results.values()), results
    if problems:
        results[HELD] = book(database, *held_settlement())
        results[UNMAPPED] = book(database, *unmapped_settlement())
        assert (results[HELD].status, results[UNMAPPED].status) == ("hold", "unmapped")
    return results


def synthetic_settlement(
    settlement_id: str,
    deposit_date: dt.date,
    breakdown: dict[str, str],
    *,
    currency: str = "USD",
    flow: str = FLOW,
    mode: str = "summary",
    findings: tuple[OrderFinding, ...] = (),
    status: str = "booked",
    reason: str = "",
) -> SettlementReport:
    """A settlement report built directly (no database), for chart and page tests.

    ``breakdown`` is the category breakdown without ``payout``; the settlement is taken to
    have paid exactly its total, as a balanced one does. ``findings`` become per-order
    amount differences.
    """
    amounts = {category: Decimal(value) for category, value in breakdown.items()}
    total = sum(amounts.values(), Decimal(0))
    if status != "booked":
        return SettlementReport(
            flow=flow,
            settlement_id=settlement_id,
            status=status,
            mode=mode,
            currency=currency,
            deposit=total,
            deposit_date=deposit_date,
            reason=reason,
        )
    reconciliation = SettlementReconciliation(
        settlement_id=settlement_id,
        currency=currency,
        mode=mode,
        total_amount=total,
        lines_sum=total,
        clearing_balance=Decimal(0),
        booked_difference=Decimal(0),
        paid=total,
        breakdown={**amounts, "payout": total},
        amount_differences=findings,
        entry_ids=(f"je_{settlement_id}_s", f"je_{settlement_id}_p"),
    )
    return SettlementReport(
        flow=flow,
        settlement_id=settlement_id,
        status="booked",
        mode=mode,
        currency=currency,
        deposit=total,
        start=deposit_date - dt.timedelta(days=16),
        end=deposit_date - dt.timedelta(days=2),
        deposit_date=deposit_date,
        reconciliation=reconciliation,
    )


def synthetic_report(*settlements: SettlementReport) -> FlowReconciliation:
    return FlowReconciliation(flow=FLOW, generated_at=NOW, settlements=settlements)
