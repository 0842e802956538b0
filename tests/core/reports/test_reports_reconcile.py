"""reconcile_all: every settlement of a flow, booked or not, tied out from the database."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from reports_fixtures import (
    BOOKED_JPY,
    BOOKED_USD_1,
    BOOKED_USD_2,
    CHARGE_USD,
    FLOW,
    HELD,
    NOW,
    RULES,
    SALE,
    UNMAPPED,
    book,
    book_all,
    booked_settlements,
    lines,
    synthetic_report,
    synthetic_settlement,
)

from ml_connector.core import jsoncodec, outbox
from ml_connector.core.alerts import list_alerts
from ml_connector.core.amazon.emulator import generate_seller
from ml_connector.core.amazon.settlement_file import write_settlement_v2
from ml_connector.core.booking import book_settlement_document
from ml_connector.core.database import Database
from ml_connector.core.errors import ConfigError
from ml_connector.core.reports import FlowReconciliation, SettlementReport, reconcile_all
from ml_connector.core.reports.reconcile import GROUP_NAMES, group_totals
from ml_connector.core.targets import Document
from ml_connector.ledger.entries import reverse
from ml_connector.ledger.posting.conventions import KIND_PAYOUT
from ml_connector.ledger.reconcile import OrderFinding


def by_id(report: FlowReconciliation) -> dict[str, object]:
    return {s.settlement_id: s for s in report}


def test_booked_settlements_reconcile_with_their_breakdown(books: Database) -> None:
    report = reconcile_all(books, flow=FLOW, now=NOW)
    found = by_id(report)
    first = found[BOOKED_USD_1]
    assert first.status == "booked" and first.reconciles and first.balanced
    assert (first.deposit, first.booked_total, first.difference) == (
        Decimal("26.00"),
        Decimal("26.00"),
        Decimal("0.00"),
    )
    assert first.reconciliation.breakdown == {
        "fee_referral": Decimal("-3.00"),
        "payout": Decimal("26.00"),
        "sales": Decimal("30.00"),
        "storage": Decimal("-1.00"),
    }
    assert first.groups == {
        "sales": Decimal("30.00"),
        "refunds": Decimal(0),
        "fees": Decimal("-4.00"),
        "reserves": Decimal(0),
        "other": Decimal(0),
    }
    assert (first.start.isoformat(), first.end.isoformat(), first.deposit_date.isoformat()) == (
        "2026-01-01",
        "2026-01-15",
        "2026-01-17",
    )
    assert first.issues == () and first.action == ""
    charge = found[CHARGE_USD]
    assert charge.reconciles and charge.booked_total == Decimal("-39.99")
    assert found[BOOKED_JPY].deposit == Decimal(1500) and found[BOOKED_JPY].currency == "JPY"


def test_groups_of_every_booked_settlement_add_up_to_what_reached_the_bank(books: Database) -> None:
    for settlement in reconcile_all(books, flow=FLOW):
        if settlement.reconciliation is not None:
            assert sum(settlement.groups.values()) == settlement.booked_total


def test_totals_per_currency_are_exact_and_count_what_is_not_in_the_books(books: Database) -> None:
    totals = reconcile_all(books, flow=FLOW).totals
    assert sorted(totals) == ["JPY", "USD"]
    usd = totals["USD"]
    assert usd.settlements == 5
    assert dict(usd.by_status) == {"booked": 3, "hold": 1, "unmapped": 1}
    # 26.00 + 1,234.56 - 39.99 booked; the held 100.00 and unmapped 7.00 are Amazon's only.
    assert usd.booked == Decimal("1220.57")
    assert usd.deposits == Decimal("1327.57")
    assert usd.difference == Decimal("107.00")
    assert usd.groups["refunds"] == Decimal("-45.00")
    assert totals["JPY"].deposits == totals["JPY"].booked == Decimal(1500)


def test_a_held_settlement_says_why_and_what_to_do(books: Database) -> None:
    report = reconcile_all(books, flow=FLOW)
    held = by_id(report)[HELD]
    assert held.status == "hold" and not held.reconciles and held.reconciliation is None
    assert "Lines sum to 95.00 USD but Amazon reports a deposit of 100.00 USD" in held.reason
    assert held.issues == (held.reason,)
    assert "Releasing a hold" in held.action and "corrected copy" in held.action
    # The deposit and period come from the stored report's summary row: nothing is booked.
    assert (held.deposit, held.booked_total, held.difference) == (
        Decimal("100.00"),
        Decimal(0),
        Decimal("100.00"),
    )
    assert held.deposit_date.isoformat() == "2026-02-28"
    assert held in report.problems and not report.ok


def test_an_unmapped_settlement_names_the_combination_and_asks_for_a_rule(books: Database) -> None:
    unmapped = by_id(reconcile_all(books, flow=FLOW))[UNMAPPED]
    assert unmapped.status == "unmapped" and not unmapped.reconciles
    assert "Something New" in unmapped.reason and "match no posting rule" in unmapped.reason
    assert "posting rule" in unmapped.action and "run again" in unmapped.action
    assert unmapped.deposit == Decimal("7.00") and unmapped.currency == "USD"


def test_a_report_without_summary_row_has_an_unknown_deposit(database: Database) -> None:
    rows = lines("3001", [(SALE, "5.00", "111-0000009-0000009")])
    assert book(database, None, rows).status == "hold"
    settlement = by_id(reconcile_all(database))["3001"]
    assert settlement.currency == "USD" and settlement.deposit is None
    assert settlement.difference is None and "no summary row" in settlement.reason
    assert reconcile_all(database).totals["USD"].unknown_deposits == 1


def test_only_booked_settlements_make_an_ok_report(database: Database) -> None:
    book_all(database, problems=False)
    report = reconcile_all(database, flow=FLOW)
    assert report.ok and report.problems == () and len(report) == 4


def test_flow_and_settlement_narrow_the_report(books: Database) -> None:
    h, rows = booked_settlements()[BOOKED_USD_1]
    book(books, h, rows, flow="other-shop")
    assert {s.flow for s in reconcile_all(books)} == {FLOW, "other-shop"}
    assert [s.flow for s in reconcile_all(books, flow="other-shop")] == ["other-shop"]
    one = reconcile_all(books, flow=FLOW, settlement_id=BOOKED_USD_2)
    assert [s.settlement_id for s in one] == [BOOKED_USD_2]
    assert len(reconcile_all(books, flow="nobody")) == 0


def test_settlements_come_in_deposit_date_order(books: Database) -> None:
    dates = [s.deposit_date for s in reconcile_all(books, flow=FLOW)]
    assert dates == sorted(dates)


def test_a_reversed_payout_no_longer_reconciles_and_says_so(books: Database) -> None:
    entries = books.ledger.entries_with_meta("settlement_id", BOOKED_USD_1)
    payout = next(e for e in entries if e.kind == KIND_PAYOUT)
    books.ledger.write([reverse(payout, reason="bank returned the deposit")])
    settlement = by_id(reconcile_all(books, flow=FLOW))[BOOKED_USD_1]
    assert settlement.status == "booked" and not settlement.balanced
    assert settlement.booked_total == Decimal("0.00")
    assert any("clearing accounts do not net to zero" in i for i in settlement.issues)
    assert any("bank account received 0.00 USD" in i for i in settlement.issues)
    assert "ml-connector audit 1001" in settlement.action


def test_per_order_settlements_reconcile_invoice_by_invoice(database: Database) -> None:
    h, rows = booked_settlements()[BOOKED_USD_2]
    assert book(database, h, rows, mode="per-order").status == "booked"
    settlement = by_id(reconcile_all(database))[BOOKED_USD_2]
    assert settlement.mode == "per-order" and settlement.reconciles
    assert settlement.reconciliation.orders_match
    assert settlement.groups["sales"] == Decimal("1549.99")


def _document(key: str, entry_ids: tuple[str, ...], settlement_id: str) -> Document:
    return Document(
        key=key,
        kind="manual_journal",
        source_ref=f"amazon:settlement:{settlement_id}",
        entry_ids=entry_ids,
        idempotency_key=key,
        payload={"Narration": key, "Amount": Decimal("26.00")},
        totals={"USD": Decimal("26.00")},
        description=f"document {key}",
    )


def test_documents_of_each_settlement_are_counted_by_state(books: Database) -> None:
    entries = books.ledger.entries_with_meta("settlement_id", BOOKED_USD_1)
    ids = tuple(sorted(e.id for e in entries))
    with books.engine.begin() as conn:
        outbox.enqueue(
            conn,
            flow=FLOW,
            target="xero",
            documents=[_document(f"doc-{n}", (ids[n % len(ids)],), BOOKED_USD_1) for n in range(4)],
            now=NOW,
        )
        outbox.set_status(conn, "doc-0", outbox.DONE, target_id="X-1", now=NOW)
        outbox.set_status(conn, "doc-1", outbox.FAILED, error="Account must be valid.", now=NOW)
        outbox.set_status(conn, "doc-2", outbox.IN_DOUBT, now=NOW)
    report = reconcile_all(books, flow=FLOW)
    settlement = by_id(report)[BOOKED_USD_1]
    summary = settlement.outbox
    assert dict(summary.counts) == {
        "posted": 1,
        "pending": 1,
        "failed": 1,
        "in_doubt": 1,
        "undone": 0,
    }
    assert summary.total == 4 and summary.targets == ("xero",)
    assert [p.key for p in summary.problems] == ["doc-1", "doc-2"]
    issues = settlement.document_issues
    assert "xero refused document doc-1: Account must be valid." in issues[0]
    assert "--id doc-2 --confirm" in issues[1]
    assert settlement in report.document_problems
    # Documents are the push's business: the settlement itself still reconciles.
    assert settlement.reconciles
    assert by_id(report)[BOOKED_USD_2].outbox is None


def test_json_round_trips_exactly_with_money_as_strings(books: Database) -> None:
    report = reconcile_all(books, flow=FLOW, now=NOW)
    text = report.to_json()

    def no_float(value: str) -> Decimal:
        raise AssertionError(f"a number with a fraction in the JSON: {value}")

    data = json.loads(text, parse_float=no_float)
    assert FlowReconciliation.from_json(text) == report
    first = next(s for s in data["settlements"] if s["settlement_id"] == BOOKED_USD_2)
    assert list(first)[:6] == [
        "settlement_id",
        "currency",
        "total_amount",
        "lines_sum",
        "clearing_balance",
        "balanced",
    ]
    assert (first["total_amount"], first["lines_sum"], first["clearing_balance"]) == (
        "1234.56",
        "1234.56",
        "0.00",
    )
    assert first["status"] == "booked" and first["reconciles"] is True
    jpy = next(s for s in data["settlements"] if s["settlement_id"] == BOOKED_JPY)
    assert jpy["total_amount"] == "1500" and jpy["breakdown"]["sales"] == "1800"
    held = next(s for s in data["settlements"] if s["settlement_id"] == HELD)
    assert held["lines_sum"] is None and held["balanced"] is False
    assert held["total_amount"] == "100.00" and held["deposit_difference"] == "100.00"
    assert data["ok"] is False and data["totals"]["USD"]["booked"] == "1220.57"


def test_json_round_trip_keeps_documents_orders_and_unknowns(database: Database) -> None:
    h, rows = booked_settlements()[BOOKED_USD_2]
    book(database, h, rows, flow="orders", mode="per-order")
    book(database, None, lines("3001", [(SALE, "5.00", "111-0000009-0000009")]), flow="orders")
    entries = database.ledger.entries_with_meta("settlement_id", BOOKED_USD_2)
    with database.engine.begin() as conn:
        outbox.enqueue(
            conn,
            flow="orders",
            target="wave",
            documents=[_document("w-1", (entries[0].id,), BOOKED_USD_2)],
            now=NOW,
        )
        outbox.set_status(conn, "w-1", outbox.FAILED, error="line items do not balance", now=NOW)
    report = reconcile_all(database, now=NOW)
    data = json.loads(report.to_json())
    per_order = next(s for s in data["settlements"] if s["settlement_id"] == BOOKED_USD_2)
    assert per_order["orders_match"] is True and per_order["invoiced_unsettled"] == []
    assert per_order["outbox"]["failed"] == 1
    assert per_order["outbox"]["problems"][0]["last_error"] == "line items do not balance"
    unknown = next(s for s in data["settlements"] if s["settlement_id"] == "3001")
    assert unknown["total_amount"] is None and unknown["deposit_difference"] is None
    assert FlowReconciliation.from_json(report.to_json()) == report


def test_group_totals_put_unknown_categories_in_other() -> None:
    totals = group_totals(
        {"sales": Decimal("5.00"), "brand_new": Decimal("-1.00"), "payout": Decimal("4.00")}
    )
    assert list(totals) == list(GROUP_NAMES)
    assert totals["other"] == Decimal("-1.00") and sum(totals.values()) == Decimal("4.00")


@pytest.mark.parametrize("seed", [3, 11])
def test_an_emulated_seller_reconciles_and_explains_every_settlement(
    database: Database, seed: int
) -> None:
    """Settlements generated independently of this code: every booked one ties out, and the
    deposits per currency are exactly the generator's totals, booked or not."""
    seller = generate_seller(seed=seed, orders=40)
    expected: dict[str, Decimal] = {}
    for h, rows in seller.settlements:
        text = io.StringIO()
        write_settlement_v2(h, rows, text)
        book_settlement_document(
            database.ledger,
            flow="emulated",
            document=text.getvalue().encode("utf-8"),
            source=f"{h.settlement_id}.txt",
            rules=RULES,
            now=NOW,
        )
        expected[h.currency] = expected.get(h.currency, Decimal(0)) + h.total_amount
    report = reconcile_all(database, flow="emulated")
    assert len(report) == len(seller.settlements)
    assert {cur: t.deposits for cur, t in report.totals.items()} == expected
    booked = [s for s in report if s.status == "booked"]
    assert booked, "the generated seller should have bookable settlements"
    for settlement in report:
        if settlement.status == "booked":
            assert settlement.reconciles, settlement.issues
            assert sum(settlement.groups.values()) == settlement.deposit
        else:
            assert settlement.reason and settlement.action and settlement.issues
    assert FlowReconciliation.from_json(report.to_json()) == report


def test_reconcile_all_reads_only(books: Database) -> None:
    def state() -> tuple[int, int]:
        with books.engine.connect() as conn:
            return books.ledger.count(), len(list_alerts(conn, flow=FLOW))

    before = state()
    assert before[1] == 2  # the hold and the unmapped line
    reconcile_all(books)
    assert state() == before


def test_json_round_trip_keeps_per_order_findings() -> None:
    finding = OrderFinding(
        "111-0000001-0000001", invoiced=Decimal("10.00"), settled=Decimal("9.50")
    )
    report = synthetic_report(
        synthetic_settlement(
            "77", dt.date(2026, 1, 5), {"sales": "10.00"}, mode="per-order", findings=(finding,)
        )
    )
    data = json.loads(report.to_json())
    assert data["settlements"][0]["amount_differences"] == [
        {
            "order_id": "111-0000001-0000001",
            "invoiced": "10.00",
            "settled": "9.50",
            "difference": "0.50",
        }
    ]
    assert data["settlements"][0]["reconciles"] is False
    assert FlowReconciliation.from_json(report.to_json()) == report
    only = report.settlements[0]
    assert SettlementReport.from_dict(jsoncodec.loads(only.to_json())) == only


def test_reading_a_json_that_is_not_a_report_names_the_missing_key() -> None:
    with pytest.raises(ConfigError, match="'settlements' is missing"):
        FlowReconciliation.from_json('{"flow": null, "generated_at": "2026-01-01T00:00:00+00:00"}')
