"""Mutations on a business's catalogue: customers, accounts, products and sales taxes."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ml_connector.plugins.wave.emulator import seed
from ml_connector.plugins.wave.emulator.context import RequestContext
from ml_connector.plugins.wave.emulator.errors import InputErrors, InputProblem, invalid, refuse
from ml_connector.plugins.wave.emulator.mutation_support import (
    INPUT_PATH,
    apply_fields,
    business_of,
    lookup,
    owner_of,
)
from ml_connector.plugins.wave.emulator.reference_data import (
    ACCOUNT_SUBTYPES,
    CURRENCIES,
    PRODUCT_EXPENSE_SUBTYPES,
    PRODUCT_INCOME_SUBTYPES,
    PROVINCES,
)
from ml_connector.plugins.wave.emulator.state import (
    AddressRecord,
    BusinessState,
    CustomerRecord,
    ProductRecord,
    ShippingRecord,
)
from ml_connector.plugins.wave.emulator.views import (
    account_view,
    customer_view,
    product_view,
    sales_tax_view,
)

_CUSTOMER_FIELDS = {
    "name": "name",
    "firstName": "first_name",
    "lastName": "last_name",
    "displayId": "display_id",
    "email": "email",
    "mobile": "mobile",
    "phone": "phone",
    "fax": "fax",
    "tollFree": "toll_free",
    "website": "website",
    "internalNotes": "internal_notes",
    "currency": "currency",
}

# ProductCreateInput.unitPrice: "rounded to 5 decimal places, ties away from zero" (schema).
_FIVE_PLACES = Decimal("0.00001")
# SalesTaxCreateInput.rate: "rounded to 6 decimal places" (schema).
_SIX_PLACES = Decimal("0.000001")


# ------------------------------------------------------------------------------------ customers


def customer_create(ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
    business = business_of(ctx, given["businessId"])
    problems = _customer_problems(given)
    if not given["name"].strip():
        problems.append(invalid((*INPUT_PATH, "name"), "NAME_REQUIRED"))
    if problems:
        raise InputErrors(problems)
    now = ctx.now()
    customer_id, number = business.mint("Customer")
    customer = CustomerRecord(
        id=customer_id, number=number, name=given["name"], created_at=now, modified_at=now
    )
    _write_customer(customer, given)
    business.customers[customer_id] = customer
    return {"customer": customer_view(ctx, business, customer)}


def customer_patch(ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
    business = owner_of(ctx, given["id"], "Customer")
    customer = lookup(business.customers, given["id"], "Customer")
    problems = _customer_problems(given)
    if "name" in given and not (given["name"] or "").strip():
        problems.append(invalid((*INPUT_PATH, "name"), "NAME_REQUIRED"))
    if problems:
        raise InputErrors(problems)
    _write_customer(customer, given)
    customer.modified_at = ctx.now()
    return {"customer": customer_view(ctx, business, customer)}


def customer_delete(ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
    business = owner_of(ctx, given["id"], "Customer")
    lookup(business.customers, given["id"], "Customer")
    if any(i.customer_id == given["id"] for i in business.invoices.values()):
        raise refuse((*INPUT_PATH, "id"), "CUSTOMER_HAS_INVOICES")
    del business.customers[given["id"]]
    return {}


def _customer_problems(given: Mapping[str, Any]) -> list[InputProblem]:
    problems = []
    currency = given.get("currency")
    if currency is not None and currency not in CURRENCIES:
        problems.append(invalid((*INPUT_PATH, "currency"), "CURRENCY_NOT_SUPPORTED", currency))
    addresses = [("address",), ("shippingDetails", "address")]
    for path in addresses:
        holder: Any = given
        for key in path:
            holder = holder.get(key) if isinstance(holder, Mapping) else None
        province = holder.get("provinceCode") if isinstance(holder, Mapping) else None
        if province is not None and province not in PROVINCES:
            problems.append(
                invalid((*INPUT_PATH, *path, "provinceCode"), "PROVINCE_NOT_FOUND", province)
            )
    return problems


def _write_customer(customer: CustomerRecord, given: Mapping[str, Any]) -> None:
    apply_fields(customer, given, _CUSTOMER_FIELDS)
    if "address" in given:
        customer.address = _address(given["address"])
    if "shippingDetails" in given:
        details = given["shippingDetails"]
        customer.shipping_details = (
            None
            if details is None
            else ShippingRecord(
                name=details.get("name"),
                address=_address(details.get("address")),
                phone=details.get("phone"),
                instructions=details.get("instructions"),
            )
        )


def _address(given: Mapping[str, Any] | None) -> AddressRecord | None:
    if given is None:
        return None
    return AddressRecord(
        address_line1=given.get("addressLine1"),
        address_line2=given.get("addressLine2"),
        city=given.get("city"),
        province_code=given.get("provinceCode"),
        country_code=given.get("countryCode"),
        postal_code=given.get("postalCode"),
    )


# ------------------------------------------------------------------------------------ accounts


def account_create(ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
    business = business_of(ctx, given["businessId"])
    subtype = ACCOUNT_SUBTYPES[given["subtype"]]
    problems = []
    if subtype.system_created:
        problems.append(
            invalid((*INPUT_PATH, "subtype"), "SUBTYPE_IS_SYSTEM_CREATED", subtype.value)
        )
    if not given["name"].strip():
        problems.append(invalid((*INPUT_PATH, "name"), "NAME_REQUIRED"))
    currency = given.get("currency") or business.currency
    if currency not in CURRENCIES:
        problems.append(invalid((*INPUT_PATH, "currency"), "CURRENCY_NOT_SUPPORTED", currency))
    if problems:
        raise InputErrors(problems)
    account = seed.add_account(
        business,
        given["name"],
        subtype.value,
        ctx.now(),
        currency=currency,
        description=given.get("description"),
        display_id=given.get("displayId"),
    )
    return {"account": account_view(ctx, business, account)}


def account_patch(ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
    business = owner_of(ctx, given["id"], "Account")
    account = lookup(business.accounts, given["id"], "Account")
    if given["sequence"] != account.sequence:
        raise refuse(
            (*INPUT_PATH, "sequence"),
            "SEQUENCE_MISMATCH",
            f"account is at sequence {account.sequence}, input says {given['sequence']}",
        )
    if "name" in given and not (given["name"] or "").strip():
        raise refuse((*INPUT_PATH, "name"), "NAME_REQUIRED")
    apply_fields(
        account, given, {"name": "name", "description": "description", "displayId": "display_id"}
    )
    account.sequence += 1
    account.modified_at = ctx.now()
    return {"account": account_view(ctx, business, account)}


def account_archive(ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
    business = owner_of(ctx, given["id"], "Account")
    account = lookup(business.accounts, given["id"], "Account")
    if not ACCOUNT_SUBTYPES[account.subtype].archivable:
        raise refuse((*INPUT_PATH, "id"), "ACCOUNT_NOT_ARCHIVABLE", account.name)
    account.is_archived = True
    account.modified_at = ctx.now()
    return {}


# ------------------------------------------------------------------------------------ products


def product_create(ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
    business = business_of(ctx, given["businessId"])
    problems = _product_problems(business, given)
    if not given["name"].strip():
        problems.append(invalid((*INPUT_PATH, "name"), "NAME_REQUIRED"))
    if given.get("incomeAccountId") is None and given.get("expenseAccountId") is None:
        # A product is sold, bought or both; Wave's form needs one of the two.
        problems.append(invalid(INPUT_PATH, "PRODUCT_NEITHER_SOLD_NOR_BOUGHT"))
    if problems:
        raise InputErrors(problems)
    now = ctx.now()
    product_id, number = business.mint("Product")
    product = ProductRecord(
        id=product_id,
        number=number,
        name=given["name"],
        unit_price=given["unitPrice"].quantize(_FIVE_PLACES, ROUND_HALF_UP).normalize(),
        created_at=now,
        modified_at=now,
        description=given.get("description"),
        income_account_id=given.get("incomeAccountId"),
        expense_account_id=given.get("expenseAccountId"),
        default_sales_tax_ids=list(given.get("defaultSalesTaxIds") or []),
    )
    business.products[product_id] = product
    return {"product": product_view(ctx, business, product)}


def product_patch(ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
    business = owner_of(ctx, given["id"], "Product")
    product = lookup(business.products, given["id"], "Product")
    problems = _product_problems(business, given)
    if "name" in given and not (given["name"] or "").strip():
        problems.append(invalid((*INPUT_PATH, "name"), "NAME_REQUIRED"))
    if problems:
        raise InputErrors(problems)
    apply_fields(
        product,
        given,
        {
            "name": "name",
            "description": "description",
            "incomeAccountId": "income_account_id",
            "expenseAccountId": "expense_account_id",
        },
    )
    if given.get("unitPrice") is not None:
        product.unit_price = given["unitPrice"].quantize(_FIVE_PLACES, ROUND_HALF_UP).normalize()
    if "defaultSalesTaxIds" in given:
        product.default_sales_tax_ids = list(given["defaultSalesTaxIds"] or [])
    product.modified_at = ctx.now()
    return {"product": product_view(ctx, business, product)}


def product_archive(ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
    business = owner_of(ctx, given["id"], "Product")
    product = lookup(business.products, given["id"], "Product")
    product.is_archived = True
    product.modified_at = ctx.now()
    return {"product": product_view(ctx, business, product)}


def _product_problems(business: BusinessState, given: Mapping[str, Any]) -> list[InputProblem]:
    problems = []
    for field, allowed in (
        ("incomeAccountId", PRODUCT_INCOME_SUBTYPES),
        ("expenseAccountId", PRODUCT_EXPENSE_SUBTYPES),
    ):
        account_id = given.get(field)
        if account_id is None:
            continue
        account = business.accounts.get(account_id)
        if account is None or account.is_archived:
            problems.append(invalid((*INPUT_PATH, field), "ACCOUNT_NOT_FOUND", account_id))
        elif account.subtype not in allowed:
            problems.append(
                invalid(
                    (*INPUT_PATH, field),
                    "INVALID_ACCOUNT_SUBTYPE",
                    f"{account.name} is {account.subtype}; allowed: {', '.join(sorted(allowed))}",
                )
            )
    for position, tax_id in enumerate(given.get("defaultSalesTaxIds") or []):
        if tax_id not in business.sales_taxes:
            problems.append(
                invalid(
                    (*INPUT_PATH, "defaultSalesTaxIds", str(position)),
                    "SALES_TAX_NOT_FOUND",
                    tax_id,
                )
            )
    price = given.get("unitPrice")
    if price is not None and price < 0:
        problems.append(invalid((*INPUT_PATH, "unitPrice"), "NEGATIVE_AMOUNT", str(price)))
    return problems


# ------------------------------------------------------------------------------------ sales taxes


def sales_tax_create(ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
    business = business_of(ctx, given["businessId"])
    problems = _abbreviation_problems(business, given["abbreviation"], own_id=None)
    if not given["name"].strip():
        problems.append(invalid((*INPUT_PATH, "name"), "NAME_REQUIRED"))
    if given["rate"] < 0:
        problems.append(invalid((*INPUT_PATH, "rate"), "NEGATIVE_RATE", str(given["rate"])))
    if problems:
        raise InputErrors(problems)
    tax = seed.add_sales_tax(
        business,
        given["name"],
        given["abbreviation"],
        given["rate"].quantize(_SIX_PLACES, ROUND_HALF_UP).normalize(),
        now=ctx.now(),
        description=given.get("description"),
        tax_number=given.get("taxNumber"),
        show_tax_number_on_invoices=bool(given.get("showTaxNumberOnInvoices")),
        is_compound=bool(given.get("isCompound")),
        is_recoverable=bool(given.get("isRecoverable")),
    )
    return {"salesTax": sales_tax_view(ctx, business, tax)}


def sales_tax_patch(ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
    business = owner_of(ctx, given["id"], "SalesTax")
    tax = lookup(business.sales_taxes, given["id"], "SalesTax")
    problems = []
    if given.get("abbreviation") is not None:
        problems += _abbreviation_problems(business, given["abbreviation"], own_id=tax.id)
    rates = given.get("rates")
    if rates is not None and not rates:
        problems.append(invalid((*INPUT_PATH, "rates"), "RATES_REQUIRED"))
    if problems:
        raise InputErrors(problems)
    apply_fields(
        tax,
        given,
        {
            "name": "name",
            "abbreviation": "abbreviation",
            "description": "description",
            "taxNumber": "tax_number",
            "showTaxNumberOnInvoices": "show_tax_number_on_invoices",
        },
    )
    if rates:
        tax.rates = [
            (r["effective"], r["rate"].quantize(_SIX_PLACES, ROUND_HALF_UP).normalize())
            for r in rates
        ]
    tax.modified_at = ctx.now()
    return {"salesTax": sales_tax_view(ctx, business, tax)}


def sales_tax_archive(ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
    business = owner_of(ctx, given["id"], "SalesTax")
    tax = lookup(business.sales_taxes, given["id"], "SalesTax")
    tax.is_archived = True
    tax.modified_at = ctx.now()
    return {"salesTax": sales_tax_view(ctx, business, tax)}


def _abbreviation_problems(
    business: BusinessState, abbreviation: str, own_id: str | None
) -> list[InputProblem]:
    # SalesTaxCreateInput.abbreviation: "max 10 chars, unique within business" (schema).
    path = (*INPUT_PATH, "abbreviation")
    if not abbreviation.strip() or len(abbreviation) > 10:
        return [invalid(path, "ABBREVIATION_LENGTH", "1 to 10 characters")]
    taken = any(
        t.abbreviation == abbreviation and t.id != own_id for t in business.sales_taxes.values()
    )
    return [invalid(path, "ABBREVIATION_NOT_UNIQUE", abbreviation)] if taken else []
