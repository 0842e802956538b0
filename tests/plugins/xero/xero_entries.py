"""Journal entries in the posting layer's shape, built by hand for the Xero plugin's tests.

The shapes follow the task's statement of the posting layer (``settlement``, ``payout`` and
``order`` entries with ``settlement_id``/``currency``/``total_amount``/``deposit_date`` meta, each
posting with a ``marketplace`` and a category ``memo``), so these tests do not wait for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from ml_connector.core.targets import RenderContext, TargetMapping
from ml_connector.ledger.entries import JournalEntry, Posting, entry_id

DATE = dt.date(2026, 10, 14)

ACCOUNTS = {
    "Income:Amazon:Sales": "200",
    "Income:Amazon:Shipping": "201",
    "Income:Amazon:Promotions": "202",
    "Expenses:Amazon:ReferralFees": "404",
    "Expenses:Amazon:FBAFees": "405",
    "Liabilities:SalesTax:MarketplaceFacilitator": "820",
    "Assets:Amazon:Reserve": "630",
    "Assets:Amazon:Receivable": "610",
    "Assets:Bank:AmazonPayouts": "090",
    "Assets:Amazon:Clearing:US": "091",
    "Assets:Amazon:Clearing:UK": "092",
    "Assets:Amazon:Clearing:DE": "093",
    "Assets:Amazon:Clearing:JP": "094",
}
CONTACTS = {
    "US": "Amazon.com customer",
    "UK": "Amazon.co.uk customer",
    "DE": "Amazon.de customer",
    "JP": "Amazon.co.jp customer",
}
MAPPING = TargetMapping(accounts=ACCOUNTS, contacts=CONTACTS)
TRACKED = TargetMapping(
    accounts=ACCOUNTS,
    contacts=CONTACTS,
    tracking={"US": "Amazon US", "UK": "Amazon UK", "DE": "Amazon DE", "JP": "Amazon JP"},
    options={"track_marketplace": "true", "tracking_category": "Sales channel"},
)
SUMMARY = RenderContext(flow="acme-us", target="xero", mode="summary", home_currency="USD")
PER_ORDER = RenderContext(flow="acme-us", target="xero", mode="per-order", home_currency="USD")


def d(text: str) -> Decimal:
    return Decimal(text)


def meta(settlement_id: str, currency: str, total: str) -> dict[str, str]:
    return {
        "settlement_id": settlement_id,
        "currency": currency,
        "total_amount": total,
        "deposit_date": DATE.isoformat(),
    }


def settlement_entry(
    settlement_id: str,
    lines: Sequence[tuple[str, str, str, str]],
    *,
    currency: str = "USD",
    clearing_market: str | None = None,
) -> JournalEntry:
    """One settlement: each (account, amount, marketplace, memo) line posts ``-amount`` there and
    ``+amount`` to that marketplace's clearing account (amount as Amazon reports it)."""
    postings = []
    total = Decimal(0)
    for account, amount, marketplace, memo in lines:
        value = Decimal(amount)
        total += value
        clearing = f"Assets:Amazon:Clearing:{clearing_market or marketplace}"
        postings.append(Posting(clearing, value, currency, marketplace, memo))
        postings.append(Posting(account, -value, currency, marketplace, memo))
    return JournalEntry(
        id=entry_id("settlement", settlement_id, "lines"),
        date=DATE,
        description=f"Amazon settlement {settlement_id}",
        source_ref=f"amazon:settlement:{settlement_id}",
        postings=tuple(postings),
        kind="settlement",
        meta=meta(settlement_id, currency, str(total)),
    )


def payout_entry(
    settlement_id: str, total: str, *, currency: str = "USD", marketplace: str = "US"
) -> JournalEntry:
    amount = Decimal(total)
    return JournalEntry(
        id=entry_id("settlement", settlement_id, "payout"),
        date=DATE,
        description=f"Amazon payout for settlement {settlement_id}",
        source_ref=f"amazon:settlement:{settlement_id}",
        postings=(
            Posting(
                f"Assets:Amazon:Clearing:{marketplace}", -amount, currency, marketplace, "payout"
            ),
            Posting("Assets:Bank:AmazonPayouts", amount, currency, marketplace, "payout"),
        ),
        kind="payout",
        meta=meta(settlement_id, currency, total),
    )


def order_entry(
    settlement_id: str,
    order_id: str,
    lines: Sequence[tuple[str, str, str]],
    *,
    currency: str = "USD",
    marketplace: str = "US",
    sku: str | None = None,
) -> JournalEntry:
    """Dr receivable, Cr each (account, amount, memo) line; a negative amount is a debit."""
    postings = [
        Posting(account, -Decimal(a), currency, marketplace, memo) for account, a, memo in lines
    ]
    total = sum((Decimal(a) for _, a, _ in lines), Decimal(0))
    postings.insert(0, Posting("Assets:Amazon:Receivable", total, currency, marketplace, "order"))
    entry_meta = meta(settlement_id, currency, str(total)) | {"order_id": order_id}
    if sku:
        entry_meta["sku"] = sku
    return JournalEntry(
        id=entry_id("order", settlement_id, order_id),
        date=DATE,
        description=f"Amazon order {order_id}",
        source_ref=f"amazon:settlement:{settlement_id}",
        postings=tuple(postings),
        kind="order",
        meta=entry_meta,
    )


def per_order_settlement(
    settlement_id: str,
    orders: Sequence[JournalEntry],
    fees: Sequence[tuple[str, str, str, str]],
) -> JournalEntry:
    """The settlement of ``orders``: clearing takes each receivable, then pays the fees."""
    postings = []
    total = Decimal(0)
    for order in orders:
        (receivable,) = [p for p in order.postings if p.account == "Assets:Amazon:Receivable"]
        market = receivable.marketplace
        postings.append(
            Posting(
                f"Assets:Amazon:Clearing:{market}",
                receivable.amount,
                receivable.currency,
                market,
                "order",
            )
        )
        postings.append(receivable.negated())
        total += receivable.amount
    currency = orders[0].postings[0].currency
    for account, amount, market, memo in fees:
        value = Decimal(amount)
        total += value
        postings.append(Posting(f"Assets:Amazon:Clearing:{market}", value, currency, market, memo))
        postings.append(Posting(account, -value, currency, market, memo))
    return JournalEntry(
        id=entry_id("settlement", settlement_id, "lines"),
        date=DATE,
        description=f"Amazon settlement {settlement_id}",
        source_ref=f"amazon:settlement:{settlement_id}",
        postings=tuple(postings),
        kind="settlement",
        meta=meta(settlement_id, currency, str(total)),
    )


def small_seller() -> list[JournalEntry]:
    """A fixed seller for the summary-mode snapshot: one US settlement and its payout."""
    lines = [
        ("Income:Amazon:Sales", "120.00", "US", "sales"),
        ("Income:Amazon:Shipping", "9.98", "US", "shipping"),
        ("Liabilities:SalesTax:MarketplaceFacilitator", "10.40", "US", "tax"),
        ("Liabilities:SalesTax:MarketplaceFacilitator", "-10.40", "US", "tax_withheld"),
        ("Expenses:Amazon:ReferralFees", "-19.50", "US", "fee_referral"),
        ("Expenses:Amazon:FBAFees", "-12.66", "US", "fee_fba"),
        ("Assets:Amazon:Reserve", "-15.00", "US", "reserve"),
    ]
    settlement = settlement_entry("5001", lines)
    return [settlement, payout_entry("5001", settlement.meta["total_amount"])]


def small_seller_per_order() -> list[JournalEntry]:
    """The per-order snapshot's seller: two orders, their settlement and its payout."""
    orders = [
        order_entry(
            "5002",
            "111-0000001-0000001",
            [
                ("Income:Amazon:Sales", "60.00", "sales"),
                ("Income:Amazon:Shipping", "4.99", "shipping"),
                ("Liabilities:SalesTax:MarketplaceFacilitator", "5.20", "tax"),
            ],
            sku="MUG-RED",
        ),
        order_entry(
            "5002",
            "111-0000001-0000002",
            [
                ("Income:Amazon:Sales", "40.00", "sales"),
                ("Income:Amazon:Promotions", "-5.00", "promotion"),
            ],
        ),
    ]
    settlement = per_order_settlement(
        "5002",
        orders,
        [
            ("Expenses:Amazon:ReferralFees", "-15.00", "US", "fee_referral"),
            ("Expenses:Amazon:FBAFees", "-8.10", "US", "fee_fba"),
        ],
    )
    return [*orders, settlement, payout_entry("5002", settlement.meta["total_amount"])]
