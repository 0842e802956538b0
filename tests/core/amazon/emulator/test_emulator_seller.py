"""The generated seller: settlements reconcile, and orders, events and settlements agree."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from emulator_session import described, event_amounts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml_connector.core.amazon.emulator import generate_seller
from ml_connector.core.amazon.emulator.finances import render_event
from ml_connector.core.amazon.emulator.statements import NON_ORDER_ROWS, lines_total, settlement_of
from ml_connector.core.amazon.emulator.truth import Kind, Seller
from ml_connector.ledger.errors import InputError
from ml_connector.ledger.money import is_exact


def assert_consistent(seller: Seller) -> None:
    closed = [g for g in seller.groups if g.closed]
    assert len(closed) == len(seller.settlements)
    by_id = {header.settlement_id: (header, lines) for header, lines in seller.settlements}
    for group in closed:
        header, lines = by_id[group.settlement_id]
        # Each settlement's lines sum exactly to its total, in its currency's minor unit.
        assert lines_total(lines) == header.total_amount
        assert all(is_exact(line.amount, header.currency) for line in lines)
        assert all(line.currency == header.currency for line in lines)
        assert [line.line_no for line in lines] == list(range(3, 3 + len(lines)))
        # The settlement lines of each order equal its financial events, amount by amount.
        from_lines: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
        for line in lines:
            if line.order_id:
                key = (line.order_id, line.amount_type, line.amount_description)
                from_lines[key] += line.amount
        from_events: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
        non_order_events = Decimal(0)
        for transaction in group.transactions:
            rendered = render_event(transaction)
            if rendered is None:
                assert transaction.kind in (Kind.RESERVE_HELD, Kind.RESERVE_RELEASED)
                continue
            for order_id, kind, name, amount in event_amounts(*rendered):
                if order_id:
                    from_events[(order_id, kind, name)] += amount
                else:
                    non_order_events += amount
        assert from_lines == from_events
        # Events plus the reserve lines (which have no event) make the settlement total.
        reserve = described(lines, "Previous Reserve Amount Balance") + described(
            lines, "Current Reserve Amount"
        )
        other_lines = sum((line.amount for line in lines if not line.order_id), Decimal(0))
        assert other_lines - reserve == non_order_events
        assert sum(from_events.values(), Decimal(0)) + non_order_events + reserve == group.total


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=10**9),
    orders=st.integers(min_value=0, max_value=80),
    months=st.integers(min_value=1, max_value=3),
    markets=st.lists(
        st.sampled_from(["US", "CA", "UK", "DE", "JP", "FR", "SE", "AU"]),
        min_size=1,
        max_size=4,
        unique=True,
    ),
)
def test_every_seller_reconciles_and_its_views_agree(
    seed: int, orders: int, months: int, markets: list[str]
) -> None:
    seller = generate_seller(seed, orders, months, markets)
    assert len(seller.orders) == orders
    assert_consistent(seller)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10**9))
def test_reserves_carry_from_one_settlement_to_the_next(seed: int) -> None:
    seller = generate_seller(seed, 60)
    for market in seller.marketplaces:
        closed = [g for g in seller.groups if g.closed and g.marketplace == market]
        held_before = Decimal(0)
        for group in sorted(closed, key=lambda g: g.start):
            _, lines = settlement_of(group)
            assert described(lines, "Previous Reserve Amount Balance") == held_before
            assert group.beginning_balance == held_before
            held_before = -described(lines, "Current Reserve Amount")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10**9))
def test_one_settlement_is_negative_when_fees_exceed_sales(seed: int) -> None:
    seller = generate_seller(seed, 100)
    negative = [h for h, _ in seller.settlements if h.total_amount < 0]
    assert negative, "the generated history includes a settlement where Amazon charges"


def test_the_same_arguments_give_the_same_seller() -> None:
    first, second = generate_seller(11, 50), generate_seller(11, 50)
    assert first.orders == second.orders
    assert first.settlements == second.settlements
    assert generate_seller(12, 50).orders != first.orders


def test_the_seller_has_everything_a_connector_must_handle() -> None:
    seller = generate_seller(5, 400)
    combos = Counter(line.combination for _, lines in seller.settlements for line in lines)
    for needed in [
        ("Order", "ItemPrice", "Principal"),
        ("Order", "ItemPrice", "Shipping"),
        ("Order", "ItemPrice", "Tax"),
        ("Order", "ItemPrice", "GiftWrap"),
        ("Order", "Promotion", "Principal"),
        ("Order", "ItemFees", "Commission"),
        ("Order", "ItemFees", "FBAPerUnitFulfillmentFee"),
        ("Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal"),
        ("Refund", "ItemPrice", "Principal"),
        ("Refund", "ItemFees", "RefundCommission"),
        *NON_ORDER_ROWS.values(),
    ]:
        assert combos[needed], f"no settlement line {needed}"
    currencies = {header.currency for header, _ in seller.settlements}
    assert currencies == {"USD", "CAD", "GBP", "EUR", "JPY"}
    jpy = [line.amount for h, lines in seller.settlements if h.currency == "JPY" for line in lines]
    assert jpy and all(amount == amount.to_integral_value() for amount in jpy)
    assert {o.fulfilled_by for o in seller.orders} == {"AMAZON", "MERCHANT"}
    assert {o.status for o in seller.orders} >= {"SHIPPED", "CANCELLED"}
    # Settlements run every 14 days per marketplace and are paid the day after they end.
    for header, _ in seller.settlements:
        assert header.end - header.start == dt.timedelta(days=14)
        assert header.deposit_date - header.end == dt.timedelta(days=1)


def test_order_lines_match_the_order_charges() -> None:
    seller = generate_seller(9, 120)
    principal: dict[str, Decimal] = defaultdict(Decimal)
    for _, lines in seller.settlements:
        for line in lines:
            if line.combination == ("Order", "ItemPrice", "Principal"):
                principal[line.order_id] += line.amount
    assert principal
    for order_id, amount in principal.items():
        order = seller.order(order_id)
        assert order is not None and order.status == "SHIPPED"
        assert amount == sum((item.principal for item in order.items), Decimal(0))


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"orders": -1}, "orders"),
        ({"months": 0}, "months"),
        ({"marketplaces": []}, "marketplaces"),
        ({"marketplaces": ["US", "US"]}, "marketplaces"),
        ({"marketplaces": ["XX"]}, "marketplace"),
        ({"end": dt.datetime(2026, 1, 1)}, "end"),
    ],
)
def test_bad_arguments_are_refused_naming_the_field(arguments: dict, field: str) -> None:
    call = {"seed": 1, "orders": 5, **arguments}
    with pytest.raises(InputError) as raised:
        generate_seller(**call)
    assert raised.value.field == field
