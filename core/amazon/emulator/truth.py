"""The generated seller's ground truth: orders, money movements and settlement periods.

Everything the emulator serves (Orders, Finances events, settlement report documents) is rendered
from these records, so the three views agree by construction and a test can compare any of them
with the truth. A :class:`Transaction` is one money movement Amazon books against the seller (a
shipment, a refund, a fee, a reimbursement, a reserve movement); its :class:`Amount` rows carry
the V2 settlement vocabulary (amount-type, amount-description), which the Finances API repeats as
``ChargeType``/``FeeType`` names.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from decimal import Decimal

from ml_connector.ledger.marketplaces import Marketplace
from ml_connector.ledger.settlement import SettlementHeader, SettlementLine


class Kind(enum.Enum):
    """What a transaction is; decides its settlement row shape and its Finances event list."""

    SHIPMENT = "shipment"
    REFUND = "refund"
    STORAGE_FEE = "storage_fee"
    SUBSCRIPTION_FEE = "subscription_fee"
    ADVERTISING = "advertising"
    REIMBURSEMENT = "reimbursement"
    RESERVE_RELEASED = "reserve_released"
    RESERVE_HELD = "reserve_held"


@dataclass(frozen=True, slots=True)
class Amount:
    """One signed amount of an order item: ``("ItemFees", "Commission", Decimal("-2.25"))``."""

    amount_type: str
    description: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class ItemAmounts:
    """The amounts one transaction books for one order item."""

    order_item_id: str
    sku: str
    quantity: int
    amounts: tuple[Amount, ...]
    promotion_id: str = ""

    @property
    def total(self) -> Decimal:
        return sum((a.amount for a in self.amounts), Decimal(0))


@dataclass(frozen=True, slots=True)
class Transaction:
    """A money movement in one marketplace's settlement stream.

    Order transactions (shipments, refunds) carry ``items``; the others carry a single
    ``amount``. Reserve movements exist only in settlement reports: the Finances API has no event
    for them (see :mod:`.finances`).
    """

    kind: Kind
    transaction_id: str
    posted: dt.datetime
    marketplace: Marketplace
    items: tuple[ItemAmounts, ...] = ()
    amount: Decimal = Decimal(0)
    order_id: str = ""
    merchant_order_id: str = ""
    adjustment_id: str = ""
    shipment_id: str = ""
    fulfillment_id: str = ""
    sku: str = ""
    quantity: int = 0

    @property
    def currency(self) -> str:
        return self.marketplace.currency

    @property
    def total(self) -> Decimal:
        if self.items:
            return sum((item.total for item in self.items), Decimal(0))
        return self.amount


@dataclass(frozen=True, slots=True)
class OrderItem:
    """One line of an order, with the money the buyer was charged for it."""

    order_item_id: str
    sku: str
    asin: str
    title: str
    quantity: int
    unit_price: Decimal
    shipping: Decimal
    gift_wrap: Decimal
    promotion: Decimal  # zero or negative: the discount on the item price
    promotion_id: str
    tax: Decimal  # US sales tax on the item price, collected by Amazon as facilitator
    shipping_tax: Decimal

    @property
    def principal(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class Order:
    """An order as the Orders API reports it."""

    order_id: str
    merchant_order_id: str
    marketplace: Marketplace
    created: dt.datetime
    last_updated: dt.datetime
    status: str  # a FulfillmentStatus of Orders 2026-01-01: PENDING, UNSHIPPED, SHIPPED, CANCELLED
    fulfilled_by: str  # AMAZON or MERCHANT
    items: tuple[OrderItem, ...]
    buyer_name: str
    city: str
    state: str
    postal_code: str
    shipped: dt.datetime | None = None

    @property
    def currency(self) -> str:
        return self.marketplace.currency


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """A product the seller lists, with its price in every marketplace it sells in."""

    sku: str
    asin: str
    title: str
    product_type: str
    fulfilled_by: str
    prices: tuple[tuple[str, Decimal], ...]  # (marketplace code, price in its currency)

    def price_in(self, marketplace_code: str) -> Decimal:
        for code, price in self.prices:
            if code == marketplace_code:
                return price
        raise KeyError(marketplace_code)


@dataclass(frozen=True, slots=True)
class EventGroup:
    """A settlement period of one marketplace: a Finances event group and, once closed, a report.

    ``beginning_balance`` is the reserve released from the previous period, which Amazon carries
    into this one; ``total`` is what Amazon pays (negative: charges) for the period.
    """

    group_id: str
    settlement_id: str
    marketplace: Marketplace
    start: dt.datetime
    end: dt.datetime
    deposit_date: dt.datetime | None
    transactions: tuple[Transaction, ...]
    beginning_balance: Decimal

    @property
    def closed(self) -> bool:
        return self.deposit_date is not None

    @property
    def currency(self) -> str:
        return self.marketplace.currency

    @property
    def total(self) -> Decimal:
        return sum((t.total for t in self.transactions), Decimal(0))

    @property
    def report_id(self) -> str:
        return f"5{self.settlement_id}"

    @property
    def document_id(self) -> str:
        return f"amzn1.spdoc.1.4.na.settlement.{self.settlement_id}"


@dataclass
class Seller:
    """A generated seller: catalog, orders and settlement periods, all in exact money.

    ``settlements`` lists the closed periods as the V2 settlement report states them, as
    ``(SettlementHeader, [SettlementLine, ...])``; ``groups`` also holds the open periods.
    """

    seed: int
    seller_id: str
    store_name: str
    marketplaces: tuple[Marketplace, ...]
    catalog: tuple[CatalogItem, ...]
    orders: tuple[Order, ...]
    groups: tuple[EventGroup, ...]
    generated_until: dt.datetime
    settlements: list[tuple[SettlementHeader, list[SettlementLine]]] = field(default_factory=list)

    def order(self, order_id: str) -> Order | None:
        for order in self.orders:
            if order.order_id == order_id:
                return order
        return None

    def transactions(self) -> list[Transaction]:
        """Every transaction of every period, in posting order."""
        every = [t for group in self.groups for t in group.transactions]
        return sorted(every, key=lambda t: (t.posted, t.transaction_id))
