"""Booking settlements: worked examples of both modes, every hold, releases and unmapped lines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from test_posting_fixtures import (
    COMMISSION,
    FBA_FEE,
    PROMOTION,
    REFUND,
    RESERVE_HELD,
    RESERVE_RELEASED,
    SALE,
    STORAGE,
    TAX,
    WITHHELD,
    header,
    line,
    total_of,
)

from ml_connector.ledger.entries import JournalEntry
from ml_connector.ledger.errors import InputError
from ml_connector.ledger.posting import (
    HOLD_FOREIGN_LINE,
    HOLD_LINES_DO_NOT_SUM,
    HOLD_MIXED_CURRENCIES,
    HOLD_RESERVE_UNPAIRED,
    HOLD_SUMMARY_MISSING,
    HoldRelease,
    book_settlement,
    release_hold,
)
from ml_connector.ledger.rules import Rule, default_rules

RULES = default_rules()
ORDER = "111-2223334-5556667"


def postings_of(entry: JournalEntry) -> set[tuple[str, str, str | None, str | None]]:
    return {(p.account, str(p.amount), p.marketplace, p.memo) for p in entry.postings}


def one_sale() -> list:
    return [
        line(2, SALE, "20.00", order_id=ORDER),
        line(3, TAX, "1.50", order_id=ORDER),
        line(4, WITHHELD, "-1.50", order_id=ORDER),
        line(5, COMMISSION, "-3.00", order_id=ORDER),
        line(6, FBA_FEE, "-2.50", order_id=ORDER),
        line(7, STORAGE, "-0.40", marketplace=""),
    ]


# --- summary mode ---------------------------------------------------------------------------


def test_summary_books_one_settlement_entry_and_the_payout() -> None:
    booking = book_settlement(header("14.10"), one_sale(), RULES)
    assert booking.status == "booked" and booking.booked
    settlement, payout = booking.entries
    assert settlement.kind == "settlement" and payout.kind == "payout"
    assert postings_of(settlement) == {
        ("Assets:Amazon:Clearing:US", "14.10", "US", "clearing"),
        ("Income:Amazon:Sales", "-20.00", "US", "sales"),
        ("Liabilities:SalesTax:MarketplaceFacilitator", "-1.50", "US", "tax"),
        ("Liabilities:SalesTax:MarketplaceFacilitator", "1.50", "US", "facilitator_tax"),
        ("Expenses:Amazon:ReferralFees", "3.00", "US", "fee_referral"),
        ("Expenses:Amazon:FBAFees", "2.50", "US", "fee_fba"),
        ("Expenses:Amazon:StorageFees", "0.40", "US", "storage"),
    }
    assert postings_of(payout) == {
        ("Assets:Amazon:Clearing:US", "-14.10", "US", "clearing"),
        ("Assets:Bank:AmazonPayouts", "14.10", "US", "payout"),
    }
    assert settlement.date == dt.date(2024, 2, 8)  # the settlement's end
    assert payout.date == dt.date(2024, 2, 10)  # the deposit date
    assert payout.description == "Amazon payout for settlement 1001: deposit of 14.10 USD"
    assert settlement.source_ref == payout.source_ref == "amazon:settlement:1001"
    assert dict(settlement.meta) == {
        "settlement_id": "1001",
        "total_amount": "14.10",
        "currency": "USD",
        "deposit_date": "2024-02-10T00:00:00+00:00",
        "start": "2024-01-25T00:00:00+00:00",
        "end": "2024-02-08T00:00:00+00:00",
        "mode": "summary",
    }


def test_lines_of_one_group_are_summed_into_one_posting() -> None:
    lines = [line(2, SALE, "10.00", order_id="A"), line(3, SALE, "5.00", order_id="B")]
    settlement, _ = book_settlement(header("15.00"), lines, RULES).entries
    assert ("Income:Amazon:Sales", "-15.00", "US", "sales") in postings_of(settlement)
    assert len(settlement.postings) == 2


def test_each_marketplace_clears_separately_and_blank_lines_go_to_the_main_one() -> None:
    lines = [
        line(2, SALE, "30.00", marketplace="Amazon.ca"),
        line(3, SALE, "20.00", marketplace="Amazon.com"),
        line(4, SALE, "10.00", marketplace="Amazon.com"),
        line(5, STORAGE, "-1.00", marketplace=""),
    ]
    settlement, payout = book_settlement(header("59.00"), lines, RULES).entries
    assert ("Assets:Amazon:Clearing:US", "29.00", "US", "clearing") in postings_of(settlement)
    assert ("Assets:Amazon:Clearing:CA", "30.00", "CA", "clearing") in postings_of(settlement)
    assert ("Expenses:Amazon:StorageFees", "1.00", "US", "storage") in postings_of(settlement)
    assert ("Assets:Amazon:Clearing:US", "-29.00", "US", "clearing") in postings_of(payout)
    assert ("Assets:Amazon:Clearing:CA", "-30.00", "CA", "clearing") in postings_of(payout)


def test_a_tie_for_main_marketplace_goes_to_the_first_code_by_name() -> None:
    lines = [
        line(2, SALE, "1.00", marketplace="Amazon.com"),
        line(3, SALE, "1.00", marketplace="Amazon.ca"),
        line(4, STORAGE, "-0.50", marketplace=""),
    ]
    settlement, _ = book_settlement(header("1.50"), lines, RULES).entries
    assert ("Expenses:Amazon:StorageFees", "0.50", "CA", "storage") in postings_of(settlement)


def test_with_no_marketplace_named_the_currency_decides() -> None:
    lines = [line(2, STORAGE, "-5", currency="JPY", marketplace="")]
    settlement, _ = book_settlement(header("-5", currency="JPY"), lines, RULES).entries
    assert ("Assets:Amazon:Clearing:JP", "-5", "JP", "clearing") in postings_of(settlement)


def test_a_jpy_settlement_books_whole_yen() -> None:
    lines = [
        line(2, SALE, "1500", currency="JPY", marketplace="Amazon.co.jp", order_id=ORDER),
        line(3, COMMISSION, "-225", currency="JPY", marketplace="Amazon.co.jp", order_id=ORDER),
    ]
    booking = book_settlement(header("1275", currency="JPY"), lines, RULES)
    settlement, payout = booking.entries
    assert ("Income:Amazon:Sales", "-1500", "JP", "sales") in postings_of(settlement)
    assert ("Assets:Bank:AmazonPayouts", "1275", "JP", "payout") in postings_of(payout)
    assert payout.description.endswith("deposit of 1,275 JPY")
    assert settlement.meta["total_amount"] == "1275"


def test_a_negative_settlement_books_as_a_charge_to_the_bank() -> None:
    lines = [line(2, STORAGE, "-40.00", marketplace=""), line(3, SALE, "15.00")]
    booking = book_settlement(header("-25.00"), lines, RULES)
    _, payout = booking.entries
    assert ("Assets:Bank:AmazonPayouts", "-25.00", "US", "payout") in postings_of(payout)
    assert ("Assets:Amazon:Clearing:US", "25.00", "US", "clearing") in postings_of(payout)
    assert "charge" in payout.description and "25.00 USD taken from the bank" in payout.description


def test_a_settlement_of_zero_still_records_its_payout() -> None:
    lines = [line(2, SALE, "5.00"), line(3, REFUND, "-5.00")]
    booking = book_settlement(header("0.00"), lines, RULES)
    settlement, payout = booking.entries
    assert "paid nothing" in payout.description
    assert sum((p.amount for p in payout.postings), Decimal(0)) == 0
    assert payout.meta["total_amount"] == "0.00"


def test_the_payout_account_can_be_chosen() -> None:
    booking = book_settlement(
        header("14.10"), one_sale(), RULES, payout_account="Assets:Bank:Checking"
    )
    assert ("Assets:Bank:Checking", "14.10", "US", "payout") in postings_of(booking.entries[-1])


def test_reserve_lines_move_money_between_clearing_and_the_reserve() -> None:
    lines = [
        line(2, SALE, "100.00"),
        line(3, RESERVE_HELD, "-60.00", marketplace=""),
        line(4, RESERVE_RELEASED, "45.00", marketplace=""),
    ]
    settlement, _ = book_settlement(header("85.00"), lines, RULES).entries
    assert ("Assets:Amazon:Reserve", "60.00", "US", "reserve_carried_out") in postings_of(
        settlement
    )
    assert ("Assets:Amazon:Reserve", "-45.00", "US", "reserve_carried_in") in postings_of(
        settlement
    )


def test_user_overrides_win_over_the_defaults() -> None:
    own = Rule("*", "*", "Storage Fee", "Expenses:Warehouse:Amazon", "storage")
    booking = book_settlement(header("14.10"), one_sale(), RULES.with_overrides([own]))
    assert ("Expenses:Warehouse:Amazon", "0.40", "US", "storage") in postings_of(booking.entries[0])


def test_combinations_match_whatever_their_case() -> None:
    lines = [line(2, ("other-Transaction", "Other-Transaction", " storage fee "), "-1.00")]
    booking = book_settlement(header("-1.00"), lines, RULES)
    assert booking.status == "booked"


# --- per-order mode ---------------------------------------------------------------------------


def test_per_order_invoices_each_order_and_clears_the_receivable() -> None:
    lines = [*one_sale(), line(8, PROMOTION, "-2.00", order_id=ORDER)]
    booking = book_settlement(header("12.10"), lines, RULES, mode="per-order")
    order, paid, settlement, payout = booking.entries
    assert order.kind == "order"
    assert order.source_ref == f"amazon:order:{ORDER}"
    assert order.meta["order_id"] == ORDER and order.meta["mode"] == "per-order"
    assert order.date == dt.date(2024, 2, 1)
    assert postings_of(order) == {
        ("Assets:Amazon:Receivable", "19.50", "US", "receivable"),
        ("Income:Amazon:Sales", "-20.00", "US", "sales"),
        ("Liabilities:SalesTax:MarketplaceFacilitator", "-1.50", "US", "tax"),
        ("Income:Amazon:Promotions", "2.00", "US", "promotion"),
    }
    # The settlement pays the order's receivable in an entry of its own (one per batch of
    # orders), moving what the order's lines put in clearing to the receivable.
    assert (
        paid.kind == "settlement" and paid.meta["settlement_id"] == settlement.meta["settlement_id"]
    )
    assert postings_of(paid) == {
        ("Assets:Amazon:Clearing:US", "19.50", "US", "clearing"),
        ("Assets:Amazon:Receivable", "-19.50", "US", f"receivable {ORDER}"),
    }
    assert postings_of(settlement) == {
        ("Assets:Amazon:Clearing:US", "-7.40", "US", "clearing"),
        ("Liabilities:SalesTax:MarketplaceFacilitator", "1.50", "US", "facilitator_tax"),
        ("Expenses:Amazon:ReferralFees", "3.00", "US", "fee_referral"),
        ("Expenses:Amazon:FBAFees", "2.50", "US", "fee_fba"),
        ("Expenses:Amazon:StorageFees", "0.40", "US", "storage"),
    }
    assert not any(p.account == "Income:Amazon:Sales" for p in settlement.postings)
    assert postings_of(payout) == postings_of(
        book_settlement(header("12.10"), lines, RULES).entries[-1]
    )


def test_per_order_pays_receivables_in_balanced_batches_of_orders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("ml_connector.ledger.posting.booking.RECEIVABLE_BATCH", 2)
    orders = [f"111-0000000-000000{n}" for n in (5, 1, 4, 2, 3)]  # not in id order
    lines = [line(n + 2, SALE, f"1{n}.00", order_id=order) for n, order in enumerate(orders)]
    booking = book_settlement(header(str(total_of(lines))), lines, RULES, mode="per-order")
    paying = [e for e in booking.entries if e.meta.get("batch") is not None]
    assert [e.meta["batch"] for e in paying] == ["0", "1", "2"]
    paid: list[str] = []
    for entry in paying:
        assert entry.kind == "settlement"
        assert sum(p.amount for p in entry.postings) == 0
        paid += [p.memo.split(" ", 1)[1] for p in entry.postings if p.amount < 0]
    assert paid == sorted(orders)  # two orders an entry, in order id order
    receivable = sum(
        p.amount
        for e in booking.entries
        for p in e.postings
        if p.account == "Assets:Amazon:Receivable"
    )
    assert receivable == 0
    shuffled = book_settlement(header(str(total_of(lines))), lines[::-1], RULES, mode="per-order")
    assert [(e.id, e.content_hash) for e in shuffled.entries] == [
        (e.id, e.content_hash) for e in booking.entries
    ]


def test_per_order_refunds_stay_in_the_settlement_entry() -> None:
    lines = [
        line(2, REFUND, "-20.00", order_id=ORDER),
        line(3, ("Refund", "ItemFees", "Commission"), "3.00", order_id=ORDER),
    ]
    booking = book_settlement(header("-17.00"), lines, RULES, mode="per-order")
    assert [e.kind for e in booking.entries] == ["settlement", "payout"]
    assert ("Income:Amazon:Refunds", "20.00", "US", "refund") in postings_of(booking.entries[0])


def test_an_order_whose_charges_cancel_out_leaves_nothing_to_receive() -> None:
    lines = [line(2, SALE, "10.00", order_id=ORDER), line(3, PROMOTION, "-10.00", order_id=ORDER)]
    booking = book_settlement(header("0.00"), lines, RULES, mode="per-order")
    # The sale and its discount are still booked; nothing is receivable, so the settlement
    # entry (every amount of which nets to zero) is left out.
    order, payout = booking.entries
    assert postings_of(order) == {
        ("Income:Amazon:Sales", "-10.00", "US", "sales"),
        ("Income:Amazon:Promotions", "10.00", "US", "promotion"),
    }
    assert payout.kind == "payout"


# --- month split ------------------------------------------------------------------------------


def test_month_split_books_one_entry_per_month_and_the_payout_on_the_deposit_date() -> None:
    lines = [
        line(2, SALE, "10.00", posted=dt.date(2024, 1, 30)),
        line(3, COMMISSION, "-1.50", posted=dt.date(2024, 1, 31)),
        line(4, SALE, "7.00", posted=dt.date(2024, 2, 3)),
        line(5, STORAGE, "-0.20", posted=None),  # no posted date: the settlement's end month
    ]
    booking = book_settlement(header("15.30"), lines, RULES, split_by_month=True)
    january, february, payout = booking.entries
    assert (january.meta["month"], january.date) == ("2024-01", dt.date(2024, 1, 31))
    assert (february.meta["month"], february.date) == ("2024-02", dt.date(2024, 2, 8))
    assert ("Assets:Amazon:Clearing:US", "8.50", "US", "clearing") in postings_of(january)
    assert ("Assets:Amazon:Clearing:US", "6.80", "US", "clearing") in postings_of(february)
    assert payout.date == dt.date(2024, 2, 10)
    assert ("Assets:Bank:AmazonPayouts", "15.30", "US", "payout") in postings_of(payout)
    assert january.id != february.id
    assert "lines posted in 2024-01" in january.description


# --- holds ------------------------------------------------------------------------------------


def test_lines_not_summing_to_the_total_hold_the_settlement() -> None:
    lines = [line(2, SALE, "1234.56")]
    booking = book_settlement(header("1230.00"), lines, RULES)
    assert booking.status == "hold" and booking.entries == ()
    (reason,) = booking.hold_reasons
    assert reason.code == HOLD_LINES_DO_NOT_SUM and reason.releasable
    assert reason.message.startswith(
        "Lines sum to 1,234.56 USD but Amazon reports a deposit of 1,230.00 USD: "
        "a difference of 4.56 USD. Usually a line is missing from the file; download"
    )


def test_a_missing_summary_row_holds_the_settlement() -> None:
    booking = book_settlement(None, one_sale(), RULES)
    assert booking.status == "hold" and booking.entries == ()
    assert booking.settlement_id == "1001"
    (reason,) = booking.hold_reasons
    assert reason.code == HOLD_SUMMARY_MISSING and not reason.releasable
    assert "no summary row" in reason.message


@pytest.mark.parametrize(
    ("reserve_line", "says"),
    [
        (line(3, RESERVE_HELD, "-50.00", marketplace=""), "holds back a reserve of 50.00 USD"),
        (line(3, RESERVE_RELEASED, "50.00", marketplace=""), "releases a reserve of 50.00 USD"),
    ],
    ids=["held-without-release", "released-without-hold"],
)
def test_a_reserve_line_without_its_pair_holds_the_settlement(reserve_line, says: str) -> None:
    lines = [line(2, SALE, "100.00"), reserve_line]
    booking = book_settlement(header(total_of(lines)), lines, RULES)
    assert booking.status == "hold"
    (reason,) = booking.hold_reasons
    assert reason.code == HOLD_RESERVE_UNPAIRED and reason.releasable
    assert says in reason.message


def test_mixed_currencies_hold_the_settlement() -> None:
    lines = [
        line(2, SALE, "10.00"),
        line(3, SALE, "10.00", currency="EUR", marketplace="Amazon.de"),
    ]
    booking = book_settlement(header("20.00"), lines, RULES)
    (reason,) = booking.hold_reasons
    assert reason.code == HOLD_MIXED_CURRENCIES and not reason.releasable
    assert "EUR, USD" in reason.message and "settlement.txt line 3" in reason.message


def test_a_line_of_another_settlement_holds_the_settlement() -> None:
    lines = [line(2, SALE, "10.00"), line(3, SALE, "5.00", settlement_id="999")]
    booking = book_settlement(header("15.00"), lines, RULES)
    (reason,) = booking.hold_reasons
    assert reason.code == HOLD_FOREIGN_LINE and not reason.releasable
    assert "belong to settlement 999, not 1001" in reason.message


# --- unmapped ---------------------------------------------------------------------------------


def test_unknown_combinations_are_reported_once_with_a_count_and_an_example() -> None:
    odd = ("other-transaction", "other-transaction", "Something New From Amazon")
    lines = [
        line(2, SALE, "10.00"),
        line(9, odd, "-3.00", order_id="X-2"),
        line(4, odd, "-1.00", order_id="X-1"),
    ]
    booking = book_settlement(header("6.00"), lines, RULES)
    assert booking.status == "unmapped" and booking.entries == ()
    (unmapped,) = booking.unmapped
    assert unmapped.combination == odd and unmapped.line_count == 2
    assert unmapped.example.line_no == 4  # the first in the file, whatever order lines came in
    assert unmapped.example_text == "settlement.txt line 4, order X-1, -1.00 USD"
    assert unmapped.to_dict()["example"] == {
        "source": "settlement.txt",
        "line": 4,
        "order_id": "X-1",
        "amount": "-1.00",
        "currency": "USD",
    }


def test_a_hold_outranks_unmapped_lines_but_both_are_reported() -> None:
    lines = [line(2, ("Order", "Mystery", "Thing"), "10.00")]
    booking = book_settlement(header("11.00"), lines, RULES)
    assert booking.status == "hold"
    assert [r.code for r in booking.hold_reasons] == [HOLD_LINES_DO_NOT_SUM]
    assert [u.combination for u in booking.unmapped] == [("Order", "Mystery", "Thing")]


# --- releasing a hold -------------------------------------------------------------------------


def test_releasing_a_difference_books_it_visibly_and_records_the_decision() -> None:
    lines = [line(2, SALE, "1234.56")]
    decision = HoldRelease(
        note="Amazon support confirmed a missing fee line (case 123)",
        book_difference_to="Expenses:Amazon:Unreconciled",
    )
    booking = release_hold(header("1230.00"), lines, RULES, decision)
    assert booking.status == "booked"
    settlement, payout = booking.entries
    assert ("Expenses:Amazon:Unreconciled", "4.56", "US", "unreconciled") in postings_of(settlement)
    assert ("Assets:Amazon:Clearing:US", "1230.00", "US", "clearing") in postings_of(settlement)
    assert ("Assets:Bank:AmazonPayouts", "1230.00", "US", "payout") in postings_of(payout)
    for entry in booking.entries:
        assert entry.meta["release_holds"] == "lines_do_not_sum"
        assert (
            entry.meta["release_note"] == "Amazon support confirmed a missing fee line (case 123)"
        )
        assert entry.meta["release_difference"] == "-4.56"
        assert entry.meta["release_difference_account"] == "Expenses:Amazon:Unreconciled"


def test_releasing_an_unpaired_reserve() -> None:
    lines = [line(2, SALE, "100.00"), line(3, RESERVE_HELD, "-50.00", marketplace="")]
    decision = HoldRelease(note="first settlement with a reserve", accept_unpaired_reserve=True)
    booking = release_hold(header("50.00"), lines, RULES, decision)
    assert booking.status == "booked"
    assert booking.entries[0].meta["release_holds"] == "reserve_unpaired"


def test_a_release_leaves_other_holds_in_place() -> None:
    lines = [line(2, SALE, "100.00"), line(3, RESERVE_HELD, "-50.00", marketplace="")]
    decision = HoldRelease(note="n", book_difference_to="Expenses:Amazon:Unreconciled")
    booking = release_hold(header("40.00"), lines, RULES, decision)
    assert booking.status == "hold"
    assert [r.code for r in booking.hold_reasons] == [HOLD_RESERVE_UNPAIRED]


def test_a_stale_decision_is_refused() -> None:
    decision = HoldRelease(note="n", book_difference_to="Expenses:Amazon:Unreconciled")
    with pytest.raises(InputError, match="not held for lines_do_not_sum"):
        release_hold(header("14.10"), one_sale(), RULES, decision)


def test_month_split_puts_a_released_difference_in_the_last_month() -> None:
    lines = [
        line(2, SALE, "10.00", posted=dt.date(2024, 1, 30)),
        line(3, SALE, "5.00", posted=dt.date(2024, 2, 2)),
    ]
    decision = HoldRelease(note="n", book_difference_to="Expenses:Amazon:Unreconciled")
    booking = release_hold(header("14.00"), lines, RULES, decision, split_by_month=True)
    january, february, _ = booking.entries
    assert not any(p.memo == "unreconciled" for p in january.postings)
    assert ("Expenses:Amazon:Unreconciled", "1.00", "US", "unreconciled") in postings_of(february)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"note": "  "}, "needs a note"),
        ({"note": "n"}, "releases nothing"),
        ({"note": "n", "book_difference_to": "Assets:Amazon:Clearing:US"}, "clearing"),
        ({"note": "n", "book_difference_to": "Nowhere:Account"}, "account must start"),
    ],
)
def test_a_release_decision_must_be_complete(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        HoldRelease(**kwargs)


# --- arguments ----------------------------------------------------------------------------------


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(InputError, match="mode must be one of"):
        book_settlement(header("14.10"), one_sale(), RULES, mode="daily")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="clearing"):
        book_settlement(
            header("14.10"), one_sale(), RULES, payout_account="Assets:Amazon:Clearing:US"
        )
