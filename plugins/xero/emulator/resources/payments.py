"""Payments against invoices: they move ``AmountPaid``/``AmountDue`` and can make it PAID.

A payment needs an AUTHORISED invoice (by ``InvoiceID`` or ``InvoiceNumber``) and an account
that is a BANK account or has ``EnablePaymentsToAccount``; its amount must be positive and at
most what is still due. There is no de-duplication: the same payment sent twice is two payments
(the second is refused only once the invoice is fully paid). A payment is deleted with POST
``/Payments/{PaymentID}`` ``{"Status": "DELETED"}``, which puts the amount back on the invoice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from ml_connector.plugins.xero.emulator.batch import Outcome, WriteContext
from ml_connector.plugins.xero.emulator.documents import check_lock_dates, document_date, today
from ml_connector.plugins.xero.emulator.lines import ZERO, Findings, resolve_account
from ml_connector.plugins.xero.emulator.render import to_wire, with_date_strings
from ml_connector.plugins.xero.emulator.resources.common import (
    Call,
    get_one,
    list_objects,
    write_batch,
)
from ml_connector.plugins.xero.emulator.state import Obj, Tenant
from ml_connector.plugins.xero.emulator.wire import WireError, as_decimal, round_money

PAYMENT_TYPES = {"ACCREC": "ACCRECPAYMENT", "ACCPAY": "ACCPAYPAYMENT"}


def render_payment(obj: Obj, with_lines: bool) -> dict[str, Any]:
    return with_date_strings(obj, to_wire(obj))


def _invoice_of(tenant: Tenant, element: Obj, findings: Findings) -> Obj | None:
    ref = element.get("Invoice") or {}
    if ref.get("InvoiceID"):
        invoice = tenant.get("Invoice", str(ref["InvoiceID"]))
    elif ref.get("InvoiceNumber") or element.get("InvoiceNumber"):
        invoice = tenant.invoice_by_number(
            str(ref.get("InvoiceNumber") or element["InvoiceNumber"])
        )
    else:
        findings.errors.append("An Invoice (InvoiceID or InvoiceNumber) must be specified.")
        return None
    if invoice is None:
        findings.errors.append("Invoice could not be found")
        return None
    if invoice["Status"] != "AUTHORISED":
        findings.errors.append("Payments can only be made against Authorised documents")
        return None
    return invoice


def _account_of(tenant: Tenant, element: Obj, findings: Findings) -> Obj | None:
    ref = dict(element.get("Account") or {})
    if not ref and element.get("Code"):
        ref = {"Code": element["Code"]}
    if not ref.get("Code") and not ref.get("AccountID"):
        findings.errors.append("An Account (Code or AccountID) must be specified for the payment.")
        return None
    account = resolve_account(tenant, ref, Findings())
    if account is None:
        findings.errors.append("Account must be valid.")
        return None
    if account["Type"] != "BANK" and not account.get("EnablePaymentsToAccount"):
        findings.errors.append(
            f"Account '{account['Code']}' cannot take payments: it is not a bank account and "
            "does not have payments enabled."
        )
        return None
    return account


def write_payment(ctx: WriteContext, element: Obj) -> Outcome:
    """Apply one new payment to its invoice."""
    tenant, findings = ctx.tenant, Findings()
    if element.get("PaymentID"):
        findings.errors.append("PaymentID cannot be set on a new payment: Xero generates it.")
        return Outcome(dict(element), findings)
    invoice = _invoice_of(tenant, element, findings)
    account = _account_of(tenant, element, findings)
    day = document_date(element.get("Date"), findings, field="Date", default=today(ctx.now))
    amount = ZERO
    try:
        amount = round_money(as_decimal(element.get("Amount")))
    except WireError:
        findings.errors.append("Payment amount must be specified")
    if amount <= 0 and not findings.errors:
        findings.errors.append("Payment amount must be greater than zero.")
    if invoice is not None and amount > invoice["AmountDue"]:
        findings.errors.append(
            f"Payment amount ({amount}) exceeds the amount outstanding on this document "
            f"({invoice['AmountDue']})."
        )
    check_lock_dates(tenant, day, findings)
    payment: Obj = {
        "PaymentID": ctx.ids.uuid(),
        "Date": day,
        "Amount": amount,
        "BankAmount": amount,
        "CurrencyRate": Decimal("1.000000"),
        "Reference": element.get("Reference"),
        "IsReconciled": bool(element.get("IsReconciled", False)),
        "Status": "AUTHORISED",
        "PaymentType": PAYMENT_TYPES.get((invoice or {}).get("Type", ""), "ACCRECPAYMENT"),
        "UpdatedDateUTC": ctx.now,
        "HasAccount": account is not None,
        "HasValidationErrors": bool(findings.errors),
    }
    if invoice is not None:
        payment["Invoice"] = {
            "InvoiceID": invoice["InvoiceID"],
            "InvoiceNumber": invoice.get("InvoiceNumber"),
            "Type": invoice["Type"],
            "Contact": invoice.get("Contact"),
        }
    if account is not None:
        payment["Account"] = {"AccountID": account["AccountID"], "Code": account["Code"]}
    if findings.errors or invoice is None:
        return Outcome(payment, findings)
    tenant.put("Payment", payment)
    _settle(tenant, invoice, payment, +1, ctx.now)
    return Outcome(payment, findings)


def _settle(tenant: Tenant, invoice: Obj, payment: Obj, direction: int, now: float) -> None:
    """Add (``+1``) or take back (``-1``) ``payment`` on ``invoice``."""
    paid = invoice["AmountPaid"] + direction * payment["Amount"]
    due = invoice["Total"] - paid - invoice.get("AmountCredited", ZERO)
    summary = {
        "PaymentID": payment["PaymentID"],
        "Date": payment["Date"],
        "Amount": payment["Amount"],
        "Reference": payment.get("Reference"),
        "CurrencyRate": payment["CurrencyRate"],
        "HasAccount": True,
        "HasValidationErrors": False,
    }
    others = [p for p in invoice.get("Payments", []) if p["PaymentID"] != payment["PaymentID"]]
    updated = {
        **invoice,
        "AmountPaid": paid,
        "AmountDue": due,
        "Payments": others + ([summary] if direction > 0 else []),
        "Status": "PAID" if due == 0 else "AUTHORISED",
        "UpdatedDateUTC": now,
    }
    if due == 0:
        updated["FullyPaidOnDate"] = payment["Date"]
    else:
        updated.pop("FullyPaidOnDate", None)
    tenant.put("Invoice", updated)


def delete_payment(call: Call) -> httpx.Response:
    """POST /Payments/{PaymentID} ``{"Status": "DELETED"}`` (a ``Payments`` array is accepted)."""

    def writer(ctx: WriteContext, element: Obj) -> Outcome:
        findings = Findings()
        payment = ctx.tenant.get("Payment", ctx.path_id or "")
        if payment is None:
            findings.errors.append(f"Payment '{ctx.path_id}' could not be found.")
            return Outcome(dict(element), findings)
        if element.get("Status") != "DELETED":
            findings.errors.append("A payment can only be changed to Status DELETED.")
        elif payment["Status"] == "DELETED":
            findings.errors.append("This payment has already been deleted.")
        if findings.errors:
            return Outcome(payment, findings)
        deleted = {**payment, "Status": "DELETED", "UpdatedDateUTC": ctx.now}
        ctx.tenant.put("Payment", deleted)
        invoice = ctx.tenant.get("Invoice", payment["Invoice"]["InvoiceID"])
        if invoice is not None:
            _settle(ctx.tenant, invoice, payment, -1, ctx.now)
        return Outcome(deleted, findings)

    return write_batch(call, writer=writer, render=render_payment, single_object=True)


def get_payments(call: Call) -> httpx.Response:
    return list_objects(call, "Payment", "Payments", render_payment, pageable=True)


def get_payment(call: Call) -> httpx.Response:
    found = call.tenant.get("Payment", call.path_value or "")
    return get_one(call, found, "Payments", render_payment)


def put_payments(call: Call) -> httpx.Response:
    return write_batch(call, writer=write_payment, render=render_payment)


def post_payment(call: Call) -> httpx.Response:
    """POST /Payments takes a single Payment object (createPayment in the spec)."""
    return write_batch(call, writer=write_payment, render=render_payment, single_object=True)
