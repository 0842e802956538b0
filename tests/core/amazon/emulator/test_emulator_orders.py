"""Orders 2026-01-01: window rules, paging, the two-year history and the order datasets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from emulator_session import START, Session, body, error_codes

from ml_connector.core.amazon.emulator import AmazonEmulator
from ml_connector.core.amazon.emulator.wire import iso
from ml_connector.core.emulation import FakeClock

ORDERS = "/orders/2026-01-01/orders"
SINCE = "2026-07-01T00:00:00Z"


def all_pages(session: Session, params: dict[str, str]) -> list[dict]:
    orders, pages = [], 0
    response = session.get(ORDERS, params=params)
    while True:
        assert response.status_code == 200, response.text
        page = body(response)
        orders.extend(page["orders"])
        pages += 1
        token = page.get("pagination", {}).get("nextToken")
        if not token:
            return orders
        response = session.get(ORDERS, params={"paginationToken": token})


def test_paging_returns_every_order_once_in_creation_order(
    session: Session, emulator: AmazonEmulator
) -> None:
    orders = all_pages(session, {"createdAfter": SINCE, "maxResultsPerPage": "7"})
    ids = [o["orderId"] for o in orders]
    assert ids == [o.order_id for o in emulator.seller.orders]
    assert len(set(ids)) == len(ids) == 150
    created = [o["createdTime"] for o in orders]
    assert created == sorted(created)


def test_the_default_page_is_100_and_the_upper_bound_is_echoed(session: Session) -> None:
    page = body(session.get(ORDERS, params={"createdAfter": SINCE}))
    assert len(page["orders"]) == 100
    assert page["pagination"]["nextToken"]
    assert page["createdBefore"] == iso(START - dt.timedelta(minutes=2))


def test_filters_by_marketplace_status_and_channel(
    session: Session, emulator: AmazonEmulator
) -> None:
    us = "ATVPDKIKX0DER"
    params = {
        "createdAfter": SINCE,
        "marketplaceIds": us,
        "fulfillmentStatuses": "SHIPPED,CANCELLED",
        "fulfilledBy": "MERCHANT",
    }
    found = {o["orderId"] for o in all_pages(session, params)}
    expected = {
        o.order_id
        for o in emulator.seller.orders
        if o.marketplace.marketplace_id == us
        and o.status in ("SHIPPED", "CANCELLED")
        and o.fulfilled_by == "MERCHANT"
    }
    assert found == expected and found


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"createdAfter": SINCE, "lastUpdatedAfter": SINCE},
        {"createdAfter": SINCE, "lastUpdatedBefore": "2026-09-01T00:00:00Z"},
        {"lastUpdatedAfter": SINCE, "createdBefore": "2026-09-01T00:00:00Z"},
        {"createdAfter": SINCE, "createdBefore": "2026-06-01T00:00:00Z"},
        {"createdAfter": SINCE, "maxResultsPerPage": "101"},
        {"createdAfter": SINCE, "maxResultsPerPage": "0"},
        {"createdAfter": "yesterday"},
        {"createdAfter": SINCE, "marketplaceIds": "NOTAMARKET"},
        {"createdAfter": SINCE, "includedData": "EVERYTHING"},
        {"createdAfter": SINCE, "fulfillmentStatuses": "SHIPPING"},
    ],
)
def test_invalid_parameters_are_a_400(session: Session, params: dict[str, str]) -> None:
    response = session.get(ORDERS, params=params)
    assert response.status_code == 400
    assert error_codes(response) == ["InvalidInput"]


def test_before_bounds_must_be_two_minutes_in_the_past(session: Session) -> None:
    just_now = iso(START - dt.timedelta(seconds=119))
    long_enough = iso(START - dt.timedelta(seconds=121))
    rejected = session.get(ORDERS, params={"createdAfter": SINCE, "createdBefore": just_now})
    assert rejected.status_code == 400
    assert "two minutes" in body(rejected)["errors"][0]["message"]
    assert (
        session.get(
            ORDERS, params={"createdAfter": SINCE, "createdBefore": long_enough}
        ).status_code
        == 200
    )
    assert (
        session.get(
            ORDERS, params={"lastUpdatedAfter": SINCE, "lastUpdatedBefore": just_now}
        ).status_code
        == 400
    )


def test_last_updated_window_selects_by_update_time(
    session: Session, emulator: AmazonEmulator
) -> None:
    after = dt.datetime(2026, 9, 10, tzinfo=dt.UTC)
    found = {o["orderId"] for o in all_pages(session, {"lastUpdatedAfter": iso(after)})}
    assert found == {o.order_id for o in emulator.seller.orders if o.last_updated >= after}


def test_orders_older_than_two_years_vanish_except_in_jp_au_sg(
    session: Session, emulator: AmazonEmulator, clock: FakeClock
) -> None:
    clock.advance(dt.timedelta(days=732).total_seconds())  # every order is now > 2 years old
    session.login()
    found = all_pages(session, {"createdAfter": "2026-01-01T00:00:00Z"})
    markets = {o["salesChannel"]["marketplaceId"] for o in found}
    assert markets == {"A1VC38T7YXB528"}  # JP only
    assert len(found) == sum(1 for o in emulator.seller.orders if o.marketplace.code == "JP")
    us_order = next(o for o in emulator.seller.orders if o.marketplace.code == "US")
    assert session.get(f"{ORDERS}/{us_order.order_id}").status_code == 404


def test_get_order_with_datasets_matches_the_truth(
    session: Session, emulator: AmazonEmulator
) -> None:
    order = next(
        o
        for o in emulator.seller.orders
        if o.status == "SHIPPED" and o.marketplace.code == "US" and any(i.tax for i in o.items)
    )
    response = session.get(
        f"{ORDERS}/{order.order_id}",
        params={"includedData": "PROCEEDS,FULFILLMENT,TAX,BUYER,RECIPIENT"},
    )
    assert response.status_code == 200
    rendered = body(response)["order"]
    assert rendered["orderId"] == order.order_id
    assert rendered["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    assert rendered["recipient"]["deliveryAddress"]["countryCode"] == "US"
    breakdowns = {b["type"]: b["subtotal"] for b in rendered["proceeds"]["breakdowns"]}
    # Money in Orders is a decimal string, never a JSON number.
    assert all(isinstance(m["amount"], str) for m in breakdowns.values())
    assert Decimal(breakdowns["ITEM"]["amount"]) == sum(i.principal for i in order.items)
    assert Decimal(breakdowns["TAX"]["amount"]) == sum(i.tax + i.shipping_tax for i in order.items)
    total = sum(Decimal(m["amount"]) for m in breakdowns.values())
    assert Decimal(rendered["proceeds"]["grandTotal"]["amount"]) == total
    assert rendered["orderItems"][0]["tax"]["taxCollections"][0]["model"] == (
        "MARKETPLACE_FACILITATOR"
    )


def test_the_core_order_has_no_optional_datasets(
    session: Session, emulator: AmazonEmulator
) -> None:
    order = emulator.seller.orders[0]
    rendered = body(session.get(f"{ORDERS}/{order.order_id}"))["order"]
    assert not {"proceeds", "buyer", "recipient", "fulfillment"} & rendered.keys()


def test_an_unknown_order_is_a_404(session: Session) -> None:
    response = session.get(f"{ORDERS}/111-0000000-0000000")
    assert response.status_code == 404
    assert response.headers["x-amzn-RateLimit-Limit"] == "5000"  # 0.5/s scaled by 10 000


def test_an_expired_pagination_token_is_a_400_naming_it(session: Session, clock: FakeClock) -> None:
    first = body(session.get(ORDERS, params={"createdAfter": SINCE, "maxResultsPerPage": "5"}))
    clock.advance(601)
    response = session.get(ORDERS, params={"paginationToken": first["pagination"]["nextToken"]})
    assert response.status_code == 400
    assert "paginationToken" in body(response)["errors"][0]["message"]
