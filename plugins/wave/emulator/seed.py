"""The emulator's starting world: one user, an Amazon seller's business and a personal one.

The seller's business (USD, modern accounting) has the chart of accounts an Amazon seller needs
on Wave: income for sales and shipping, expenses for Amazon's fees, two Cash & Bank accounts
("Amazon Clearing" and "Business Bank") that money transactions can be anchored on, a credit
card and a loan (the other anchor kinds), a sales-tax liability (created with its sales tax, as
Wave does), an asset for Amazon's reserve, Wave's system accounts, and one archived account.

The personal business is on classic accounting, which ``moneyTransactionCreate`` refuses, so the
rule can be exercised. Ids and names derive from ``seed`` only, so a seed always yields the same
world.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ml_connector.plugins.wave.emulator import ids
from ml_connector.plugins.wave.emulator.state import (
    AccountRecord,
    AddressRecord,
    BusinessState,
    SalesTaxRecord,
    UserRecord,
    WaveState,
)

SELLER_BUSINESS_NAME = "Amazon Seller Co"

# (name, subtype, archived): the seller's chart of accounts, in the order Wave lists it.
SELLER_ACCOUNTS: tuple[tuple[str, str, bool], ...] = (
    ("Amazon Clearing", "CASH_AND_BANK", False),
    ("Business Bank", "CASH_AND_BANK", False),
    ("Cash on Hand", "CASH_AND_BANK", False),
    ("Business Credit Card", "CREDIT_CARD", False),
    ("Inventory Loan", "LOANS", False),
    ("Accounts Receivable", "RECEIVABLE_INVOICES", False),
    ("Amazon Reserve", "OTHER_CURRENT_ASSETS", False),
    ("Inventory", "INVENTORY", False),
    ("Accounts Payable", "PAYABLE_BILLS", False),
    ("Owner Investment / Drawings", "NON_RETAINED_EARNINGS", False),
    ("Amazon Sales", "INCOME", False),
    ("Amazon Shipping Income", "INCOME", False),
    ("Amazon Promotions", "DISCOUNTS", False),
    ("Amazon Reimbursements", "OTHER_INCOME", False),
    ("Uncategorized Income", "UNCATEGORIZED_INCOME", False),
    ("Amazon Referral Fees", "PAYMENT_PROCESSING_FEES", False),
    ("Amazon FBA Fees", "EXPENSE", False),
    ("Amazon Advertising", "EXPENSE", False),
    ("Cost of Goods Sold", "COST_OF_GOODS_SOLD", False),
    ("Uncategorized Expense", "UNCATEGORIZED_EXPENSE", False),
    ("Old Marketplace Sales", "INCOME", True),
)

SELLER_SALES_TAX = ("Sales Tax", "ST", Decimal("0.0825"))


def build_world(seed: int, now: dt.datetime) -> WaveState:
    """The seeded user and businesses, timestamped ``now``."""
    uuids = ids.UuidSource(seed)
    user = UserRecord(
        id=ids.encode("User", uuids.next()),
        first_name="Sam",
        last_name="Seller",
        default_email="sam.seller@example.com",
        created_at=now,
        modified_at=now,
    )
    state = WaveState(user=user)
    personal = _business(uuids.next(), "Personal", now, is_personal=True, classic=True)
    seller = _business(uuids.next(), SELLER_BUSINESS_NAME, now, is_personal=False, classic=False)
    seller.organizational_type = "SOLE_PROPRIETORSHIP"
    seller.business_type = "RETAILERS_AND_RESELLERS"
    seller.address = AddressRecord(city="Seattle", province_code="US-WA", country_code="US")
    for name, subtype, archived in SELLER_ACCOUNTS:
        add_account(seller, name, subtype, now, archived=archived)
    add_sales_tax(seller, *SELLER_SALES_TAX, now=now)
    add_account(personal, "Cash on Hand", "CASH_AND_BANK", now)
    add_account(personal, "Uncategorized Expense", "UNCATEGORIZED_EXPENSE", now)
    for business in (personal, seller):
        state.businesses[business.id] = business
    return state


def _business(
    uuid: str, name: str, now: dt.datetime, *, is_personal: bool, classic: bool
) -> BusinessState:
    return BusinessState(
        id=ids.encode("Business", uuid),
        uuid=uuid,
        name=name,
        currency="USD",
        created_at=now,
        modified_at=now,
        is_personal=is_personal,
        is_classic_accounting=classic,
        is_classic_invoicing=classic,
    )


def add_account(
    business: BusinessState,
    name: str,
    subtype: str,
    now: dt.datetime,
    *,
    archived: bool = False,
    currency: str | None = None,
    description: str | None = None,
    display_id: str | None = None,
) -> AccountRecord:
    """Create an account in ``business`` and return it."""
    account_id, number = business.mint("Account")
    account = AccountRecord(
        id=account_id,
        number=number,
        name=name,
        subtype=subtype,
        currency=currency or business.currency,
        created_at=now,
        modified_at=now,
        description=description,
        display_id=display_id,
        is_archived=archived,
    )
    business.accounts[account_id] = account
    return account


def add_sales_tax(
    business: BusinessState,
    name: str,
    abbreviation: str,
    rate: Decimal,
    *,
    now: dt.datetime,
    effective: dt.date = dt.date(2000, 1, 1),
    description: str | None = None,
    tax_number: str | None = None,
    show_tax_number_on_invoices: bool = False,
    is_compound: bool = False,
    is_recoverable: bool = False,
) -> SalesTaxRecord:
    """Create a sales tax and, as Wave does, its liability account named after it."""
    liability = add_account(business, name, "SALES_TAX", now)
    tax_id, number = business.mint("SalesTax")
    tax = SalesTaxRecord(
        id=tax_id,
        number=number,
        name=name,
        abbreviation=abbreviation,
        rates=[(effective, rate)],
        liability_account_id=liability.id,
        created_at=now,
        modified_at=now,
        description=description,
        tax_number=tax_number,
        show_tax_number_on_invoices=show_tax_number_on_invoices,
        is_compound=is_compound,
        is_recoverable=is_recoverable,
    )
    business.sales_taxes[tax_id] = tax
    return tax
