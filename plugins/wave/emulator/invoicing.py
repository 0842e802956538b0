"""Invoice arithmetic and the rules ``invoiceCreate``/``invoicePatch`` enforce.

Arithmetic, all in ``Decimal``:

* ``quantity`` and ``unitPrice`` are rounded to 8 decimal places, ties away from zero (schema
  description of ``InvoiceCreateItemInput``); ``quantity`` defaults to 1, ``unitPrice`` and
  ``description`` to the product's.
* A line's subtotal is ``quantity * unitPrice`` on the currency's minor unit, ties away from zero.
* One discount at most ("currently limited to max 1"): FIXED takes ``amount``; PERCENTAGE takes
  ``percentage`` as a number of percent (``10`` = 10 %). The discount is spread over the lines in
  proportion to their subtotals, exactly (no minor unit lost), and tax is charged on what is left.
* Tax is computed per line and per tax and rounded to the minor unit (Wave's help: "calculated
  per line item and rounds to the nearest 2 decimal places"); a line without ``taxes`` takes its
  product's default sales taxes, ``taxes: []`` means none. The deprecated per-tax ``amount``
  override is ignored, as the schema says ("Sales Tax Amount is calculated by Wave").
* ``total = subtotal - discountTotal + taxTotal``; ``amountDue = total - amountPaid``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ml_connector.ledger.money import allocate
from ml_connector.plugins.wave.emulator.errors import InputErrors, InputProblem, invalid
from ml_connector.plugins.wave.emulator.state import (
    ZERO,
    BusinessState,
    DiscountRecord,
    InvoiceLine,
    InvoiceRecord,
    LineTax,
    Posting,
)
from ml_connector.plugins.wave.emulator.views import round_money

EIGHT_PLACES = Decimal("0.00000001")


def build_lines(
    business: BusinessState,
    items: Sequence[Mapping[str, Any]],
    currency: str,
    path: tuple[str, ...],
) -> tuple[list[InvoiceLine], list[InputProblem]]:
    """Invoice lines for ``items`` (before discounts) and every problem found in them."""
    lines: list[InvoiceLine] = []
    problems: list[InputProblem] = []
    for index, item in enumerate(items):
        here = (*path, str(index))
        product = business.products.get(item["productId"])
        if product is None or product.is_archived:
            problems.append(
                invalid((*here, "productId"), "PRODUCT_NOT_FOUND", str(item["productId"]))
            )
            continue
        if product.income_account_id is None:
            # InvoiceItem.account (the income account) is non-null, so a product that is not
            # sold has no line to put on an invoice.
            problems.append(invalid((*here, "productId"), "PRODUCT_NOT_SOLD", product.name))
            continue
        quantity = _eight_places(item.get("quantity"), Decimal(1))
        unit_price = _eight_places(item.get("unitPrice"), product.unit_price)
        if quantity < 0:
            problems.append(invalid((*here, "quantity"), "NEGATIVE_QUANTITY", str(quantity)))
            continue
        tax_ids = (
            list(product.default_sales_tax_ids)
            if item.get("taxes") is None
            else [t["salesTaxId"] for t in item["taxes"]]
        )
        unknown = [t for t in tax_ids if t not in business.sales_taxes]
        for position, tax_id in enumerate(tax_ids):
            if tax_id in unknown or business.sales_taxes[tax_id].is_archived:
                problems.append(
                    invalid(
                        (*here, "taxes", str(position), "salesTaxId"), "SALES_TAX_NOT_FOUND", tax_id
                    )
                )
        if unknown:
            continue
        description = item.get("description")
        lines.append(
            InvoiceLine(
                product_id=product.id,
                account_id=product.income_account_id,
                description=description if description is not None else product.description,
                quantity=quantity,
                unit_price=unit_price,
                subtotal=round_money(quantity * unit_price, currency),
                taxes=[LineTax(tax_id, ZERO) for tax_id in tax_ids],
            )
        )
    return lines, problems


def build_discounts(
    discounts: Sequence[Mapping[str, Any]] | None, now: dt.datetime, path: tuple[str, ...]
) -> tuple[list[DiscountRecord], list[InputProblem]]:
    if not discounts:
        return [], []
    if len(discounts) > 1:
        return [], [invalid(path, "TOO_MANY_DISCOUNTS", "at most 1 discount per invoice")]
    given = discounts[0]
    kind = given["discountType"]
    wanted = "amount" if kind == "FIXED" else "percentage"
    value = given.get(wanted)
    if value is None or value < 0:
        return [], [
            invalid((*path, "0", wanted), "INVALID_DISCOUNT", f"{kind} needs {wanted} >= 0")
        ]
    record = DiscountRecord(
        discount_type=kind,
        name=given.get("name"),
        amount=value if kind == "FIXED" else None,
        percentage=value if kind == "PERCENTAGE" else None,
        created_at=now,
    )
    return [record], []


def price(
    business: BusinessState,
    lines: list[InvoiceLine],
    discounts: list[DiscountRecord],
    currency: str,
    on: dt.date,
    path: tuple[str, ...],
) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """Fill in each line's taxes; return ``(subtotal, discountTotal, taxTotal, total)``."""
    subtotal = sum((line.subtotal for line in lines), ZERO)
    discount_total = ZERO
    if discounts:
        discount = discounts[0]
        if discount.discount_type == "FIXED":
            assert discount.amount is not None
            discount_total = round_money(discount.amount, currency)
        else:
            assert discount.percentage is not None
            discount_total = round_money(subtotal * discount.percentage / 100, currency)
        if discount_total > subtotal:
            raise InputErrors([invalid(path, "DISCOUNT_EXCEEDS_SUBTOTAL", str(discount_total))])
    shares = (
        allocate(discount_total, [line.subtotal for line in lines], currency)
        if discount_total
        else [ZERO] * len(lines)
    )
    tax_total = ZERO
    for line, share in zip(lines, shares, strict=True):
        base = line.subtotal - share
        for tax in line.taxes:
            rate = business.sales_taxes[tax.sales_tax_id].rate_on(on)
            tax.amount = round_money(base * rate, currency)
            tax_total += tax.amount
    return subtotal, discount_total, tax_total, subtotal - discount_total + tax_total


def next_invoice_number(business: BusinessState) -> str:
    """Wave: "will find the current largest invoice number and add 1" (numeric numbers only)."""
    numeric = [
        int(i.invoice_number) for i in business.invoices.values() if i.invoice_number.isdigit()
    ]
    return str(max(numeric, default=0) + 1)


def receivable_account_id(business: BusinessState) -> str:
    return next(a.id for a in business.accounts.values() if a.subtype == "RECEIVABLE_INVOICES")


def post_invoice(business: BusinessState, invoice: InvoiceRecord) -> None:
    """Book an approved invoice: Dr receivable total; Cr income per line, Cr tax liabilities.

    A discount is booked against the lines' income accounts (their net amounts), which keeps the
    entry balanced without inventing a discount account the business may not have.
    """
    business.remove_postings(invoice.id)
    if invoice.status == "DRAFT":
        return
    postings = [Posting(receivable_account_id(business), "DEBIT", invoice.total, invoice.id)]
    discount_shares = (
        allocate(
            invoice.discount_total, [line.subtotal for line in invoice.lines], invoice.currency
        )
        if invoice.discount_total
        else [ZERO] * len(invoice.lines)
    )
    for line, share in zip(invoice.lines, discount_shares, strict=True):
        postings.append(Posting(line.account_id, "CREDIT", line.subtotal - share, invoice.id))
        for tax in line.taxes:
            liability = business.sales_taxes[tax.sales_tax_id].liability_account_id
            postings.append(Posting(liability, "CREDIT", tax.amount, invoice.id))
    business.postings.extend(p for p in postings if p.amount)


def _eight_places(value: Decimal | None, default: Decimal) -> Decimal:
    chosen = default if value is None else value
    return chosen.quantize(EIGHT_PLACES, ROUND_HALF_UP).normalize()
