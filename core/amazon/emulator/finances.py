"""Finances API v0: event groups and financial events of the generated seller.

Every transaction of the truth is rendered as the model's event (``financesV0.json``):

============================  ==========================================================
transaction                   event
============================  ==========================================================
shipment                      ``ShipmentEventList`` (``ShipmentItemList`` charges, fees,
                              promotions, marketplace-facilitator tax withheld)
refund                        ``RefundEventList`` (``ShipmentItemAdjustmentList``)
storage / subscription fee    ``ServiceFeeEventList`` (``FeeType`` ``FBAStorageFee`` /
                              ``Subscription``)
advertising                   ``ProductAdsPaymentEventList`` (``transactionValue``)
reimbursement                 ``AdjustmentEventList`` (``REVERSAL_REIMBURSEMENT``)
reserve held / released       no event: reserves show only in the settlement report; the
                              group's ``BeginningBalance`` is the reserve carried in
============================  ==========================================================

``ChargeType``/``FeeType`` names are the settlement report's amount-descriptions, so an event and
its settlement lines agree amount for amount. ``CurrencyAmount`` is a JSON number written from the
``Decimal`` exactly. Window rules (two minutes, 180 days, ``PostedBefore`` needs ``PostedAfter``)
and paging follow the parameter descriptions; page tokens expire (see :mod:`.paging`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import httpx

from ml_connector.core.amazon.emulator.paging import PageTokens
from ml_connector.core.amazon.emulator.truth import (
    Amount,
    EventGroup,
    ItemAmounts,
    Kind,
    Seller,
    Transaction,
)
from ml_connector.core.amazon.emulator.wire import Query, invalid_input, iso, json_response
from ml_connector.core.emulation.clock import Clock, utcnow
from ml_connector.ledger.money import quantize

TWO_MINUTES = dt.timedelta(minutes=2)
MAX_WINDOW = dt.timedelta(days=180)
HISTORY = dt.timedelta(days=730)
EVENT_LISTS = (
    "ShipmentEventList",
    "RefundEventList",
    "ServiceFeeEventList",
    "ProductAdsPaymentEventList",
    "AdjustmentEventList",
)
SERVICE_FEE_TYPES = {Kind.STORAGE_FEE: "FBAStorageFee", Kind.SUBSCRIPTION_FEE: "Subscription"}
SERVICE_FEE_DESCRIPTIONS = {
    Kind.STORAGE_FEE: "Storage Fee",
    Kind.SUBSCRIPTION_FEE: "Subscription Fee",
}
PROMOTION_TYPE = "PromotionMetaDataDefinitionValue"
TAX_COLLECTION_MODEL = "MarketplaceFacilitator"


def currency_amount(amount: Decimal, currency: str) -> dict[str, Any]:
    """The model's ``Currency``; ``CurrencyAmount`` stays a Decimal and is written as a number."""
    return {"CurrencyCode": currency, "CurrencyAmount": amount + 0}


class FinancesApi:
    def __init__(self, seller: Seller, clock: Clock, tokens: PageTokens) -> None:
        self._seller = seller
        self._clock = clock
        self._tokens = tokens

    # -- listFinancialEventGroups ----------------------------------------------------------------

    def list_groups(self, request: httpx.Request) -> httpx.Response:
        query = Query(request)
        now = utcnow(self._clock)
        criteria, offset = self._start(query, "listFinancialEventGroups", "", now)
        groups: list[EventGroup] = []
        if not criteria["empty"]:
            groups = sorted(
                (g for g in self._seller.groups if _in_window(g.start, criteria)),
                key=lambda g: (g.start, g.group_id),
            )
        size = criteria["size"]
        payload: dict[str, Any] = {
            "FinancialEventGroupList": [
                render_group(g, now) for g in groups[offset : offset + size]
            ]
        }
        if offset + size < len(groups):
            payload["NextToken"] = self._tokens.issue(
                "listFinancialEventGroups", criteria, offset + size
            )
        return json_response(200, {"payload": payload})

    # -- listFinancialEvents* ----------------------------------------------------------------------

    def list_events(self, request: httpx.Request) -> httpx.Response:
        now = utcnow(self._clock)
        criteria, offset = self._start(Query(request), "listFinancialEvents", "", now)
        transactions = [] if criteria["empty"] else self._seller.transactions()
        return self._events_page("listFinancialEvents", criteria, offset, transactions)

    def list_events_by_group(self, request: httpx.Request, group_id: str) -> httpx.Response:
        now = utcnow(self._clock)
        group = next((g for g in self._seller.groups if g.group_id == group_id), None)
        if group is None:
            raise invalid_input("Bad event group ID provided.")
        criteria, offset = self._start(
            Query(request), "listFinancialEventsByGroupId", group_id, now
        )
        # By-group data covers the past two years only.
        too_old = group.start < now - HISTORY
        transactions = [] if criteria["empty"] or too_old else list(group.transactions)
        return self._events_page("listFinancialEventsByGroupId", criteria, offset, transactions)

    def list_events_by_order(self, request: httpx.Request, order_id: str) -> httpx.Response:
        now = utcnow(self._clock)
        if self._seller.order(order_id) is None:
            raise invalid_input("Bad order ID provided.")
        criteria, offset = self._start(
            Query(request), "listFinancialEventsByOrderId", order_id, now, dated=False
        )
        transactions = [t for t in self._seller.transactions() if t.order_id == order_id]
        return self._events_page("listFinancialEventsByOrderId", criteria, offset, transactions)

    def _events_page(
        self,
        operation: str,
        criteria: dict[str, Any],
        offset: int,
        transactions: list[Transaction],
    ) -> httpx.Response:
        rendered = [
            listed
            for t in sorted(transactions, key=lambda t: (t.posted, t.transaction_id))
            if _in_window(t.posted, criteria) and (listed := render_event(t)) is not None
        ]
        size = criteria["size"]
        lists: dict[str, list[dict[str, Any]]] = {name: [] for name in EVENT_LISTS}
        for list_name, event in rendered[offset : offset + size]:
            lists[list_name].append(event)
        payload: dict[str, Any] = {"FinancialEvents": lists}
        if offset + size < len(rendered):
            payload["NextToken"] = self._tokens.issue(operation, criteria, offset + size)
        return json_response(200, {"payload": payload})

    # -- parameters ------------------------------------------------------------------------------

    def _start(
        self,
        query: Query,
        operation: str,
        subject: str,
        now: dt.datetime,
        *,
        dated: bool = True,
    ) -> tuple[dict[str, Any], int]:
        """The criteria and offset of this page: fresh from the query, or from ``NextToken``."""
        arguments = {name: query.text(name) for name in sorted(query.names() - {"NextToken"})}
        token = query.text("NextToken")
        if token is not None:
            continuation = self._tokens.redeem(operation, token, "NextToken")
            stored = dict(continuation.query)
            if stored["subject"] != subject or (arguments and arguments != stored["arguments"]):
                raise invalid_input(
                    "Invalid NextToken: send it with the same arguments as the call that "
                    "produced it."
                )
            return stored, continuation.offset
        if operation == "listFinancialEventGroups":
            criteria = self._group_window(query, now)
            size = query.integer("MaxResultsPerPage", default=10, low=1, high=100)
        else:
            criteria = self._posted_window(query, now) if dated else _unbounded()
            size = query.integer("MaxResultsPerPage", default=100, low=1, high=100)
        criteria.update(size=size, subject=subject, arguments=arguments)
        return criteria, 0

    def _group_window(self, query: Query, now: dt.datetime) -> dict[str, Any]:
        after = query.time("FinancialEventGroupStartedAfter")
        before = query.time("FinancialEventGroupStartedBefore")
        latest = now - TWO_MINUTES
        if after is not None and after >= latest:
            raise invalid_input(
                "Date range is invalid.",
                "FinancialEventGroupStartedAfter must be more than two minutes before the "
                "time of the request.",
            )
        if before is not None:
            if before >= latest:
                raise invalid_input(
                    "Date range is invalid.",
                    "FinancialEventGroupStartedBefore must be more than two minutes before the "
                    "time of the request.",
                )
            if after is not None and before <= after:
                raise invalid_input(
                    "Date range is invalid.",
                    "FinancialEventGroupStartedBefore must be after FinancialEventGroupStartedAfter.",
                )
        return _window(after, before)

    def _posted_window(self, query: Query, now: dt.datetime) -> dict[str, Any]:
        after = query.time("PostedAfter")
        before = query.time("PostedBefore")
        latest = now - TWO_MINUTES
        if before is not None and after is None:
            raise invalid_input("Date range is invalid.", "PostedBefore requires PostedAfter.")
        if after is not None and after >= latest:
            raise invalid_input(
                "Date range is invalid.",
                "PostedAfter must be more than two minutes before the time of the request.",
            )
        if before is not None:
            if before >= latest:
                raise invalid_input(
                    "Date range is invalid.",
                    "PostedBefore must be more than two minutes before the time of the request.",
                )
            if after is not None and before <= after:
                raise invalid_input(
                    "Date range is invalid.", "PostedBefore must be later than PostedAfter."
                )
        return _window(after, before or latest)


def _window(after: dt.datetime | None, before: dt.datetime | None) -> dict[str, Any]:
    # "More than 180 days apart" is not an error: the answer is simply empty.
    empty = after is not None and before is not None and before - after > MAX_WINDOW
    return {"after": after, "before": before, "empty": empty}


def _unbounded() -> dict[str, Any]:
    return {"after": None, "before": None, "empty": False}


def _in_window(moment: dt.datetime, criteria: dict[str, Any]) -> bool:
    """After (or at) ``after`` and strictly before ``before``, as the parameters define."""
    after, before = criteria["after"], criteria["before"]
    return (after is None or moment >= after) and (before is None or moment < before)


def render_group(group: EventGroup, now: dt.datetime) -> dict[str, Any]:
    """A ``FinancialEventGroup``; closed groups carry the transfer, open ones only the start."""
    currency = group.currency
    rendered: dict[str, Any] = {
        "FinancialEventGroupId": group.group_id,
        "ProcessingStatus": "Closed" if group.closed else "Open",
        "FundTransferStatus": "Unknown",
        "OriginalTotal": currency_amount(group.total, currency),
        "ConvertedTotal": currency_amount(group.total, currency),
        "BeginningBalance": currency_amount(group.beginning_balance, currency),
        "FinancialEventGroupStart": iso(group.start),
    }
    if group.deposit_date is not None:
        transferred = group.deposit_date <= now
        rendered.update(
            FundTransferStatus="Succeeded" if transferred else "Processing",
            FinancialEventGroupEnd=iso(group.end),
            FundTransferDate=iso(group.deposit_date),
            TraceId=f"{group.settlement_id}TR",
            AccountTail="042",
        )
    return rendered


def render_event(t: Transaction) -> tuple[str, dict[str, Any]] | None:
    """The event list and event of a transaction; None for reserves, which have no event."""
    currency = t.currency
    if t.kind in (Kind.SHIPMENT, Kind.REFUND):
        refund = t.kind is Kind.REFUND
        event: dict[str, Any] = {
            "AmazonOrderId": t.order_id,
            "SellerOrderId": t.merchant_order_id or t.order_id,
            "MarketplaceName": t.marketplace.site,
            "PostedDate": iso(t.posted),
        }
        items = [_render_item(t, item, refund) for item in t.items]
        if refund:
            event["ShipmentItemAdjustmentList"] = items
            return "RefundEventList", event
        event["ShipmentItemList"] = items
        return "ShipmentEventList", event
    if t.kind in SERVICE_FEE_TYPES:
        return "ServiceFeeEventList", {
            "FeeDescription": SERVICE_FEE_DESCRIPTIONS[t.kind],
            "FeeList": [
                {
                    "FeeType": SERVICE_FEE_TYPES[t.kind],
                    "FeeAmount": currency_amount(t.amount, currency),
                }
            ],
        }
    if t.kind is Kind.ADVERTISING:
        return "ProductAdsPaymentEventList", {
            "postedDate": iso(t.posted),
            "transactionType": "Charge",
            "invoiceId": f"TR{t.transaction_id.split('-')[-1]}",
            "baseValue": currency_amount(t.amount, currency),
            "taxValue": currency_amount(Decimal(0), currency),
            "transactionValue": currency_amount(t.amount, currency),
        }
    if t.kind is Kind.REIMBURSEMENT:
        per_unit = quantize(t.amount / t.quantity, currency)
        return "AdjustmentEventList", {
            "AdjustmentType": "REVERSAL_REIMBURSEMENT",
            "PostedDate": iso(t.posted),
            "AdjustmentAmount": currency_amount(t.amount, currency),
            "AdjustmentItemList": [
                {
                    "Quantity": str(t.quantity),
                    "PerUnitAmount": currency_amount(per_unit, currency),
                    "TotalAmount": currency_amount(t.amount, currency),
                    "SellerSKU": t.sku,
                }
            ],
        }
    return None


def _render_item(t: Transaction, item: ItemAmounts, refund: bool) -> dict[str, Any]:
    currency = t.currency
    suffix = "AdjustmentList" if refund else "List"

    def of(amount_type: str) -> list[Amount]:
        return [a for a in item.amounts if a.amount_type == amount_type]

    rendered: dict[str, Any] = {
        "SellerSKU": item.sku,
        "OrderItemId": item.order_item_id,
        "QuantityShipped": item.quantity,
        f"ItemCharge{suffix}": [
            {"ChargeType": a.description, "ChargeAmount": currency_amount(a.amount, currency)}
            for a in of("ItemPrice")
        ],
        f"ItemFee{suffix}": [
            {"FeeType": a.description, "FeeAmount": currency_amount(a.amount, currency)}
            for a in of("ItemFees")
        ],
    }
    if refund:
        rendered["OrderAdjustmentItemId"] = f"{t.adjustment_id}{item.order_item_id[-4:]}"
    promotions = of("Promotion")
    if promotions:
        rendered[f"Promotion{suffix}"] = [
            {
                "PromotionType": PROMOTION_TYPE,
                "PromotionId": item.promotion_id,
                "PromotionAmount": currency_amount(a.amount, currency),
            }
            for a in promotions
        ]
    withheld = of("ItemWithheldTax")
    if withheld:
        rendered["ItemTaxWithheldList"] = [
            {
                "TaxCollectionModel": TAX_COLLECTION_MODEL,
                "TaxesWithheld": [
                    {
                        "ChargeType": a.description,
                        "ChargeAmount": currency_amount(a.amount, currency),
                    }
                    for a in withheld
                ],
            }
        ]
    return rendered
