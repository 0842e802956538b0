"""What the Wave emulator remembers: businesses and everything created in them.

Records are plain mutable dataclasses with snake_case fields; the GraphQL layer (``views.py``)
turns them into Wave's camelCase shapes. Every amount is a ``Decimal``. Besides the objects the
API exposes, each business keeps a general ledger of :class:`Posting` rows (from approved
invoices, invoice payments and money transactions), which is what ``Account.balance`` reports
and what tests use to check that a settlement's clearing account nets to zero.

Money transactions can be read only through Python (:meth:`WaveState.money_transactions`):
Wave's public schema has no query that lists them, and neither has the emulator.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from ml_connector.plugins.wave.emulator import ids
from ml_connector.plugins.wave.emulator.reference_data import (
    ACCOUNT_SUBTYPES,
    ACCOUNT_TYPES,
    CONTRA_SUBTYPES,
)

ZERO = Decimal(0)


@dataclass
class UserRecord:
    id: str
    first_name: str
    last_name: str
    default_email: str
    created_at: dt.datetime
    modified_at: dt.datetime


@dataclass
class AddressRecord:
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    province_code: str | None = None
    country_code: str | None = None
    postal_code: str | None = None


@dataclass
class ShippingRecord:
    name: str | None = None
    address: AddressRecord | None = None
    phone: str | None = None
    instructions: str | None = None


@dataclass
class AccountRecord:
    id: str
    number: int
    name: str
    subtype: str
    currency: str
    created_at: dt.datetime
    modified_at: dt.datetime
    description: str | None = None
    display_id: str | None = None
    is_archived: bool = False
    sequence: int = 1

    @property
    def type(self) -> str:
        return ACCOUNT_SUBTYPES[self.subtype].type

    @property
    def normal_balance(self) -> str:
        """``DEBIT`` or ``CREDIT``: the account type's normal balance (contra subtypes too)."""
        return ACCOUNT_TYPES[self.type].normal_balance

    @property
    def is_contra(self) -> bool:
        return self.subtype in CONTRA_SUBTYPES


@dataclass
class CustomerRecord:
    id: str
    number: int
    name: str
    created_at: dt.datetime
    modified_at: dt.datetime
    first_name: str | None = None
    last_name: str | None = None
    display_id: str | None = None
    email: str | None = None
    mobile: str | None = None
    phone: str | None = None
    fax: str | None = None
    toll_free: str | None = None
    website: str | None = None
    internal_notes: str | None = None
    currency: str | None = None
    address: AddressRecord | None = None
    shipping_details: ShippingRecord | None = None
    is_archived: bool = False


@dataclass
class SalesTaxRecord:
    id: str
    number: int
    name: str
    abbreviation: str
    rates: list[tuple[dt.date, Decimal]]
    liability_account_id: str
    created_at: dt.datetime
    modified_at: dt.datetime
    description: str | None = None
    tax_number: str | None = None
    show_tax_number_on_invoices: bool = False
    is_compound: bool = False
    is_recoverable: bool = False
    is_archived: bool = False

    def rate_on(self, day: dt.date) -> Decimal:
        """The rate in effect on ``day``: the latest rate whose effective date is not after it."""
        effective = [rate for start, rate in sorted(self.rates) if start <= day]
        return effective[-1] if effective else sorted(self.rates)[0][1]


@dataclass
class ProductRecord:
    id: str
    number: int
    name: str
    unit_price: Decimal
    created_at: dt.datetime
    modified_at: dt.datetime
    description: str | None = None
    income_account_id: str | None = None
    expense_account_id: str | None = None
    default_sales_tax_ids: list[str] = field(default_factory=list)
    is_archived: bool = False

    @property
    def is_sold(self) -> bool:
        return self.income_account_id is not None

    @property
    def is_bought(self) -> bool:
        return self.expense_account_id is not None


@dataclass
class LineTax:
    sales_tax_id: str
    amount: Decimal


@dataclass
class InvoiceLine:
    product_id: str
    account_id: str
    description: str | None
    quantity: Decimal
    unit_price: Decimal
    subtotal: Decimal
    taxes: list[LineTax]

    @property
    def total(self) -> Decimal:
        return self.subtotal + sum((tax.amount for tax in self.taxes), ZERO)


@dataclass
class DiscountRecord:
    discount_type: str  # FIXED or PERCENTAGE
    name: str | None
    amount: Decimal | None
    percentage: Decimal | None
    created_at: dt.datetime


@dataclass
class InvoiceRecord:
    id: str
    number: int
    customer_id: str
    status: str
    invoice_number: str
    invoice_date: dt.date
    due_date: dt.date
    currency: str
    exchange_rate: Decimal
    lines: list[InvoiceLine]
    discounts: list[DiscountRecord]
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal
    created_at: dt.datetime
    modified_at: dt.datetime
    title: str = "Invoice"
    subhead: str | None = None
    po_number: str | None = None
    memo: str | None = None
    footer: str | None = None
    disable_amex_payments: bool = False
    disable_credit_card_payments: bool = False
    disable_bank_payments: bool = False
    item_title: str = "Items"
    unit_title: str = "Quantity"
    price_title: str = "Price"
    amount_title: str = "Amount"
    hide_name: bool = False
    hide_description: bool = False
    hide_unit: bool = False
    hide_price: bool = False
    hide_amount: bool = False
    require_terms_of_service_agreement: bool = False
    amount_paid: Decimal = ZERO
    last_sent_at: dt.datetime | None = None
    last_sent_via: str | None = None
    last_viewed_at: dt.datetime | None = None

    @property
    def amount_due(self) -> Decimal:
        return self.total - self.amount_paid


@dataclass
class MoneyLine:
    account_id: str
    amount: Decimal
    balance: str  # BalanceType value
    customer_id: str | None = None
    description: str | None = None
    taxes: list[LineTax] = field(default_factory=list)


@dataclass
class Posting:
    """One side of a general-ledger entry: ``amount`` (>= 0) on ``side`` of ``account_id``."""

    account_id: str
    side: str  # DEBIT or CREDIT
    amount: Decimal
    source_id: str  # the invoice, payment or transaction that made it


@dataclass
class MoneyTransactionRecord:
    id: str
    number: int
    external_id: str
    date: dt.date
    description: str
    notes: str | None
    anchor_account_id: str
    anchor_amount: Decimal
    direction: str  # DEPOSIT or WITHDRAWAL
    line_items: list[MoneyLine]
    created_at: dt.datetime


@dataclass
class InvoicePaymentRecord:
    id: str
    number: int
    invoice_id: str
    payment_account_id: str
    amount: Decimal
    payment_date: dt.date
    payment_method: str
    exchange_rate: Decimal
    memo: str | None
    created_at: dt.datetime


@dataclass
class BusinessState:
    """One business: its profile, its objects (insertion-ordered) and its general ledger."""

    id: str
    uuid: str
    name: str
    currency: str
    created_at: dt.datetime
    modified_at: dt.datetime
    is_personal: bool = False
    is_classic_accounting: bool = False
    is_classic_invoicing: bool = False
    is_archived: bool = False
    email_send_enabled: bool = True
    organizational_type: str | None = None
    business_type: str | None = None
    timezone: str = "UTC"
    address: AddressRecord | None = None
    accounts: dict[str, AccountRecord] = field(default_factory=dict)
    customers: dict[str, CustomerRecord] = field(default_factory=dict)
    products: dict[str, ProductRecord] = field(default_factory=dict)
    sales_taxes: dict[str, SalesTaxRecord] = field(default_factory=dict)
    invoices: dict[str, InvoiceRecord] = field(default_factory=dict)
    money_transactions: dict[str, MoneyTransactionRecord] = field(default_factory=dict)
    invoice_payments: dict[str, InvoicePaymentRecord] = field(default_factory=dict)
    postings: list[Posting] = field(default_factory=list)
    _counters: Counter[str] = field(default_factory=Counter)

    def mint(self, kind: str) -> tuple[str, int]:
        """A fresh global id and number for an object of ``kind`` in this business."""
        self._counters[kind] += 1
        number = self._counters[kind]
        return ids.encode(kind, number, business_uuid=self.uuid), number

    def account_balance(self, account_id: str) -> Decimal:
        """Balance of ``account_id`` in its normal-balance direction, from the postings."""
        account = self.accounts[account_id]
        total = ZERO
        for posting in self.postings:
            if posting.account_id == account_id:
                same_side = posting.side == account.normal_balance
                total += posting.amount if same_side else -posting.amount
        return total

    def remove_postings(self, source_id: str) -> None:
        self.postings = [p for p in self.postings if p.source_id != source_id]


@dataclass
class WaveState:
    """Everything the emulator holds, for resolvers and for tests (``emulator.state``)."""

    user: UserRecord
    businesses: dict[str, BusinessState] = field(default_factory=dict)

    def business(self, business_id: str) -> BusinessState | None:
        return self.businesses.get(business_id)

    def money_transactions(self, business_id: str) -> list[MoneyTransactionRecord]:
        """Every money transaction stored for ``business_id``, in creation order."""
        return list(self.businesses[business_id].money_transactions.values())

    def external_id_counts(self, business_id: str) -> Counter[str]:
        """How many money transactions each ``externalId`` produced (duplicates show as > 1)."""
        return Counter(t.external_id for t in self.money_transactions(business_id))

    def invoice_number_counts(self, business_id: str) -> Counter[str]:
        """How many invoices carry each ``invoiceNumber`` (Wave accepts duplicates)."""
        invoices = self.businesses[business_id].invoices.values()
        return Counter(invoice.invoice_number for invoice in invoices)
