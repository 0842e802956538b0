"""The emulated Wave business as a user would prepare it, and the census of what we put in it.

``docs/targets/wave.md`` asks the user to set up, before the first sync, the accounts Wave has no
default for: a Cash & Bank *clearing* account per marketplace in its currency, a Cash & Bank
account per payout currency, a Money in Transit account for transfers between them, and the
income and expense accounts of Amazon's fees. :func:`prepare_business` does exactly that in the
emulator's seeded business (the emulator already has the rest of a seller's chart), so the
mapping suggested from the chart is complete, as it would be for a prepared user.

:func:`census` counts, from the emulator's own state (never from our outbox), how many Wave
objects each of our documents produced: money transactions by ``externalId``, invoices by
number, customers and products by name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from ml_connector.core.emulation.clock import utcnow
from ml_connector.core.targets import Document
from ml_connector.ledger.marketplaces import MARKETPLACES
from ml_connector.plugins.wave.render import CUSTOMER, INVOICE, MONEY_TRANSACTION, PRODUCT

# (name, subtype): the accounts a prepared Amazon seller adds to Wave's default chart.
SETUP_ACCOUNTS: tuple[tuple[str, str], ...] = (
    ("Amazon Transfers", "MONEY_IN_TRANSIT"),
    ("Amazon Gift Wrap", "INCOME"),
    ("Amazon Refunds", "DISCOUNTS"),
    ("Amazon Adjustments", "OTHER_INCOME"),
    ("Amazon Liquidations", "INCOME"),
    ("Amazon Restocking Fees", "OTHER_INCOME"),
    ("Amazon FBA Inventory Fees", "EXPENSE"),
    ("Amazon Storage Fees", "EXPENSE"),
    ("Amazon Subscription Fees", "EXPENSE"),
    ("Amazon Refund Commission", "EXPENSE"),
    ("Amazon Closing Fees", "EXPENSE"),
    ("Amazon Shipping Labels", "EXPENSE"),
    ("Amazon Other Fees", "EXPENSE"),
    ("Tax Withheld by Amazon", "OTHER_CURRENT_ASSETS"),
)


def prepare_business(emulator: Any) -> None:
    """Add the accounts ``docs/targets/wave.md`` tells the user to create (see module doc)."""
    from ml_connector.plugins.wave.emulator.seed import add_account

    business = emulator.state.businesses[emulator.business_id]
    now = utcnow(emulator.clock)
    for name, subtype in SETUP_ACCOUNTS:
        add_account(business, name, subtype, now)
    for marketplace in MARKETPLACES:
        if marketplace.currency != business.currency:
            add_account(
                business,
                f"Amazon Clearing {marketplace.code}",
                "CASH_AND_BANK",
                now,
                currency=marketplace.currency,
            )
    for currency in sorted({m.currency for m in MARKETPLACES}):
        add_account(business, f"Amazon Payouts {currency}", "CASH_AND_BANK", now, currency=currency)


def natural_reference(document: Document) -> str:
    """What identifies the Wave object of ``document``: externalId, invoice number or name."""
    if document.kind == MONEY_TRANSACTION:
        return str(document.payload["externalId"])
    if document.kind == INVOICE:
        return str(document.payload["invoiceNumber"])
    return str(document.payload["name"])


def census(emulator: Any, documents: Sequence[Document]) -> dict[str, int]:
    business = emulator.state.businesses[emulator.business_id]
    counts: dict[str, Counter[str]] = {
        MONEY_TRANSACTION: Counter(t.external_id for t in business.money_transactions.values()),
        INVOICE: Counter(i.invoice_number for i in business.invoices.values()),
        CUSTOMER: Counter(c.name for c in business.customers.values() if not c.is_archived),
        PRODUCT: Counter(p.name for p in business.products.values() if not p.is_archived),
    }
    return {d.key: counts[d.kind].get(natural_reference(d), 0) for d in documents}
