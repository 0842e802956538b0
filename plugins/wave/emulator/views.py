"""Records as Wave's GraphQL objects: dicts with camelCase keys.

graphql-core's default resolver reads a dict key named after the field and, when the value is
callable, calls it with ``(info, **arguments)``. So a view holds plain values for simple fields
and small functions for fields that take arguments (``business.customers(page:...)``) or that
would recurse (``account.business``). Nothing is computed for fields a query does not select.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ml_connector.plugins.wave.emulator import listing
from ml_connector.plugins.wave.emulator.context import RequestContext
from ml_connector.plugins.wave.emulator.errors import NotFoundFailure
from ml_connector.plugins.wave.emulator.reference_data import (
    ACCOUNT_SUBTYPES,
    ACCOUNT_TYPES,
    COUNTRIES,
    CURRENCIES,
    PROVINCES,
)
from ml_connector.plugins.wave.emulator.state import (
    AccountRecord,
    AddressRecord,
    BusinessState,
    CustomerRecord,
    DiscountRecord,
    InvoiceLine,
    InvoiceRecord,
    ProductRecord,
    SalesTaxRecord,
    ShippingRecord,
    UserRecord,
)

View = dict[str, Any]

# A public host that can never resolve, so emulated invoice links are never mistaken for real ones.
LINK_BASE = "https://wave-emulator.invalid"


def currency_exponent(code: str) -> int:
    return CURRENCIES[code].exponent


def round_money(amount: Decimal, currency: str) -> Decimal:
    """``amount`` on the currency's minor unit, ties away from zero (how Wave rounds tax)."""
    return amount.quantize(Decimal(1).scaleb(-currency_exponent(currency)), ROUND_HALF_UP)


def currency_view(code: str) -> View | None:
    info = CURRENCIES.get(code)
    if info is None:
        return None
    return {
        "code": info.code,
        "symbol": info.symbol,
        "name": info.name,
        "plural": info.plural,
        "exponent": info.exponent,
    }


def province_view(code: str | None) -> View | None:
    info = PROVINCES.get(code) if code else None
    if info is None:
        return None
    return {"code": info.code, "name": info.name, "slug": info.name.lower().replace(" ", "-")}


def country_view(code: str | None) -> View | None:
    info = COUNTRIES.get(code) if code else None
    if info is None:
        return None
    return {
        "code": info.code,
        "name": info.name,
        "nameWithArticle": info.name_with_article,
        "currency": currency_view(info.currency),
        "provinces": [province_view(p.code) for p in info.provinces],
    }


def address_view(address: AddressRecord | None) -> View | None:
    if address is None:
        return None
    return {
        "addressLine1": address.address_line1,
        "addressLine2": address.address_line2,
        "city": address.city,
        "province": province_view(address.province_code),
        "country": country_view(address.country_code),
        "postalCode": address.postal_code,
    }


def shipping_view(shipping: ShippingRecord | None) -> View | None:
    if shipping is None:
        return None
    return {
        "name": shipping.name,
        "address": address_view(shipping.address),
        "phone": shipping.phone,
        "instructions": shipping.instructions,
    }


def money_view(amount: Decimal, currency: str) -> View:
    """Wave's ``Money``: ``value`` "12.30", ``minorUnitValue``/``raw`` 1230, and the currency."""
    exact = round_money(amount, currency)
    minor = exact.scaleb(currency_exponent(currency)).quantize(Decimal(1))
    return {
        "raw": int(minor),
        "minorUnitValue": minor,
        "value": format(exact, "f"),
        "currency": currency_view(currency),
    }


def user_view(user: UserRecord) -> View:
    return {
        "id": user.id,
        "defaultEmail": user.default_email,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "createdAt": user.created_at,
        "modifiedAt": user.modified_at,
    }


def account_type_view(value: str) -> View:
    info = ACCOUNT_TYPES[value]
    return {"name": info.name, "normalBalanceType": info.normal_balance, "value": info.value}


def account_subtype_view(value: str) -> View:
    info = ACCOUNT_SUBTYPES[value]
    return {
        "name": info.name,
        "value": info.value,
        "type": account_type_view(info.type),
        "archivable": info.archivable,
        "systemCreated": info.system_created,
        "description": None,
    }


# ------------------------------------------------------------------------------------ business


def business_view(ctx: RequestContext, business: BusinessState) -> View:
    def one(collection: dict[str, Any], kind: str, make: Any) -> Any:
        def resolve(_info: Any, id: str) -> View:  # noqa: A002 - GraphQL argument name
            record = collection.get(id)
            if record is None:
                raise NotFoundFailure(kind, id)
            view: View = make(ctx, business, record)
            return view

        return resolve

    return {
        "id": business.id,
        "name": business.name,
        "isPersonal": business.is_personal,
        "organizationalType": business.organizational_type,
        "type": (
            {
                "name": business.business_type.replace("_", " ").title(),
                "value": business.business_type,
            }
            if business.business_type
            else None
        ),
        "subtype": None,
        "currency": currency_view(business.currency),
        "timezone": business.timezone,
        "address": address_view(business.address),
        "phone": None,
        "fax": None,
        "mobile": None,
        "tollFree": None,
        "website": None,
        "isClassicAccounting": business.is_classic_accounting,
        "isClassicInvoicing": business.is_classic_invoicing,
        "isArchived": business.is_archived,
        "createdAt": business.created_at,
        "modifiedAt": business.modified_at,
        "emailSendEnabled": business.email_send_enabled,
        "invoiceEstimateSettings": {"generalSettings": {"accentColor": None, "logoUrl": None}},
        "customer": one(business.customers, "Customer", customer_view),
        "customers": lambda _info, **args: _customers(ctx, business, **args),
        "account": one(business.accounts, "Account", account_view),
        "accounts": lambda _info, **args: _accounts(ctx, business, **args),
        "salesTax": one(business.sales_taxes, "SalesTax", sales_tax_view),
        "salesTaxes": lambda _info, **args: _sales_taxes(ctx, business, **args),
        "invoice": one(business.invoices, "Invoice", invoice_view),
        "invoices": lambda _info, **args: _invoices(ctx, business, **args),
        "vendors": lambda _info, page, pageSize, **_filters: listing.connection(
            [], page, pageSize, dict
        ),
        "vendor": lambda _info, id: _no_vendor(id),  # noqa: A006
        "product": one(business.products, "Product", product_view),
        "products": lambda _info, **args: _products(ctx, business, **args),
    }


def _no_vendor(vendor_id: str) -> View:
    # Vendors cannot be created through the public API, so the emulator never holds any.
    raise NotFoundFailure("Vendor", vendor_id)


def _modified_between(record: Any, after: Any, before: Any) -> bool:
    return (after is None or record.modified_at > after) and (
        before is None or record.modified_at < before
    )


def _customers(
    ctx: RequestContext,
    business: BusinessState,
    *,
    page: int,
    pageSize: int,  # noqa: N803 - GraphQL argument name
    sort: Sequence[str],
    email: str | None = None,
    modifiedAtAfter: Any = None,  # noqa: N803
    modifiedAtBefore: Any = None,  # noqa: N803
) -> View:
    rows = [
        c
        for c in business.customers.values()
        if not c.is_archived
        and (email is None or c.email == email)
        and _modified_between(c, modifiedAtAfter, modifiedAtBefore)
    ]
    rows = listing.sort_by(rows, sort, _NAMED_KEYS)
    return listing.connection(rows, page, pageSize, lambda c: customer_view(ctx, business, c))


def _products(
    ctx: RequestContext,
    business: BusinessState,
    *,
    page: int,
    pageSize: int,  # noqa: N803
    sort: Sequence[str],
    isSold: bool | None = None,  # noqa: N803
    isBought: bool | None = None,  # noqa: N803
    isArchived: bool | None = False,  # noqa: N803
    modifiedAtAfter: Any = None,  # noqa: N803
    modifiedAtBefore: Any = None,  # noqa: N803
) -> View:
    rows = [
        p
        for p in business.products.values()
        if (isSold is None or p.is_sold == isSold)
        and (isBought is None or p.is_bought == isBought)
        and (isArchived is None or p.is_archived == isArchived)
        and _modified_between(p, modifiedAtAfter, modifiedAtBefore)
    ]
    rows = listing.sort_by(rows, sort, _NAMED_KEYS)
    return listing.connection(rows, page, pageSize, lambda p: product_view(ctx, business, p))


def _accounts(
    ctx: RequestContext,
    business: BusinessState,
    *,
    page: int,
    pageSize: int,  # noqa: N803
    subtypes: Sequence[str] | None = None,
    excludedSubtypes: Sequence[str] | None = None,  # noqa: N803
    types: Sequence[str] | None = None,
    isArchived: bool | None = False,  # noqa: N803
) -> View:
    rows = [
        a
        for a in business.accounts.values()
        if (subtypes is None or a.subtype in subtypes)
        and (excludedSubtypes is None or a.subtype not in excludedSubtypes)
        and (types is None or a.type in types)
        and (isArchived is None or a.is_archived == isArchived)
    ]
    return listing.connection(rows, page, pageSize, lambda a: account_view(ctx, business, a))


def _sales_taxes(
    ctx: RequestContext,
    business: BusinessState,
    *,
    page: int,
    pageSize: int,  # noqa: N803
    isArchived: bool | None = False,  # noqa: N803
    modifiedAtAfter: Any = None,  # noqa: N803
    modifiedAtBefore: Any = None,  # noqa: N803
) -> View:
    rows = [
        t
        for t in business.sales_taxes.values()
        if (isArchived is None or t.is_archived == isArchived)
        and _modified_between(t, modifiedAtAfter, modifiedAtBefore)
    ]
    return listing.connection(rows, page, pageSize, lambda t: sales_tax_view(ctx, business, t))


def _invoices(
    ctx: RequestContext,
    business: BusinessState,
    *,
    page: int,
    pageSize: int,  # noqa: N803
    sort: Sequence[str],
    status: str | None = None,
    customerId: str | None = None,  # noqa: N803
    currency: str | None = None,
    sourceId: str | None = None,  # noqa: N803
    invoiceDateStart: Any = None,  # noqa: N803
    invoiceDateEnd: Any = None,  # noqa: N803
    modifiedAtAfter: Any = None,  # noqa: N803
    modifiedAtBefore: Any = None,  # noqa: N803
    invoiceNumber: str | None = None,  # noqa: N803
    amountDue: Decimal | None = None,  # noqa: N803
) -> View:
    rows = [
        i
        for i in business.invoices.values()
        if sourceId is None  # no invoice is created from an estimate in the emulator
        and (status is None or i.status == status)
        and (customerId is None or i.customer_id == customerId)
        and (currency is None or i.currency == currency)
        and (invoiceDateStart is None or i.invoice_date >= invoiceDateStart)
        and (invoiceDateEnd is None or i.invoice_date <= invoiceDateEnd)
        and _modified_between(i, modifiedAtAfter, modifiedAtBefore)
        # Wave: "containing this string", so "12" also finds 112 and 120.
        and (invoiceNumber is None or invoiceNumber in i.invoice_number)
        and (amountDue is None or i.amount_due == amountDue)
    ]

    def customer_name(invoice: InvoiceRecord) -> str:
        return business.customers[invoice.customer_id].name.lower()

    keys = {
        "AMOUNT_DUE": lambda i: i.amount_due,
        "AMOUNT_PAID": lambda i: i.amount_paid,
        "CREATED_AT": lambda i: (i.created_at, i.number),
        "CUSTOMER_NAME": customer_name,
        "DUE_AT": lambda i: i.due_date,
        "INVOICE_DATE": lambda i: i.invoice_date,
        "INVOICE_NUMBER": lambda i: listing.natural_key(i.invoice_number),
        "MODIFIED_AT": lambda i: (i.modified_at, i.number),
        "STATUS": lambda i: i.status,
        "TOTAL": lambda i: i.total,
    }
    rows = listing.sort_by(rows, sort, keys)
    return listing.connection(rows, page, pageSize, lambda i: invoice_view(ctx, business, i))


_NAMED_KEYS = {
    "CREATED_AT": lambda r: (r.created_at, r.number),
    "MODIFIED_AT": lambda r: (r.modified_at, r.number),
    "NAME": lambda r: r.name.lower(),
}


# ------------------------------------------------------------------------------------ objects


def account_view(ctx: RequestContext, business: BusinessState, account: AccountRecord) -> View:
    return {
        "business": lambda _info: business_view(ctx, business),
        "id": account.id,
        "classicId": None,
        "name": account.name,
        "description": account.description,
        "displayId": account.display_id,
        "currency": currency_view(account.currency),
        "type": account_type_view(account.type),
        "subtype": account_subtype_view(account.subtype),
        "normalBalanceType": account.normal_balance,
        "isArchived": account.is_archived,
        "sequence": account.sequence,
        "balance": lambda _info: round_money(
            business.account_balance(account.id), account.currency
        ),
        "balanceInBusinessCurrency": lambda _info: round_money(
            business.account_balance(account.id), account.currency
        ),
    }


def customer_view(ctx: RequestContext, business: BusinessState, customer: CustomerRecord) -> View:
    def open_amount(overdue_only: bool) -> View:
        today = ctx.today()
        due = sum(
            (
                i.amount_due
                for i in business.invoices.values()
                if i.customer_id == customer.id
                and i.status != "DRAFT"
                and (not overdue_only or i.due_date < today)
            ),
            Decimal(0),
        )
        return money_view(due, customer.currency or business.currency)

    return {
        "business": lambda _info: business_view(ctx, business),
        "id": customer.id,
        "internalId": str(customer.number),
        "name": customer.name,
        "address": address_view(customer.address),
        "firstName": customer.first_name,
        "lastName": customer.last_name,
        "displayId": customer.display_id,
        "email": customer.email,
        "mobile": customer.mobile,
        "phone": customer.phone,
        "fax": customer.fax,
        "tollFree": customer.toll_free,
        "website": customer.website,
        "internalNotes": customer.internal_notes,
        "currency": currency_view(customer.currency) if customer.currency else None,
        "shippingDetails": shipping_view(customer.shipping_details),
        "createdAt": customer.created_at,
        "modifiedAt": customer.modified_at,
        "isArchived": customer.is_archived,
        "outstandingAmount": lambda _info: open_amount(overdue_only=False),
        "overdueAmount": lambda _info: open_amount(overdue_only=True),
    }


def product_view(ctx: RequestContext, business: BusinessState, product: ProductRecord) -> View:
    def account(account_id: str | None) -> View | None:
        if account_id is None:
            return None
        return account_view(ctx, business, business.accounts[account_id])

    return {
        "business": lambda _info: business_view(ctx, business),
        "incomeAccount": lambda _info: account(product.income_account_id),
        "expenseAccount": lambda _info: account(product.expense_account_id),
        "defaultSalesTaxes": lambda _info: [
            sales_tax_view(ctx, business, business.sales_taxes[t])
            for t in product.default_sales_tax_ids
        ],
        "id": product.id,
        "internalId": str(product.number),
        "name": product.name,
        "description": product.description,
        "unitPrice": product.unit_price,
        "isSold": product.is_sold,
        "isBought": product.is_bought,
        "isArchived": product.is_archived,
        "createdAt": product.created_at,
        "modifiedAt": product.modified_at,
    }


def sales_tax_view(ctx: RequestContext, business: BusinessState, tax: SalesTaxRecord) -> View:
    return {
        "business": lambda _info: business_view(ctx, business),
        "id": tax.id,
        "internalId": str(tax.number),
        "name": tax.name,
        "abbreviation": tax.abbreviation,
        "description": tax.description,
        "taxNumber": tax.tax_number,
        "showTaxNumberOnInvoices": tax.show_tax_number_on_invoices,
        "rate": lambda _info, **args: tax.rate_on(args.get("for") or ctx.today()),
        "rates": [{"effective": start, "rate": rate} for start, rate in sorted(tax.rates)],
        "isCompound": tax.is_compound,
        "isRecoverable": tax.is_recoverable,
        "isArchived": tax.is_archived,
        "createdAt": tax.created_at,
        "modifiedAt": tax.modified_at,
    }


def invoice_view(ctx: RequestContext, business: BusinessState, invoice: InvoiceRecord) -> View:
    currency = invoice.currency
    internal = f"{business.uuid}/invoices/{invoice.number}"
    return {
        "business": lambda _info: business_view(ctx, business),
        "customer": lambda _info: customer_view(
            ctx, business, business.customers[invoice.customer_id]
        ),
        "id": invoice.id,
        "internalId": str(invoice.number),
        "createdAt": invoice.created_at,
        "modifiedAt": invoice.modified_at,
        "source": None,
        "pdfUrl": f"{LINK_BASE}/{internal}/pdf",
        "viewUrl": f"{LINK_BASE}/{internal}/view",
        "status": invoice.status,
        "title": invoice.title,
        "subhead": invoice.subhead,
        "invoiceNumber": invoice.invoice_number,
        "poNumber": invoice.po_number,
        "invoiceDate": invoice.invoice_date,
        "dueDate": invoice.due_date,
        "amountDue": money_view(invoice.amount_due, currency),
        "amountPaid": money_view(invoice.amount_paid, currency),
        "taxTotal": money_view(invoice.tax_total, currency),
        "total": money_view(invoice.total, currency),
        "discountTotal": money_view(invoice.discount_total, currency),
        "subtotal": money_view(invoice.subtotal, currency),
        "discounts": [discount_view(d) for d in invoice.discounts],
        "currency": currency_view(currency),
        "exchangeRate": invoice.exchange_rate,
        "items": [invoice_item_view(ctx, business, line, currency) for line in invoice.lines],
        "memo": invoice.memo,
        "footer": invoice.footer,
        "disableCreditCardPayments": invoice.disable_credit_card_payments,
        "disableBankPayments": invoice.disable_bank_payments,
        "disableAmexPayments": invoice.disable_amex_payments,
        "itemTitle": invoice.item_title,
        "unitTitle": invoice.unit_title,
        "priceTitle": invoice.price_title,
        "amountTitle": invoice.amount_title,
        "hideName": invoice.hide_name,
        "hideDescription": invoice.hide_description,
        "hideUnit": invoice.hide_unit,
        "hidePrice": invoice.hide_price,
        "hideAmount": invoice.hide_amount,
        "lastSentAt": invoice.last_sent_at,
        "lastSentVia": invoice.last_sent_via,
        "lastViewedAt": invoice.last_viewed_at,
        "requireTermsOfServiceAgreement": invoice.require_terms_of_service_agreement,
    }


def invoice_item_view(
    ctx: RequestContext, business: BusinessState, line: InvoiceLine, currency: str
) -> View:
    return {
        "account": lambda _info: account_view(ctx, business, business.accounts[line.account_id]),
        "description": line.description,
        "quantity": line.quantity,
        "price": line.unit_price,
        "unitPrice": line.unit_price,
        "subtotal": money_view(line.subtotal, currency),
        "total": money_view(line.total, currency),
        "taxes": [
            {
                "salesTax": sales_tax_view(ctx, business, business.sales_taxes[t.sales_tax_id]),
                "amount": money_view(t.amount, currency),
                "rate": business.sales_taxes[t.sales_tax_id].rate_on(ctx.today()),
            }
            for t in line.taxes
        ],
        "product": lambda _info: product_view(ctx, business, business.products[line.product_id]),
    }


def discount_view(discount: DiscountRecord) -> View:
    fixed = discount.discount_type == "FIXED"
    view: View = {
        "__typename": "FixedInvoiceDiscount" if fixed else "PercentageInvoiceDiscount",
        "createdAt": discount.created_at,
        "modifiedAt": discount.created_at,
        "name": discount.name,
    }
    if fixed:
        view["amount"] = discount.amount
    else:
        view["percentage"] = discount.percentage
    return view
