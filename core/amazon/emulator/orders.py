"""Orders API 2026-01-01: ``searchOrders`` and ``getOrder`` over the generated orders.

Rules enforced, from the model's parameter descriptions (``orders_2026-01-01.json``): exactly one
of ``createdAfter``/``lastUpdatedAfter``; no mixing of created and last-updated bounds; a
``...Before`` bound at or after its ``...After`` and at least two minutes before the request;
``maxResultsPerPage`` 1-100 (default 100); ``paginationToken`` in, ``pagination.nextToken``
out; orders older than two years are invisible except in JP, AU and SG. Money is the model's
``Money`` with ``amount`` a decimal *string*. Datasets beyond the order's core appear only when
``includedData`` asks for them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

import httpx

from ml_connector.core.amazon.emulator.paging import PageTokens
from ml_connector.core.amazon.emulator.truth import Order, OrderItem, Seller
from ml_connector.core.amazon.emulator.wire import (
    Query,
    invalid_input,
    iso,
    json_response,
    not_found,
)
from ml_connector.core.emulation.clock import Clock, utcnow
from ml_connector.ledger.errors import InputError
from ml_connector.ledger.marketplaces import by_id

TWO_MINUTES = dt.timedelta(minutes=2)
HISTORY = dt.timedelta(days=730)
FULL_HISTORY_MARKETPLACES = frozenset({"JP", "AU", "SG"})  # orders from 2016 onward
FULL_HISTORY_SINCE = dt.datetime(2016, 1, 1, tzinfo=dt.UTC)
INCLUDED_DATA = frozenset(
    {
        "BUYER",
        "RECIPIENT",
        "PROCEEDS",
        "EXPENSE",
        "PROMOTION",
        "CANCELLATION",
        "FULFILLMENT",
        "PACKAGES",
        "TAX",
        "PAYMENT",
        "FULFILLMENT_ORDERS",
    }
)
FULFILLMENT_STATUSES = frozenset(
    {
        "PENDING_AVAILABILITY",
        "PENDING",
        "UNSHIPPED",
        "PARTIALLY_SHIPPED",
        "SHIPPED",
        "CANCELLED",
        "UNFULFILLABLE",
    }
)
FULFILLED_BY = frozenset({"MERCHANT", "AMAZON"})


def money(amount: Decimal, currency: str) -> dict[str, str]:
    """The Orders model's ``Money``: the amount as a decimal string."""
    return {"amount": str(amount + 0), "currencyCode": currency}


class OrdersApi:
    def __init__(self, seller: Seller, clock: Clock, tokens: PageTokens) -> None:
        self._seller = seller
        self._clock = clock
        self._tokens = tokens

    # -- searchOrders ----------------------------------------------------------------------------

    def search_orders(self, request: httpx.Request) -> httpx.Response:
        query = Query(request)
        now = utcnow(self._clock)
        token = query.text("paginationToken")
        if token is not None:
            continuation = self._tokens.redeem("searchOrders", token, "paginationToken")
            criteria, offset = dict(continuation.query), continuation.offset
        else:
            criteria, offset = self._criteria(query, now), 0
        matches = [o for o in self._seller.orders if self._matches(o, criteria, now)]
        field = criteria["field"]
        matches.sort(key=lambda o: (getattr(o, field), o.order_id))
        size = criteria["size"]
        page = matches[offset : offset + size]
        included = set(criteria["included"])
        body: dict[str, Any] = {"orders": [render_order(o, included) for o in page]}
        if offset + size < len(matches):
            body["pagination"] = {
                "nextToken": self._tokens.issue("searchOrders", criteria, offset + size)
            }
        bound = "createdBefore" if field == "created" else "lastUpdatedBefore"
        body[bound] = iso(criteria["before"])
        return json_response(200, body)

    def _criteria(self, query: Query, now: dt.datetime) -> dict[str, Any]:
        created_after = query.time("createdAfter")
        created_before = query.time("createdBefore")
        updated_after = query.time("lastUpdatedAfter")
        updated_before = query.time("lastUpdatedBefore")
        if (created_after is None) == (updated_after is None):
            raise invalid_input("Exactly one of createdAfter and lastUpdatedAfter is required.")
        if created_after is not None and (updated_after or updated_before):
            raise invalid_input(
                "lastUpdatedAfter and lastUpdatedBefore cannot be combined with createdAfter."
            )
        if updated_after is not None and created_before is not None:
            raise invalid_input("createdBefore cannot be combined with lastUpdatedAfter.")
        field, after, before, name = (
            ("created", created_after, created_before, "createdBefore")
            if created_after is not None
            else ("last_updated", updated_after, updated_before, "lastUpdatedBefore")
        )
        assert after is not None  # exactly one of the two "after" bounds is set
        if before is None:
            before = now - TWO_MINUTES
        elif before > now - TWO_MINUTES:
            raise invalid_input(f"{name} must be at least two minutes before the request time.")
        elif before < after:
            raise invalid_input(f"{name} must be equal to or after the matching After date.")
        marketplace_ids = query.items("marketplaceIds")
        if marketplace_ids is not None:
            if len(marketplace_ids) > 50:
                raise invalid_input("marketplaceIds accepts at most 50 values.")
            for marketplace_id in marketplace_ids:
                try:
                    by_id(marketplace_id)
                except InputError:
                    raise invalid_input(f"Invalid marketplace ID: {marketplace_id}.") from None
        return {
            "field": field,
            "after": after,
            "before": before,
            "marketplaces": marketplace_ids,
            "statuses": query.enum_items("fulfillmentStatuses", FULFILLMENT_STATUSES),
            "fulfilled_by": query.enum_items("fulfilledBy", FULFILLED_BY),
            "included": query.enum_items("includedData", INCLUDED_DATA) or [],
            "size": query.integer("maxResultsPerPage", default=100, low=1, high=100),
        }

    def _matches(self, order: Order, criteria: dict[str, Any], now: dt.datetime) -> bool:
        moment = getattr(order, criteria["field"])
        return (
            visible(order, now)
            and criteria["after"] <= moment <= criteria["before"]
            and (
                criteria["marketplaces"] is None
                or order.marketplace.marketplace_id in criteria["marketplaces"]
            )
            and (criteria["statuses"] is None or order.status in criteria["statuses"])
            and (criteria["fulfilled_by"] is None or order.fulfilled_by in criteria["fulfilled_by"])
        )

    # -- getOrder --------------------------------------------------------------------------------

    def get_order(self, request: httpx.Request, order_id: str) -> httpx.Response:
        included = set(Query(request).enum_items("includedData", INCLUDED_DATA) or [])
        order = self._seller.order(order_id)
        if order is None or not visible(order, utcnow(self._clock)):
            raise not_found(f"Order {order_id} was not found.")
        return json_response(200, {"order": render_order(order, included)})


def visible(order: Order, now: dt.datetime) -> bool:
    """Whether the Orders API still shows ``order`` at ``now`` (the two-year history rule)."""
    if order.created > now:
        return False
    if order.marketplace.code in FULL_HISTORY_MARKETPLACES:
        return order.created >= FULL_HISTORY_SINCE
    return order.created >= now - HISTORY


def country_code(marketplace_code: str) -> str:
    """ISO 3166 alpha-2 of a marketplace: Amazon calls the UK store "UK", ISO calls it "GB"."""
    return "GB" if marketplace_code == "UK" else marketplace_code


def render_order(order: Order, included: set[str]) -> dict[str, Any]:
    """An ``Order`` of the 2026-01-01 model with the datasets in ``included``."""
    rendered: dict[str, Any] = {
        "orderId": order.order_id,
        "createdTime": iso(order.created),
        "lastUpdatedTime": iso(order.last_updated),
        "salesChannel": {
            "channelName": "AMAZON",
            "marketplaceId": order.marketplace.marketplace_id,
            "marketplaceName": order.marketplace.site,
        },
        "orderItems": [_render_item(order, item, included) for item in order.items],
    }
    if order.merchant_order_id:
        rendered["orderAliases"] = [
            {"aliasId": order.merchant_order_id, "aliasType": "SELLER_ORDER_ID"}
        ]
    if "BUYER" in included:
        mailbox = hashlib.sha256(order.order_id.encode()).hexdigest()[:16]
        domain = order.marketplace.site.lower().replace("amazon.", "")
        rendered["buyer"] = {
            "buyerName": order.buyer_name,
            "buyerEmail": f"{mailbox}@marketplace.amazon.{domain}",
        }
    if "RECIPIENT" in included:
        address = {
            "name": order.buyer_name,
            "city": order.city,
            "postalCode": order.postal_code,
            "countryCode": country_code(order.marketplace.code),
            "addressType": "RESIDENTIAL",
        }
        if order.state:
            address["stateOrRegion"] = order.state
        rendered["recipient"] = {"deliveryAddress": address}
    if "PROCEEDS" in included and order.status != "PENDING":
        breakdowns = _proceeds(order.currency, order.items)
        rendered["proceeds"] = {
            "grandTotal": money(_sum(b["subtotal"] for b in breakdowns), order.currency),
            "breakdowns": [
                {"type": b["type"], "subtotal": money(b["subtotal"], order.currency)}
                for b in breakdowns
            ],
        }
    if "FULFILLMENT" in included:
        rendered["fulfillment"] = {
            "fulfillmentStatus": order.status,
            "fulfilledBy": order.fulfilled_by,
            "fulfillmentServiceLevel": "STANDARD",
        }
    if "PACKAGES" in included and order.shipped is not None:
        rendered["packages"] = [
            {
                "packageReferenceId": "1",
                "shipTime": iso(order.shipped),
                "carrier": "AMZL" if order.fulfilled_by == "AMAZON" else "UPS",
                "packageItems": [
                    {"orderItemId": item.order_item_id, "quantity": item.quantity}
                    for item in order.items
                ],
            }
        ]
    return rendered


def _render_item(order: Order, item: OrderItem, included: set[str]) -> dict[str, Any]:
    currency = order.currency
    rendered: dict[str, Any] = {
        "orderItemId": item.order_item_id,
        "quantityOrdered": item.quantity,
        "product": {
            "asin": item.asin,
            "title": item.title,
            "sellerSku": item.sku,
            "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
            "price": {"unitPrice": money(item.unit_price, currency)},
        },
    }
    if "PROCEEDS" in included and order.status != "PENDING":
        breakdowns = _proceeds(currency, (item,))
        rendered["proceeds"] = {
            "proceedsTotal": money(_sum(b["subtotal"] for b in breakdowns), currency),
            "breakdowns": [_item_breakdown(item, b, currency) for b in breakdowns],
        }
    if "PROMOTION" in included and item.promotion_id:
        rendered["promotion"] = {"breakdowns": [{"promotionId": item.promotion_id}]}
    if "TAX" in included and (item.tax or item.shipping_tax):
        rendered["tax"] = {
            "taxCollections": [
                {"model": "MARKETPLACE_FACILITATOR", "responsibleParty": "Amazon Services, Inc."}
            ]
        }
    if "FULFILLMENT" in included:
        shipped = item.quantity if order.status == "SHIPPED" else 0
        fulfillment: dict[str, Any] = {
            "quantityFulfilled": shipped,
            "quantityUnfulfilled": item.quantity - shipped,
        }
        if item.gift_wrap:
            fulfillment["packing"] = {"giftOption": {"giftWrapLevel": "STANDARD"}}
        rendered["fulfillment"] = fulfillment
    if "CANCELLATION" in included and order.status == "CANCELLED":
        rendered["cancellation"] = {
            "cancellationExecution": {"cancelledBy": "BUYER", "cancelReason": "BUYER_CANCELLED"}
        }
    return rendered


def _proceeds(currency: str, items: tuple[OrderItem, ...]) -> list[dict[str, Any]]:
    """Proceeds categories summed over ``items``; ITEM always, the others when not zero."""
    totals = [
        ("ITEM", _sum(i.principal for i in items)),
        ("SHIPPING", _sum(i.shipping for i in items)),
        ("GIFT_WRAP", _sum(i.gift_wrap for i in items)),
        ("TAX", _sum(i.tax + i.shipping_tax for i in items)),
        ("DISCOUNT", _sum(i.promotion for i in items)),
    ]
    return [
        {"type": kind, "subtotal": amount}
        for kind, amount in totals
        if kind == "ITEM" or amount != 0
    ]


def _item_breakdown(item: OrderItem, breakdown: dict[str, Any], currency: str) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "type": breakdown["type"],
        "subtotal": money(breakdown["subtotal"], currency),
    }
    if breakdown["type"] == "TAX":
        parts = [("ITEM", item.tax), ("SHIPPING", item.shipping_tax)]
    elif breakdown["type"] == "DISCOUNT":
        parts = [("ITEM", item.promotion)]
    else:
        return rendered
    rendered["detailedBreakdowns"] = [
        {"subtype": subtype, "value": money(amount, currency)}
        for subtype, amount in parts
        if amount
    ]
    return rendered


def _sum(amounts: Any) -> Decimal:
    return sum(amounts, Decimal(0))
