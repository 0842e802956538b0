"""Comparing Finances API event lines with the settlement report's lines."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from test_posting_fixtures import COMMISSION, SALE, STORAGE, line, settlements

from ml_connector.ledger.posting import compare_lines


def test_agreeing_sources_have_no_differences() -> None:
    report = [line(2, SALE, "10.00", order_id="A"), line(3, COMMISSION, "-1.50", order_id="A")]
    events = [line(1, COMMISSION, "-1.50", order_id="A"), line(2, SALE, "10.00", order_id="A")]
    assert compare_lines(events, report) == []


def test_amounts_are_summed_per_order_and_combination_before_comparing() -> None:
    report = [line(2, SALE, "10.00", order_id="A"), line(3, SALE, "5.00", order_id="A")]
    events = [line(1, SALE, "15.00", order_id="A")]
    assert compare_lines(events, report) == []


def test_each_kind_of_difference_is_reported() -> None:
    report = [
        line(2, SALE, "10.00", order_id="A"),
        line(3, COMMISSION, "-1.50", order_id="A"),
        line(4, STORAGE, "-0.30", marketplace=""),
    ]
    events = [
        line(1, SALE, "10.00", order_id="A"),
        line(2, COMMISSION, "-1.60", order_id="A"),
        line(3, SALE, "7.00", order_id="B"),
    ]
    found = compare_lines(events, report)
    assert [(d.order_id, d.combination, d.kind) for d in found] == [
        ("", STORAGE, "missing_in_events"),
        ("A", COMMISSION, "amount_differs"),
        ("B", SALE, "missing_in_report"),
    ]
    storage, commission, sale = found
    assert commission.difference == Decimal("-0.10")
    assert (sale.event_lines, sale.report_lines, sale.report_amount) == (1, 0, Decimal(0))
    assert commission.to_dict() == {
        "order_id": "A",
        "transaction_type": "Order",
        "amount_type": "ItemFees",
        "amount_description": "Commission",
        "currency": "USD",
        "kind": "amount_differs",
        "event_amount": "-1.60",
        "report_amount": "-1.50",
        "difference": "-0.10",
        "event_lines": 1,
        "report_lines": 1,
    }
    assert storage.report_amount == Decimal("-0.30")


def test_combinations_compare_like_rules_do() -> None:
    report = [line(2, SALE, "10.00", order_id="A")]
    events = [line(1, ("ORDER", " itemprice", "principal "), "10.00", order_id="A")]
    assert compare_lines(events, report) == []


@given(settlements(), st.randoms(use_true_random=False))
def test_a_source_matches_itself_in_any_order(settlement: tuple, rng) -> None:
    _, lines = settlement
    shuffled = list(lines)
    rng.shuffle(shuffled)
    assert compare_lines(shuffled, lines) == []
    if lines:
        assert compare_lines(lines[1:], lines) != [] or lines[0].amount == 0
