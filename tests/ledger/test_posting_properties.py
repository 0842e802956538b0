"""Invariants of booking, over generated settlements (hypothesis).

For any settlement Amazon could send, in both modes, split by month or not: the entries
balance, the lines put exactly the total into clearing, clearing nets to zero, the bank receives
the total, and booking is deterministic (twice, or with the lines shuffled, gives the same ids and
content hashes).
"""

from __future__ import annotations

import random
from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_posting_fixtures import settlements

from ml_connector.ledger.entries import JournalEntry, totals_by_currency
from ml_connector.ledger.posting import book_settlement
from ml_connector.ledger.posting.conventions import (
    KIND_ORDER,
    KIND_PAYOUT,
    KIND_SETTLEMENT,
    RECEIVABLE_ACCOUNT,
    is_clearing,
)
from ml_connector.ledger.reconcile import reconcile_settlement
from ml_connector.ledger.rules import default_rules

RULES = default_rules()
MODES = ("summary", "per-order")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("split", [False, True], ids=["whole", "by-month"])
@given(settlement=settlements())
def test_booked_settlement_balances_and_clears(mode: str, split: bool, settlement: tuple) -> None:
    summary, lines = settlement
    booking = book_settlement(summary, lines, RULES, mode=mode, split_by_month=split)  # type: ignore[arg-type]
    assert booking.status == "booked", (booking.hold_reasons, booking.unmapped)
    entries = booking.entries
    for entry in entries:
        assert all(total == 0 for total in totals_by_currency(entry.postings).values())
        assert {p.currency for p in entry.postings} == {summary.currency}
        assert all(p.marketplace for p in entry.postings)
        assert entry.meta["settlement_id"] == summary.settlement_id
    clearing = [p for e in entries for p in e.postings if is_clearing(p.account)]
    put_in = sum(
        (
            p.amount
            for e in entries
            if e.kind == KIND_SETTLEMENT
            for p in e.postings
            if is_clearing(p.account)
        ),
        Decimal(0),
    )
    assert put_in == summary.total_amount
    by_account: defaultdict[str, Decimal] = defaultdict(Decimal)
    for posting in clearing:
        by_account[posting.account] += posting.amount
    assert all(balance == 0 for balance in by_account.values())
    paid = sum(
        (
            p.amount
            for e in entries
            if e.kind == KIND_PAYOUT
            for p in e.postings
            if p.account == "Assets:Bank:AmazonPayouts"
        ),
        Decimal(0),
    )
    assert paid == summary.total_amount
    receivable = sum(
        (p.amount for e in entries for p in e.postings if p.account == RECEIVABLE_ACCOUNT),
        Decimal(0),
    )
    assert receivable == 0  # per-order: every invoice is cleared by its own settlement
    if mode == "summary":
        assert not [e for e in entries if e.kind == KIND_ORDER]
    if split:
        # One entry of lines per month; the receivable entries (Cr receivable per order, Dr
        # clearing) come in batches of orders per month besides them.
        months = [
            e.meta["month"]
            for e in entries
            if e.kind == KIND_SETTLEMENT and not _pays_receivables(e)
        ]
        assert months == sorted(set(months))
        for entry in entries:
            if entry.kind == KIND_SETTLEMENT:
                assert f"{entry.date:%Y-%m}" == entry.meta["month"]
    reconciliation = reconcile_settlement(summary.settlement_id, entries)
    assert reconciliation.balanced
    assert reconciliation.lines_sum == summary.total_amount
    assert reconciliation.orders_match
    categories = sum((v for k, v in reconciliation.breakdown.items() if k != "payout"), Decimal(0))
    assert categories == summary.total_amount == reconciliation.breakdown.get("payout", Decimal(0))


@pytest.mark.parametrize("mode", MODES)
@given(settlement=settlements(), split=st.booleans(), seed=st.integers(0, 2**32))
def test_booking_is_deterministic_and_order_blind(
    mode: str, settlement: tuple, split: bool, seed: int
) -> None:
    summary, lines = settlement
    first = book_settlement(summary, lines, RULES, mode=mode, split_by_month=split)  # type: ignore[arg-type]
    again = book_settlement(summary, lines, RULES, mode=mode, split_by_month=split)  # type: ignore[arg-type]
    shuffled_lines = list(lines)
    random.Random(seed).shuffle(shuffled_lines)
    shuffled = book_settlement(summary, shuffled_lines, RULES, mode=mode, split_by_month=split)  # type: ignore[arg-type]
    fingerprint = [(e.id, e.content_hash) for e in first.entries]
    assert fingerprint == [(e.id, e.content_hash) for e in again.entries]
    assert fingerprint == [(e.id, e.content_hash) for e in shuffled.entries]
    assert len({e.id for e in first.entries}) == len(first.entries)


@given(settlement=settlements(min_lines=2))
def test_month_split_parts_add_up_to_the_whole(settlement: tuple) -> None:
    summary, lines = settlement
    whole = book_settlement(summary, lines, RULES)
    split = book_settlement(summary, lines, RULES, split_by_month=True)

    def sums(entries: tuple) -> dict[tuple[str, str | None, str | None], Decimal]:
        totals: defaultdict[tuple[str, str | None, str | None], Decimal] = defaultdict(Decimal)
        for entry in entries:
            for p in entry.postings:
                totals[(p.account, p.marketplace, p.memo)] += p.amount
        return {key: value for key, value in totals.items() if value != 0}

    assert sums(whole.entries) == sums(split.entries)
    payouts = [e for e in split.entries if e.kind == KIND_PAYOUT]
    assert [e.date for e in payouts] == [summary.deposit_date.date()] * len(payouts)
    assert [e for e in whole.entries if e.kind == KIND_PAYOUT] == payouts


def _pays_receivables(entry: JournalEntry) -> bool:
    """A per-order receivable entry: nothing but clearing and receivable postings."""
    return all(
        p.account == RECEIVABLE_ACCOUNT or p.account.startswith("Assets:Amazon:Clearing:")
        for p in entry.postings
    ) and any(p.account == RECEIVABLE_ACCOUNT for p in entry.postings)
