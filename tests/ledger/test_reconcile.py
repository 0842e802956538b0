"""Reconciling settlements from their ledger entries."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest
from test_posting_fixtures import (
    COMMISSION,
    RESERVE_HELD,
    RESERVE_RELEASED,
    SALE,
    STORAGE,
    header,
    line,
)

from ml_connector.ledger.entries import JournalEntry, Posting, entry_id, reverse
from ml_connector.ledger.errors import InputError
from ml_connector.ledger.posting import HoldRelease, book_settlement, release_hold
from ml_connector.ledger.reconcile import reconcile_settlement
from ml_connector.ledger.rules import default_rules

RULES = default_rules()


def booked(
    total: str, lines: list, settlement_id: str = "1001", **options
) -> tuple[JournalEntry, ...]:
    booking = book_settlement(header(total, settlement_id=settlement_id), lines, RULES, **options)
    assert booking.status == "booked"
    return booking.entries


def sale_lines(settlement_id: str = "1001") -> list:
    return [
        line(2, SALE, "20.00", order_id="A", settlement_id=settlement_id),
        line(3, COMMISSION, "-3.00", order_id="A", settlement_id=settlement_id),
        line(4, SALE, "10.00", order_id="B", settlement_id=settlement_id),
        line(5, STORAGE, "-1.00", marketplace="", settlement_id=settlement_id),
    ]


def test_a_booked_settlement_reconciles() -> None:
    result = reconcile_settlement("1001", booked("26.00", sale_lines()))
    assert result.balanced
    assert (result.total_amount, result.lines_sum, result.clearing_balance) == (
        Decimal("26.00"),
        Decimal("26.00"),
        Decimal(0),
    )
    assert result.difference == 0 and result.paid == Decimal("26.00")
    assert result.breakdown == {
        "fee_referral": Decimal("-3.00"),
        "payout": Decimal("26.00"),
        "sales": Decimal("30.00"),
        "storage": Decimal("-1.00"),
    }


def test_to_json_has_the_fixed_keys_first_and_money_as_strings() -> None:
    result = reconcile_settlement("1001", booked("26.00", sale_lines()))
    data = json.loads(result.to_json())
    assert list(data)[:6] == [
        "settlement_id",
        "currency",
        "total_amount",
        "lines_sum",
        "clearing_balance",
        "balanced",
    ]
    assert data["total_amount"] == "26.00" and data["clearing_balance"] == "0.00"
    assert data["balanced"] is True
    assert data["breakdown"]["sales"] == "30.00"
    assert "invoiced_unsettled" not in data  # summary mode has no per-order findings


def test_reserve_carried_between_two_settlements_shows_in_both_breakdowns() -> None:
    first = [
        line(2, SALE, "100.00"),
        line(3, RESERVE_HELD, "-40.00", marketplace=""),
        line(4, RESERVE_RELEASED, "25.00", marketplace=""),
    ]
    second = [
        line(2, SALE, "50.00", settlement_id="1002"),
        line(3, RESERVE_RELEASED, "40.00", marketplace="", settlement_id="1002"),
        line(4, RESERVE_HELD, "-10.00", marketplace="", settlement_id="1002"),
    ]
    entries = booked("85.00", first) + booked("80.00", second, settlement_id="1002")
    one = reconcile_settlement("1001", entries)
    two = reconcile_settlement("1002", entries)
    assert one.balanced and two.balanced
    assert one.breakdown["reserve_carried_out"] == Decimal("-40.00")
    assert one.breakdown["reserve_carried_in"] == Decimal("25.00")
    assert two.breakdown["reserve_carried_in"] == Decimal("40.00")  # what the first held back
    assert two.breakdown["reserve_carried_out"] == Decimal("-10.00")
    reserve = sum(
        (p.amount for e in entries for p in e.postings if p.account == "Assets:Amazon:Reserve"),
        Decimal(0),
    )
    assert reserve == Decimal("-15.00")  # 25.00 released from before, 10.00 held at the end


def test_a_released_difference_is_balanced_but_visible() -> None:
    decision = HoldRelease(
        note="missing line, confirmed", book_difference_to="Expenses:Amazon:Unreconciled"
    )
    booking = release_hold(header("25.00"), sale_lines(), RULES, decision)
    result = reconcile_settlement("1001", booking.entries)
    assert result.balanced
    assert result.lines_sum == Decimal("26.00")
    assert result.difference == result.booked_difference == Decimal("-1.00")
    assert result.breakdown["unreconciled"] == Decimal("-1.00")
    assert result.to_dict()["booked_difference"] == "-1.00"


def test_a_reversed_payout_leaves_clearing_open() -> None:
    entries = booked("26.00", sale_lines())
    payout = entries[-1]
    result = reconcile_settlement("1001", (*entries, reverse(payout, reason="bounced")))
    assert not result.balanced
    assert result.clearing_balance == Decimal("26.00") and result.paid == 0


def test_a_reversed_and_rebooked_settlement_reconciles_again() -> None:
    entries = booked("26.00", sale_lines())
    reversals = tuple(reverse(e) for e in entries)
    assert reconcile_settlement("1001", (*entries, *reversals, *entries)).balanced


def test_per_order_findings() -> None:
    entries = booked("26.00", sale_lines(), mode="per-order")
    orders = {e.meta["order_id"]: e for e in entries if e.kind == "order"}
    assert reconcile_settlement("1001", entries).orders_match

    stray = JournalEntry(
        id=entry_id("test", "order", "C"),
        date=orders["A"].date,
        description="Amazon order C, invoiced from the Orders API",
        source_ref="amazon:order:C",
        postings=(
            Posting("Assets:Amazon:Receivable", Decimal("9.00"), "USD", "US", "receivable"),
            Posting("Income:Amazon:Sales", Decimal("-9.00"), "USD", "US", "sales"),
        ),
        kind="order",
        meta={"order_id": "C"},
    )
    changed = dataclasses.replace(
        orders["A"],
        postings=(
            Posting("Assets:Amazon:Receivable", Decimal("21.00"), "USD", "US", "receivable"),
            Posting("Income:Amazon:Sales", Decimal("-21.00"), "USD", "US", "sales"),
        ),
    )
    others = [e for e in entries if e.kind != "order"]
    result = reconcile_settlement("1001", [*others, changed, stray])
    assert result.balanced and not result.orders_match
    assert [(f.order_id, f.invoiced, f.settled) for f in result.invoiced_unsettled] == [
        ("C", Decimal("9.00"), Decimal(0))
    ]
    assert [(f.order_id, f.settled) for f in result.settled_uninvoiced] == [("B", Decimal("10.00"))]
    assert [(f.order_id, f.difference) for f in result.amount_differences] == [
        ("A", Decimal("1.00"))
    ]
    data = result.to_dict()
    assert data["orders_match"] is False
    assert data["amount_differences"] == [
        {"order_id": "A", "invoiced": "21.00", "settled": "20.00", "difference": "1.00"}
    ]
    assert result.breakdown["receivable"] == Decimal("30.00")


def test_no_entries_for_the_settlement_is_an_error() -> None:
    with pytest.raises(InputError, match="settlement 42"):
        reconcile_settlement("42", booked("26.00", sale_lines()))


def test_entries_disagreeing_on_the_settlement_facts_are_an_error() -> None:
    entries = booked("26.00", sale_lines())
    other = dataclasses.replace(
        entries[-1], id=entry_id("other"), meta={**entries[-1].meta, "total_amount": "99.00"}
    )
    with pytest.raises(InputError, match="disagree"):
        reconcile_settlement("1001", (*entries, other))
