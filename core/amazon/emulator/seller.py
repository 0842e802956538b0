"""A seeded, reproducible Amazon seller: catalog, orders, fees, refunds, reserves, settlements.

:func:`generate_seller` draws everything from one ``random.Random(seed)`` using integers only
(amounts are drawn as whole minor units and scaled with ``Decimal``), so the same arguments give
the same seller on every machine, to the cent. Each marketplace settles on its own 14-day cycle in
its own currency; a period is closed (it has a deposit date and a settlement report) once a day
has passed after its end, and the period still running is an open Finances event group.

What a realistic seller throws at a connector is all here: FBA and merchant-fulfilled orders,
several items and quantities, shipping, gift wrap, promotions, US sales tax collected by Amazon as
marketplace facilitator, refunds with refund commission, referral/FBA/storage/subscription/
advertising fees, inventory reimbursements, a reserve held back and released the next period,
and one settlement where the fees exceed the sales (Amazon charges the seller).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ml_connector.core.amazon.emulator.statements import settlement_of
from ml_connector.core.amazon.emulator.truth import (
    Amount,
    CatalogItem,
    EventGroup,
    ItemAmounts,
    Kind,
    Order,
    OrderItem,
    Seller,
    Transaction,
)
from ml_connector.ledger.errors import InputError
from ml_connector.ledger.marketplaces import Marketplace, by_code
from ml_connector.ledger.money import quantize

DEFAULT_END = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
DEFAULT_MARKETPLACES = ("US", "CA", "UK", "DE", "JP")
SETTLEMENT_PERIOD = dt.timedelta(days=14)
DEPOSIT_DELAY = dt.timedelta(days=1)
UNSHIPPED_WINDOW = dt.timedelta(days=2)  # orders this recent are not shipped yet
CATALOG_SIZE = 12

# How many units of a currency buy roughly what one US dollar buys; prices and fees are drawn
# in US cents and scaled, so a JPY price has no decimals and a GBP price looks like a GBP price.
_PRICE_SCALE = {
    "USD": Decimal("1"),
    "CAD": Decimal("1.35"),
    "MXN": Decimal("18"),
    "BRL": Decimal("5"),
    "GBP": Decimal("0.80"),
    "EUR": Decimal("0.92"),
    "SEK": Decimal("10.5"),
    "PLN": Decimal("4"),
    "TRY": Decimal("32"),
    "JPY": Decimal("150"),
    "AUD": Decimal("1.5"),
    "SGD": Decimal("1.35"),
    "INR": Decimal("83"),
    "AED": Decimal("3.67"),
    "SAR": Decimal("3.75"),
    "EGP": Decimal("48"),
    "ZAR": Decimal("18"),
}
_MARKETPLACE_WEIGHT = {"US": 50, "CA": 10, "UK": 15, "DE": 15, "JP": 10}
_ORDER_ID_PREFIX = {
    "NA": ("111", "112", "113", "114"),
    "EU": ("202", "203", "204"),
    "FE": ("249", "503"),
}
# US states with the combined sales tax rate (basis points) Amazon collects as facilitator.
_US_DESTINATIONS = (
    ("Seattle", "WA", "98101", 1025),
    ("Los Angeles", "CA", "90012", 950),
    ("New York", "NY", "10001", 888),
    ("Austin", "TX", "73301", 825),
    ("Miami", "FL", "33101", 700),
    ("Portland", "OR", "97201", 0),
)
_PRODUCTS = (
    ("KETTLE", "Stainless Steel Electric Kettle 1.7L", "KITCHEN"),
    ("MUG", "Ceramic Coffee Mug Set of 4", "DRINKING_CUP"),
    ("LAMP", "LED Desk Lamp with USB Charging Port", "LAMP"),
    ("YOGA", "Non-Slip Yoga Mat 6mm", "EXERCISE_MAT"),
    ("BOTTLE", "Insulated Water Bottle 750ml", "BOTTLE"),
    ("PAN", "Cast Iron Skillet 10 inch", "COOKWARE"),
    ("CABLE", "Braided USB-C Cable 2m", "ELECTRONIC_CABLE"),
    ("BACKPACK", "Water-Resistant Laptop Backpack", "BACKPACK"),
    ("TOWEL", "Cotton Bath Towel Set", "TOWEL"),
    ("CANDLE", "Soy Wax Scented Candle", "CANDLE"),
    ("HEADSET", "Wireless Over-Ear Headphones", "HEADPHONES"),
    ("PLANTER", "Self-Watering Plant Pot", "PLANTER"),
)
_BUYERS = ("Alex Morgan", "Sam Lee", "Jordan Smith", "Kim Tanaka", "Lena Weber", "Chris Brown")
_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def generate_seller(
    seed: int,
    orders: int,
    months: int = 2,
    marketplaces: Sequence[str] = DEFAULT_MARKETPLACES,
    *,
    end: dt.datetime | None = None,
) -> Seller:
    """Generate the seller for ``seed`` with ``orders`` orders over ``months`` months before ``end``.

    ``end`` (aware, default 2026-10-01 UTC) is "now" for the generated history: nothing is
    posted after it. The same arguments always produce the same seller.
    """
    if isinstance(orders, bool) or not isinstance(orders, int) or orders < 0:
        raise InputError("order count must be a whole number >= 0", field="orders", value=orders)
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 36:
        raise InputError("months must be a whole number from 1 to 36", field="months", value=months)
    codes = list(marketplaces)
    if not codes or len(set(codes)) != len(codes):
        raise InputError(
            "marketplaces must be a non-empty list without repeats",
            field="marketplaces",
            value=codes,
        )
    end = end or DEFAULT_END
    if end.tzinfo is None:
        raise InputError("end must be timezone-aware", field="end", value=end.isoformat())
    return _Generator(seed, orders, months, tuple(by_code(c) for c in codes), end).run()


def _price_scale(currency: str) -> Decimal:
    return _PRICE_SCALE.get(currency, Decimal(1))


@dataclass
class _Stream:
    """One marketplace's settlement cycle while it is being generated."""

    marketplace: Marketplace
    start: dt.datetime
    transactions: list[Transaction] = field(default_factory=list)

    def period_start(self, index: int) -> dt.datetime:
        return self.start + index * SETTLEMENT_PERIOD

    def period_of(self, moment: dt.datetime) -> int:
        return (moment - self.start) // SETTLEMENT_PERIOD


class _Generator:
    def __init__(
        self,
        seed: int,
        order_count: int,
        months: int,
        markets: tuple[Marketplace, ...],
        end: dt.datetime,
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.order_count = order_count
        self.months = months
        self.markets = markets
        self.end = end.astimezone(dt.UTC)
        self.used_ids: set[str] = set()
        self.counter = 0

    # -- small helpers -------------------------------------------------------------------------

    def money(self, us_cents: int, currency: str) -> Decimal:
        """``us_cents`` US cents expressed in ``currency``, on its minor unit."""
        return quantize(Decimal(us_cents).scaleb(-2) * _price_scale(currency), currency)

    def chance(self, percent: int) -> bool:
        return self.rng.randrange(100) < percent

    def digits(self, n: int) -> str:
        return "".join(str(self.rng.randrange(10)) for _ in range(n))

    def unique(self, make: Callable[[], str]) -> str:
        """A value from ``make`` that no earlier call returned (ids must not collide)."""
        while True:
            value = make()
            if value not in self.used_ids:
                self.used_ids.add(value)
                return value

    def moment_between(self, start: dt.datetime, stop: dt.datetime) -> dt.datetime:
        seconds = max((stop - start) // dt.timedelta(seconds=1), 1)
        return start + dt.timedelta(seconds=self.rng.randrange(seconds))

    def next_transaction_id(self, kind: Kind) -> str:
        self.counter += 1
        return f"{kind.value}-{self.counter:06d}"

    # -- the seller ----------------------------------------------------------------------------

    def run(self) -> Seller:
        seller_id = "A" + "".join(self.rng.choice(_ALNUM) for _ in range(13))
        catalog = self.make_catalog()
        first_day = (self.end - dt.timedelta(days=30 * self.months)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        streams = [
            _Stream(market, first_day + dt.timedelta(days=2 * i))
            for i, market in enumerate(self.markets)
        ]
        orders = self.make_orders(streams, catalog)
        for stream in streams:
            self.add_service_transactions(stream, catalog)
        groups = self.make_groups(streams)
        seller = Seller(
            seed=self.seed,
            seller_id=seller_id,
            store_name=f"Meadowlark Goods {self.seed}",
            marketplaces=self.markets,
            catalog=catalog,
            orders=tuple(sorted(orders, key=lambda o: (o.created, o.order_id))),
            groups=groups,
            generated_until=self.end,
        )
        closed = sorted((g for g in groups if g.closed), key=lambda g: (g.end, g.settlement_id))
        seller.settlements = [settlement_of(g) for g in closed]
        return seller

    def make_catalog(self) -> tuple[CatalogItem, ...]:
        items = []
        for n, (word, title, product_type) in enumerate(_PRODUCTS[:CATALOG_SIZE], start=1):
            us_cents = self.rng.randrange(8, 90) * 100 + 99
            prices = tuple((m.code, self.money(us_cents, m.currency)) for m in self.markets)
            items.append(
                CatalogItem(
                    sku=f"ML-{word}-{n:03d}",
                    asin="B0" + "".join(self.rng.choice(_ALNUM) for _ in range(8)),
                    title=title,
                    product_type=product_type,
                    fulfilled_by="AMAZON" if n % 3 else "MERCHANT",
                    prices=prices,
                )
            )
        return tuple(items)

    # -- orders --------------------------------------------------------------------------------

    def pick_stream(self, streams: list[_Stream]) -> _Stream:
        weights = [_MARKETPLACE_WEIGHT.get(s.marketplace.code, 10) for s in streams]
        roll = self.rng.randrange(sum(weights))
        for stream, weight in zip(streams, weights, strict=True):
            if roll < weight:
                return stream
            roll -= weight
        raise AssertionError("weights exhausted")  # pragma: no cover - roll < sum(weights)

    def make_orders(self, streams: list[_Stream], catalog: tuple[CatalogItem, ...]) -> list[Order]:
        orders = []
        for _ in range(self.order_count):
            stream = self.pick_stream(streams)
            order = self.make_order(stream.marketplace, stream.start, catalog)
            orders.append(order)
            stream.transactions.extend(self.order_transactions(order, catalog))
        return orders

    def make_order(
        self, market: Marketplace, since: dt.datetime, catalog: tuple[CatalogItem, ...]
    ) -> Order:
        created = self.moment_between(since, self.end - dt.timedelta(minutes=5))
        fulfilled_by = "AMAZON" if self.chance(70) else "MERCHANT"
        candidates = [c for c in catalog if c.fulfilled_by == fulfilled_by]
        roll = self.rng.randrange(100)
        count = min(1 if roll < 70 else 2 if roll < 92 else 3, len(candidates))
        chosen = self.rng.sample(candidates, count)
        city, state, postal, tax_bps = self.destination(market)
        items = tuple(self.make_item(market, product, fulfilled_by, tax_bps) for product in chosen)
        status, shipped, updated = self.fulfilment(created)
        prefix = self.rng.choice(_ORDER_ID_PREFIX[market.region])
        order_id = self.unique(lambda: f"{prefix}-{self.digits(7)}-{self.digits(7)}")
        merchant_order_id = "" if fulfilled_by == "AMAZON" else f"SO-{self.digits(8)}"
        return Order(
            order_id=order_id,
            merchant_order_id=merchant_order_id,
            marketplace=market,
            created=created,
            last_updated=updated,
            status=status,
            fulfilled_by=fulfilled_by,
            items=items,
            buyer_name=self.rng.choice(_BUYERS),
            city=city,
            state=state,
            postal_code=postal,
            shipped=shipped,
        )

    def destination(self, market: Marketplace) -> tuple[str, str, str, int]:
        if market.code == "US":
            return self.rng.choice(_US_DESTINATIONS)
        return (f"{market.site} City", "", f"{self.rng.randrange(10000, 99999)}", 0)

    def make_item(
        self, market: Marketplace, product: CatalogItem, fulfilled_by: str, tax_bps: int
    ) -> OrderItem:
        currency = market.currency
        zero = quantize(Decimal(0), currency)
        roll = self.rng.randrange(100)
        quantity = 1 if roll < 75 else 2 if roll < 93 else 3
        unit_price = product.price_in(market.code)
        principal = unit_price * quantity
        paid_shipping = self.chance(60) if fulfilled_by == "MERCHANT" else self.chance(15)
        shipping = self.money(499 + 100 * (quantity - 1), currency) if paid_shipping else zero
        gift_wrap = self.money(399, currency) if self.chance(6) else zero
        promotion, promotion_id = zero, ""
        if self.chance(12):
            promotion = -quantize(principal * Decimal("0.10"), currency)
            promotion_id = f"PROMO-{self.digits(10)}"
        rate = Decimal(tax_bps).scaleb(-4)
        tax = quantize((principal + promotion) * rate, currency)
        shipping_tax = quantize(shipping * rate, currency)
        return OrderItem(
            order_item_id=self.unique(lambda: self.digits(14)),
            sku=product.sku,
            asin=product.asin,
            title=product.title,
            quantity=quantity,
            unit_price=unit_price,
            shipping=shipping,
            gift_wrap=gift_wrap,
            promotion=promotion,
            promotion_id=promotion_id,
            tax=tax,
            shipping_tax=shipping_tax,
        )

    def fulfilment(self, created: dt.datetime) -> tuple[str, dt.datetime | None, dt.datetime]:
        """(status, shipped time, last update time) of an order created at ``created``."""
        if created >= self.end - UNSHIPPED_WINDOW:
            return ("PENDING" if self.chance(50) else "UNSHIPPED"), None, created
        if self.chance(3):
            return "CANCELLED", None, created + dt.timedelta(hours=2)
        shipped = created + dt.timedelta(seconds=self.rng.randrange(2 * 3600, 40 * 3600))
        return "SHIPPED", shipped, shipped

    # -- money of orders -----------------------------------------------------------------------

    def fba_fee(self, sku: str, currency: str) -> Decimal:
        # Per-unit FBA fee by size tier; derived from the SKU so every unit of it costs the same.
        tier = int(hashlib.sha256(sku.encode()).hexdigest(), 16) % 4
        return self.money((322, 406, 498, 675)[tier], currency)

    def order_transactions(
        self, order: Order, catalog: tuple[CatalogItem, ...]
    ) -> list[Transaction]:
        if order.status != "SHIPPED" or order.shipped is None or order.shipped >= self.end:
            return []
        afn = order.fulfilled_by == "AMAZON"
        common: dict[str, Any] = {
            "marketplace": order.marketplace,
            "order_id": order.order_id,
            "merchant_order_id": order.merchant_order_id,
            "fulfillment_id": "AFN" if afn else "MFN",
        }
        shipment = Transaction(
            kind=Kind.SHIPMENT,
            transaction_id=self.next_transaction_id(Kind.SHIPMENT),
            posted=order.shipped,
            items=tuple(self.shipment_amounts(order, item) for item in order.items),
            shipment_id=("D" + "".join(self.rng.choice(_ALNUM) for _ in range(8))) if afn else "",
            **common,
        )
        transactions = [shipment]
        if self.chance(8):
            posted = order.shipped + dt.timedelta(seconds=self.rng.randrange(3 * 86400, 25 * 86400))
            if posted < self.end:
                transactions.append(
                    Transaction(
                        kind=Kind.REFUND,
                        transaction_id=self.next_transaction_id(Kind.REFUND),
                        posted=posted,
                        items=(self.refund_amounts(order, order.items[0]),),
                        adjustment_id=self.unique(lambda: self.digits(14)),
                        **common,
                    )
                )
        return transactions

    def commission(self, order: Order, item: OrderItem) -> Decimal:
        base = item.principal + item.shipping + item.gift_wrap + item.promotion
        return quantize(base * Decimal("0.15"), order.currency)

    def shipment_amounts(self, order: Order, item: OrderItem) -> ItemAmounts:
        afn = order.fulfilled_by == "AMAZON"
        rows = [
            Amount("ItemPrice", "Principal", item.principal),
            Amount("ItemPrice", "Tax", item.tax),
            Amount("ItemPrice", "Shipping", item.shipping),
            Amount("ItemPrice", "ShippingTax", item.shipping_tax),
            Amount("ItemPrice", "GiftWrap", item.gift_wrap),
            Amount("Promotion", "Principal", item.promotion),
            Amount("ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", -item.tax),
            Amount("ItemWithheldTax", "MarketplaceFacilitatorTax-Shipping", -item.shipping_tax),
            Amount("ItemFees", "Commission", -self.commission(order, item)),
        ]
        if afn:
            fee = self.fba_fee(item.sku, order.currency) * item.quantity
            rows += [
                Amount("ItemFees", "FBAPerUnitFulfillmentFee", -fee),
                Amount("ItemFees", "ShippingChargeback", -item.shipping),
                Amount("ItemFees", "GiftwrapChargeback", -item.gift_wrap),
            ]
        return ItemAmounts(
            order_item_id=item.order_item_id,
            sku=item.sku,
            quantity=item.quantity,
            amounts=tuple(r for r in rows if r.amount != 0),
            promotion_id=item.promotion_id,
        )

    def refund_amounts(self, order: Order, item: OrderItem) -> ItemAmounts:
        commission = self.commission(order, item)
        cap = self.money(500, order.currency)
        refund_commission = min(quantize(commission * Decimal("0.20"), order.currency), cap)
        rows = [
            Amount("ItemPrice", "Principal", -item.principal),
            Amount("ItemPrice", "Tax", -item.tax),
            Amount("ItemPrice", "Shipping", -item.shipping),
            Amount("ItemPrice", "ShippingTax", -item.shipping_tax),
            Amount("Promotion", "Principal", -item.promotion),
            Amount("ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", item.tax),
            Amount("ItemWithheldTax", "MarketplaceFacilitatorTax-Shipping", item.shipping_tax),
            Amount("ItemFees", "Commission", commission),
            Amount("ItemFees", "RefundCommission", -refund_commission),
        ]
        if order.fulfilled_by == "AMAZON":
            rows.append(Amount("ItemFees", "ShippingChargeback", item.shipping))
        return ItemAmounts(
            order_item_id=item.order_item_id,
            sku=item.sku,
            quantity=item.quantity,
            amounts=tuple(r for r in rows if r.amount != 0),
            promotion_id=item.promotion_id,
        )

    # -- fees that are not orders ----------------------------------------------------------------

    def add_service_transactions(self, stream: _Stream, catalog: tuple[CatalogItem, ...]) -> None:
        currency = stream.marketplace.currency
        month = stream.start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        while month < self.end:
            for day, hour, kind, cents in (
                (1, 6, Kind.SUBSCRIPTION_FEE, 3999),
                (8, 9, Kind.STORAGE_FEE, self.rng.randrange(500, 6000)),
            ):
                posted = month.replace(day=day, hour=hour)
                if stream.start <= posted < self.end:
                    self.add_single(stream, kind, posted, -self.money(cents, currency))
            month = (month + dt.timedelta(days=32)).replace(day=1)
        fba_items = [c for c in catalog if c.fulfilled_by == "AMAZON"]
        index = 0
        while stream.period_start(index) < self.end:
            start = stream.period_start(index)
            stop = min(start + SETTLEMENT_PERIOD, self.end)
            if self.chance(50):
                cents = self.rng.randrange(2000, 15000)
                posted = self.moment_between(start, stop)
                self.add_single(stream, Kind.ADVERTISING, posted, -self.money(cents, currency))
            if self.chance(35) and fba_items:
                product = self.rng.choice(fba_items)
                quantity = 1 + self.rng.randrange(2)
                unit = quantize(
                    product.price_in(stream.marketplace.code) * Decimal("0.6"), currency
                )
                self.add_single(
                    stream,
                    Kind.REIMBURSEMENT,
                    self.moment_between(start, stop),
                    unit * quantity,
                    sku=product.sku,
                    quantity=quantity,
                )
            index += 1

    def add_single(
        self,
        stream: _Stream,
        kind: Kind,
        posted: dt.datetime,
        amount: Decimal,
        *,
        sku: str = "",
        quantity: int = 0,
    ) -> Transaction:
        transaction = Transaction(
            kind=kind,
            transaction_id=self.next_transaction_id(kind),
            posted=posted,
            marketplace=stream.marketplace,
            amount=amount + 0,  # + 0 turns a negative zero into zero
            sku=sku,
            quantity=quantity,
        )
        stream.transactions.append(transaction)
        return transaction

    # -- settlement periods ----------------------------------------------------------------------

    def make_groups(self, streams: list[_Stream]) -> tuple[EventGroup, ...]:
        closed_counts = [self.closed_periods(s) for s in streams]
        every_closed = [(i, k) for i, n in enumerate(closed_counts) for k in range(n)]
        negative = self.rng.choice(every_closed) if every_closed else None
        groups: list[EventGroup] = []
        for i, stream in enumerate(streams):
            groups.extend(self.stream_groups(i, stream, closed_counts[i], negative))
        return tuple(groups)

    def closed_periods(self, stream: _Stream) -> int:
        count = 0
        while stream.period_start(count + 1) + DEPOSIT_DELAY <= self.end:
            count += 1
        return count

    def stream_groups(
        self, index: int, stream: _Stream, closed: int, negative: tuple[int, int] | None
    ) -> list[EventGroup]:
        currency = stream.marketplace.currency
        by_period: dict[int, list[Transaction]] = {}
        for t in stream.transactions:
            # Everything after the last closed period belongs to the one open group.
            by_period.setdefault(min(stream.period_of(t.posted), closed), []).append(t)
        groups = []
        reserve = quantize(Decimal(0), currency)
        for k in range(closed + 1):
            start = stream.period_start(k)
            end = start + SETTLEMENT_PERIOD
            transactions = sorted(by_period.get(k, []), key=lambda t: (t.posted, t.transaction_id))
            beginning = reserve
            if k < closed:
                if reserve:
                    released = self.add_single(stream, Kind.RESERVE_RELEASED, start, reserve)
                    transactions.insert(0, released)
                subtotal = sum((t.total for t in transactions), Decimal(0))
                if negative == (index, k):
                    # Fees exceed sales: an advertising bill bigger than everything else.
                    overshoot = self.money(self.rng.randrange(1000, 6000), currency)
                    posted = self.moment_between(start, end - dt.timedelta(hours=1))
                    charge = self.add_single(
                        stream, Kind.ADVERTISING, posted, -(max(subtotal, Decimal(0)) + overshoot)
                    )
                    transactions.append(charge)
                    transactions.sort(key=lambda t: (t.posted, t.transaction_id))
                    reserve = quantize(Decimal(0), currency)
                else:
                    reserve = quantize(max(subtotal, Decimal(0)) * Decimal("0.04"), currency)
                    if reserve:
                        held = end - dt.timedelta(seconds=1)
                        transactions.append(
                            self.add_single(stream, Kind.RESERVE_HELD, held, -reserve)
                        )
            if k < closed and not transactions:
                continue  # Amazon issues no settlement for a period with nothing in it
            settlement_id = self.unique(lambda: str(self.rng.randrange(10**10, 10**11)))
            groups.append(
                EventGroup(
                    group_id=self.group_id(settlement_id),
                    settlement_id=settlement_id,
                    marketplace=stream.marketplace,
                    start=start,
                    end=end,
                    deposit_date=end + DEPOSIT_DELAY if k < closed else None,
                    transactions=tuple(transactions),
                    beginning_balance=beginning,
                )
            )
        return groups

    def group_id(self, settlement_id: str) -> str:
        digest = hashlib.sha256(f"{self.seed}:{settlement_id}".encode()).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
