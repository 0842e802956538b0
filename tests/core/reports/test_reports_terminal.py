"""The terminal report: the rows a bookkeeper reads, and the problems spelled out."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from reports_fixtures import (
    BOOKED_USD_2,
    FLOW,
    HELD,
    NOW,
    synthetic_report,
    synthetic_settlement,
)
from rich.console import Console

from ml_connector.core import outbox
from ml_connector.core.database import Database
from ml_connector.core.reports import print_reconciliation, reconcile_all, status_label
from ml_connector.core.targets import Document
from ml_connector.ledger.reconcile import OrderFinding


def printed(report, *, details: bool = False) -> str:
    buffer = io.StringIO()
    print_reconciliation(report, Console(file=buffer, width=160), details=details)
    return buffer.getvalue()


def row_of(text: str, settlement_id: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(settlement_id))


def test_one_row_per_settlement_with_deposit_booked_difference_and_status(books: Database) -> None:
    text = printed(reconcile_all(books, flow=FLOW))
    assert row_of(text, BOOKED_USD_2).split() == [
        BOOKED_USD_2,
        "2026-01-15",
        "USD",
        "1,234.56",
        "1,234.56",
        "0.00",
        "reconciled",
    ]
    assert row_of(text, HELD).split() == [
        HELD,
        "2026-02-12",
        "USD",
        "100.00",
        "0.00",
        "100.00",
        "on",
        "hold",
    ]
    assert "Where each payout went" in text and "Totals per currency" in text
    assert "1,327.57" in text  # USD deposits, booked or not
    assert "2 of 6 settlement(s) need attention." in text


def test_problems_come_with_their_reason_and_what_to_do(books: Database) -> None:
    text = " ".join(printed(reconcile_all(books, flow=FLOW)).split())
    assert f"Settlement {HELD} ({FLOW}): on hold" in text
    assert "Lines sum to 95.00 USD but Amazon reports a deposit of 100.00 USD" in text
    assert "What to do: Nothing of this settlement is booked or posted." in text
    assert "unmapped lines" in text and "Something New" in text


def test_details_print_each_booked_settlement_by_category(books: Database) -> None:
    text = printed(reconcile_all(books, flow=FLOW), details=True)
    assert f"Settlement {BOOKED_USD_2} by category" in text
    assert "fee_fba" in text and "-45.43" in text


def test_documents_column_appears_once_something_was_rendered(books: Database) -> None:
    assert "documents" not in printed(reconcile_all(books, flow=FLOW))
    entry = books.ledger.entries_with_meta("settlement_id", BOOKED_USD_2)[0]
    with books.engine.begin() as conn:
        outbox.enqueue(
            conn,
            flow=FLOW,
            target="xero",
            documents=[
                Document(
                    key="k1",
                    kind="manual_journal",
                    source_ref=entry.source_ref,
                    entry_ids=(entry.id,),
                    idempotency_key="k1",
                    payload={},
                )
            ],
            now=NOW,
        )
        outbox.set_status(conn, "k1", outbox.FAILED, error="Account must be valid.", now=NOW)
    text = printed(reconcile_all(books, flow=FLOW))
    assert "0/1 posted, 1 failed" in text
    assert "xero refused document k1: Account must be valid." in " ".join(text.split())


def test_status_labels() -> None:
    day = dt.date(2026, 1, 1)
    ok = synthetic_settlement("1", day, {"sales": "1.00"})
    finding = OrderFinding("A", invoiced=Decimal("2.00"), settled=Decimal("1.00"))
    orders = synthetic_settlement(
        "2", day, {"sales": "1.00"}, mode="per-order", findings=(finding,)
    )
    held = synthetic_settlement("3", day, {"sales": "1.00"}, status="hold", reason="why")
    unmapped = synthetic_settlement("4", day, {"sales": "1.00"}, status="unmapped", reason="why")
    other = synthetic_settlement("5", day, {"sales": "1.00"}, status="rolled_back", reason="")
    assert [status_label(s) for s in (ok, orders, held, unmapped, other)] == [
        "reconciled",
        "order findings",
        "on hold",
        "unmapped lines",
        "rolled back",
    ]
    assert orders.balanced and not orders.reconciles
    assert "1 order(s) settled for another amount than invoiced" in orders.issues[0]
    assert other.issues == ("The settlement is rolled_back; booking gave no reason.",)
    text = printed(synthetic_report(ok, orders))
    assert "1 of 2 settlement(s) need attention." in text


def test_an_empty_report_says_there_is_nothing_yet() -> None:
    assert "No settlements booked" in printed(synthetic_report())
