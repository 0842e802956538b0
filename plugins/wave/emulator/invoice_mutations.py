"""Invoice mutations: create, patch, clone, approve, send, mark sent, delete, record a payment.

Statuses: an invoice is created ``DRAFT`` (the schema's default) or ``SAVED``; ``invoiceApprove``
moves ``DRAFT`` to ``SAVED`` without sending anything; ``invoiceSend``/``invoiceMarkSent`` move
an approved invoice to ``SENT``; payments move it to ``PARTIAL``, ``PAID`` or ``OVERPAID``.
Non-draft invoices are booked in the business's ledger (see ``invoicing.post_invoice``).

``invoiceNumber`` duplicates are refused (``INVOICE_NUMBER_NOT_UNIQUE``) while the emulator's
``invoice_number_unique`` switch is on, which is the default: the schema describes the field as
the "Unique number assigned to the invoice", on the input and on ``Invoice`` alike. Wave does not
document what happens on a duplicate, so the switch lets a test run the other reading.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from ml_connector.plugins.wave.emulator import invoicing
from ml_connector.plugins.wave.emulator.context import RequestContext
from ml_connector.plugins.wave.emulator.errors import InputErrors, InputProblem, invalid, refuse
from ml_connector.plugins.wave.emulator.mutation_support import (
    INPUT_PATH,
    apply_fields,
    business_of,
    lookup,
    owner_of,
)
from ml_connector.plugins.wave.emulator.reference_data import ANCHOR_SUBTYPES, CURRENCIES
from ml_connector.plugins.wave.emulator.state import (
    BusinessState,
    InvoiceLine,
    InvoicePaymentRecord,
    InvoiceRecord,
    Posting,
)
from ml_connector.plugins.wave.emulator.views import currency_exponent, invoice_view

# Input fields copied as they are, GraphQL name -> record attribute.
_PLAIN_FIELDS = {
    "title": "title",
    "subhead": "subhead",
    "poNumber": "po_number",
    "memo": "memo",
    "footer": "footer",
    "disableAmexPayments": "disable_amex_payments",
    "disableCreditCardPayments": "disable_credit_card_payments",
    "disableBankPayments": "disable_bank_payments",
    "itemTitle": "item_title",
    "unitTitle": "unit_title",
    "priceTitle": "price_title",
    "amountTitle": "amount_title",
    "hideName": "hide_name",
    "hideDescription": "hide_description",
    "hideUnit": "hide_unit",
    "hidePrice": "hide_price",
    "hideAmount": "hide_amount",
    "requireTermsOfServiceAgreement": "require_terms_of_service_agreement",
}
# Output fields Wave declares non-null: an explicit null in the input leaves the default.
_NON_NULL = {
    "title",
    "itemTitle",
    "unitTitle",
    "priceTitle",
    "amountTitle",
    "disableAmexPayments",
    "disableCreditCardPayments",
    "disableBankPayments",
    "hideName",
    "hideDescription",
    "hideUnit",
    "hidePrice",
    "hideAmount",
    "requireTermsOfServiceAgreement",
}


class InvoiceMutations:
    """The invoice mutations, sharing the emulator's ``invoice_number_unique`` switch."""

    def __init__(self, *, invoice_number_unique: bool = True) -> None:
        self.invoice_number_unique = invoice_number_unique

    def create(self, ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
        business = business_of(ctx, given["businessId"])
        problems: list[InputProblem] = []
        if business.is_classic_invoicing:
            raise refuse((*INPUT_PATH, "businessId"), "CLASSIC_INVOICING_NOT_SUPPORTED")
        if given["customerId"] not in business.customers:
            problems.append(
                invalid((*INPUT_PATH, "customerId"), "CUSTOMER_NOT_FOUND", given["customerId"])
            )
        currency = given.get("currency") or business.currency
        if currency not in CURRENCIES:
            problems.append(invalid((*INPUT_PATH, "currency"), "CURRENCY_NOT_SUPPORTED", currency))
            currency = business.currency
        number = given.get("invoiceNumber") or invoicing.next_invoice_number(business)
        problems += self._number_problems(business, number, own_id=None)
        lines, line_problems = invoicing.build_lines(
            business, given.get("items") or [], currency, (*INPUT_PATH, "items")
        )
        now = ctx.now()
        discounts, discount_problems = invoicing.build_discounts(
            given.get("discounts"), now, (*INPUT_PATH, "discounts")
        )
        problems += line_problems + discount_problems
        if problems:
            raise InputErrors(problems)
        invoice_date = given.get("invoiceDate") or ctx.today()
        subtotal, discount_total, tax_total, total = invoicing.price(
            business, lines, discounts, currency, invoice_date, (*INPUT_PATH, "discounts")
        )
        invoice_id, serial = business.mint("Invoice")
        invoice = InvoiceRecord(
            id=invoice_id,
            number=serial,
            customer_id=given["customerId"],
            status=given.get("status") or "DRAFT",
            invoice_number=number,
            invoice_date=invoice_date,
            # The seeded businesses' payment terms are "due on receipt".
            due_date=given.get("dueDate") or invoice_date,
            currency=currency,
            exchange_rate=given.get("exchangeRate") or Decimal(1),
            lines=lines,
            discounts=discounts,
            subtotal=subtotal,
            discount_total=discount_total,
            tax_total=tax_total,
            total=total,
            created_at=now,
            modified_at=now,
        )
        _copy_plain_fields(invoice, given)
        business.invoices[invoice_id] = invoice
        invoicing.post_invoice(business, invoice)
        return {"invoice": invoice_view(ctx, business, invoice)}

    def patch(self, ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
        business = owner_of(ctx, given["id"], "Invoice")
        invoice: InvoiceRecord = lookup(business.invoices, given["id"], "Invoice")
        problems: list[InputProblem] = []
        customer_id = given.get("customerId") or invoice.customer_id
        if customer_id not in business.customers:
            problems.append(invalid((*INPUT_PATH, "customerId"), "CUSTOMER_NOT_FOUND", customer_id))
        currency = given.get("currency") or invoice.currency
        if currency not in CURRENCIES:
            problems.append(invalid((*INPUT_PATH, "currency"), "CURRENCY_NOT_SUPPORTED", currency))
            currency = invoice.currency
        number = given.get("invoiceNumber") or invoice.invoice_number
        problems += self._number_problems(business, number, own_id=invoice.id)
        lines = invoice.lines
        if given.get("items") is not None:  # "items", if given, replaces all lines
            lines, line_problems = invoicing.build_lines(
                business, given["items"], currency, (*INPUT_PATH, "items")
            )
            problems += line_problems
        discounts = invoice.discounts
        if "discounts" in given:
            discounts, discount_problems = invoicing.build_discounts(
                given["discounts"], ctx.now(), (*INPUT_PATH, "discounts")
            )
            problems += discount_problems
        if problems:
            raise InputErrors(problems)
        invoice_date = given.get("invoiceDate") or invoice.invoice_date
        priced = invoicing.price(
            business, lines, discounts, currency, invoice_date, (*INPUT_PATH, "discounts")
        )
        if priced[3] < invoice.amount_paid:
            raise refuse((*INPUT_PATH, "items"), "TOTAL_BELOW_AMOUNT_PAID")
        invoice.subtotal, invoice.discount_total, invoice.tax_total, invoice.total = priced
        invoice.lines, invoice.discounts, invoice.currency = lines, discounts, currency
        invoice.customer_id, invoice.invoice_number = customer_id, number
        invoice.invoice_date = invoice_date
        invoice.due_date = given.get("dueDate") or invoice.due_date
        invoice.exchange_rate = given.get("exchangeRate") or invoice.exchange_rate
        if given.get("status") == "SAVED" and invoice.status == "DRAFT":
            invoice.status = "SAVED"
        _copy_plain_fields(invoice, given)
        invoice.modified_at = ctx.now()
        invoicing.post_invoice(business, invoice)
        return {"invoice": invoice_view(ctx, business, invoice)}

    def clone(self, ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
        business = owner_of(ctx, given["invoiceId"], "Invoice")
        original: InvoiceRecord = lookup(business.invoices, given["invoiceId"], "Invoice")
        now = ctx.now()
        invoice_id, serial = business.mint("Invoice")
        copy = InvoiceRecord(
            **{
                **original.__dict__,
                "id": invoice_id,
                "number": serial,
                "status": "DRAFT",
                "invoice_number": invoicing.next_invoice_number(business),
                "lines": [_copy_line(line) for line in original.lines],
                "discounts": [replace(d) for d in original.discounts],
                "amount_paid": Decimal(0),
                "created_at": now,
                "modified_at": now,
                "last_sent_at": None,
                "last_sent_via": None,
                "last_viewed_at": None,
            }
        )
        business.invoices[invoice_id] = copy
        return {"invoice": invoice_view(ctx, business, copy)}

    def _number_problems(
        self, business: BusinessState, number: str, own_id: str | None
    ) -> list[InputProblem]:
        if not self.invoice_number_unique:
            return []
        taken = any(
            i.invoice_number == number and i.id != own_id for i in business.invoices.values()
        )
        path = (*INPUT_PATH, "invoiceNumber")
        return [invalid(path, "INVOICE_NUMBER_NOT_UNIQUE", number)] if taken else []


def invoice_approve(ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
    business, invoice = _invoice(ctx, given["invoiceId"])
    if invoice.status != "DRAFT":
        raise refuse((*INPUT_PATH, "invoiceId"), "INVOICE_NOT_DRAFT", invoice.status)
    invoice.status = "SAVED"
    invoice.modified_at = ctx.now()
    invoicing.post_invoice(business, invoice)
    return {"invoice": invoice_view(ctx, business, invoice)}


def invoice_send(ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
    business, invoice = _invoice(ctx, given["invoiceId"])
    if not business.email_send_enabled:
        # Schema: "Requires `Business.emailSendEnabled` to be true."
        raise refuse((*INPUT_PATH, "invoiceId"), "EMAIL_SEND_DISABLED")
    if not given["to"]:
        raise refuse((*INPUT_PATH, "to"), "RECIPIENT_REQUIRED")
    _mark_sent(ctx, business, invoice, "WAVE", None)
    return {"invoice": invoice_view(ctx, business, invoice)}


def invoice_mark_sent(ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
    business, invoice = _invoice(ctx, given["invoiceId"])
    if invoice.status == "DRAFT":
        raise refuse((*INPUT_PATH, "invoiceId"), "INVOICE_IS_DRAFT")
    _mark_sent(ctx, business, invoice, given["sendMethod"], given.get("sentAt"))
    return {"invoice": invoice_view(ctx, business, invoice)}


def invoice_delete(ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
    business, invoice = _invoice(ctx, given["invoiceId"])
    if any(p.invoice_id == invoice.id for p in business.invoice_payments.values()):
        raise refuse((*INPUT_PATH, "invoiceId"), "INVOICE_HAS_PAYMENTS")
    del business.invoices[invoice.id]
    business.remove_postings(invoice.id)
    return {}


def invoice_payment_create_manual(ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
    business, invoice = _invoice(ctx, given["invoiceId"])
    problems: list[InputProblem] = []
    if invoice.status == "DRAFT":
        problems.append(invalid((*INPUT_PATH, "invoiceId"), "INVOICE_IS_DRAFT"))
    account = business.accounts.get(given["paymentAccountId"])
    account_path = (*INPUT_PATH, "paymentAccountId")
    if account is None or account.is_archived:
        problems.append(invalid(account_path, "ACCOUNT_NOT_FOUND", given["paymentAccountId"]))
    elif account.subtype not in ANCHOR_SUBTYPES:
        problems.append(invalid(account_path, "INVALID_PAYMENT_ACCOUNT", account.subtype))
    amount: Decimal = given["amount"]
    places = currency_exponent(invoice.currency)
    if amount <= 0 or amount != amount.quantize(Decimal(1).scaleb(-places)):
        problems.append(invalid((*INPUT_PATH, "amount"), "INVALID_AMOUNT", str(amount)))
    if problems:
        raise InputErrors(problems)
    payment_id, serial = business.mint("InvoicePayment")
    business.invoice_payments[payment_id] = InvoicePaymentRecord(
        id=payment_id,
        number=serial,
        invoice_id=invoice.id,
        payment_account_id=given["paymentAccountId"],
        amount=amount,
        payment_date=given["paymentDate"],
        payment_method=given["paymentMethod"],
        exchange_rate=given["exchangeRate"],
        memo=given.get("memo"),
        created_at=ctx.now(),
    )
    invoice.amount_paid += amount
    invoice.status = (
        "PAID" if invoice.amount_due == 0 else "OVERPAID" if invoice.amount_due < 0 else "PARTIAL"
    )
    invoice.modified_at = ctx.now()
    receivable = invoicing.receivable_account_id(business)
    business.postings += [
        Posting(given["paymentAccountId"], "DEBIT", amount, payment_id),
        Posting(receivable, "CREDIT", amount, payment_id),
    ]
    return {"invoicePayment": {"id": payment_id}}


def _invoice(ctx: RequestContext, invoice_id: str) -> tuple[BusinessState, InvoiceRecord]:
    business = owner_of(ctx, invoice_id, "Invoice")
    return business, lookup(business.invoices, invoice_id, "Invoice")


def _mark_sent(
    ctx: RequestContext, business: BusinessState, invoice: InvoiceRecord, via: str, at: Any
) -> None:
    if invoice.status in ("DRAFT", "SAVED", "UNPAID"):
        invoice.status = "SENT"
    invoice.last_sent_at = at or ctx.now()
    invoice.last_sent_via = via
    invoice.modified_at = ctx.now()
    invoicing.post_invoice(business, invoice)


def _copy_plain_fields(invoice: InvoiceRecord, given: Mapping[str, Any]) -> None:
    present = {k: v for k, v in given.items() if not (k in _NON_NULL and v is None)}
    apply_fields(invoice, present, _PLAIN_FIELDS)


def _copy_line(line: InvoiceLine) -> InvoiceLine:
    return replace(line, taxes=[replace(tax) for tax in line.taxes])
