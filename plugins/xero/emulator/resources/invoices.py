"""Invoices: sales invoices (ACCREC) and bills (ACCPAY), with Xero's numbering and statuses.

* PUT creates. A client-supplied ``InvoiceID`` is refused (the id is Xero's to generate,
  xero-node#204) and an ACCREC ``InvoiceNumber`` already in use gets "Invoice # must be unique.".
* POST creates or updates: by ``InvoiceID`` (body or path), else by an existing ACCREC
  ``InvoiceNumber``. Status moves as Xero allows: DRAFT/SUBMITTED -> AUTHORISED or DELETED,
  AUTHORISED -> VOIDED while no payment is applied; PAID, VOIDED and DELETED invoices are final.
* Lines are computed per line (see :mod:`..lines`); a line on an unknown or archived account
  loses the account with a warning, and only a DRAFT may keep an amount without an account.
* Dates on or before a lock date are refused for everything but drafts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from ml_connector.plugins.xero.emulator.batch import Outcome, WriteContext
from ml_connector.plugins.xero.emulator.documents import (
    NOT_MODIFIABLE,
    check_lock_dates,
    document_date,
    resolve_contact,
    today,
)
from ml_connector.plugins.xero.emulator.lines import (
    ZERO,
    Findings,
    compute_line_item,
    totals,
)
from ml_connector.plugins.xero.emulator.render import document
from ml_connector.plugins.xero.emulator.resources.common import (
    Call,
    csv_param,
    get_one,
    list_objects,
    write_batch,
)
from ml_connector.plugins.xero.emulator.spec import is_uuid
from ml_connector.plugins.xero.emulator.state import Obj
from ml_connector.plugins.xero.emulator.wire import FOUR_PLACES, TWO_PLACES

SUPPORTED_TYPES = ("ACCREC", "ACCPAY")
CREATE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
FINAL_STATUSES = ("PAID", "VOIDED", "DELETED")
PASS_THROUGH = ("Reference", "Url", "BrandingThemeID", "SentToContact", "CurrencyRate")
NOT_UNIQUE = "Invoice # must be unique."


def render_invoice(obj: Obj, with_lines: bool, unitdp: int | None = None) -> dict[str, Any]:
    return document(obj, unitdp=unitdp, with_lines=with_lines)


def _existing(ctx: WriteContext, element: Obj, findings: Findings) -> Obj | None:
    tenant = ctx.tenant
    given_id = element.get("InvoiceID") or ctx.path_id
    if ctx.method == "PUT":
        if element.get("InvoiceID"):
            findings.errors.append(
                f"InvoiceID '{element['InvoiceID']}' cannot be set: Xero generates the id of a "
                "new invoice. Send it without InvoiceID (POST with an InvoiceID updates)."
            )
        return None
    if given_id:
        found = tenant.get("Invoice", str(given_id))
        if found is None and ctx.path_id and not is_uuid(ctx.path_id):
            found = tenant.invoice_by_number(ctx.path_id)
        if found is None:
            findings.errors.append(f"Invoice with InvoiceID '{given_id}' could not be found.")
        return found
    number = element.get("InvoiceNumber")
    if number and element.get("Type", "ACCREC") == "ACCREC":
        return tenant.invoice_by_number(str(number))
    return None


def _next_status(current: Obj | None, wanted: str | None, findings: Findings) -> str:
    if current is None:
        status = wanted or "DRAFT"
        if status not in CREATE_STATUSES:
            findings.errors.append(
                f"Invoice Status '{status}' cannot be used on a new invoice; use DRAFT, "
                "SUBMITTED or AUTHORISED."
            )
        return status
    present = current["Status"]
    status = wanted or present
    if present in FINAL_STATUSES or status == "DELETED" and present not in ("DRAFT", "SUBMITTED"):
        findings.errors.append(NOT_MODIFIABLE)
    elif status == "VOIDED":
        if present != "AUTHORISED":
            findings.errors.append(NOT_MODIFIABLE)
        elif current.get("AmountPaid", ZERO) != 0:
            findings.errors.append(
                "This document cannot be voided as it has payments applied; remove the "
                "payments first."
            )
    elif present == "AUTHORISED" and status in ("DRAFT", "SUBMITTED"):
        findings.errors.append(NOT_MODIFIABLE)
    elif status == "PAID":
        findings.errors.append("Invoice Status PAID is set by applying payments, not directly.")
    return status


def write_invoice(ctx: WriteContext, element: Obj) -> Outcome:
    """Create or update one invoice (see the module notes for Xero's rules)."""
    tenant, findings = ctx.tenant, Findings()
    current = _existing(ctx, element, findings)
    if findings.errors:
        return Outcome(dict(element), findings)
    base: Obj = dict(current) if current else {}
    invoice_type = element.get("Type") or base.get("Type")
    if invoice_type not in SUPPORTED_TYPES:
        findings.errors.append(
            "Invoice Type must be ACCREC or ACCPAY"
            + (f"; '{invoice_type}' is not supported here" if invoice_type else "")
        )
        return Outcome(dict(element), findings)
    status = _next_status(current, element.get("Status"), findings)
    only_status_change = current is not None and set(element) <= {
        "InvoiceID",
        "Status",
        "InvoiceNumber",
    }
    if current is not None and current.get("AmountPaid", ZERO) != 0 and not only_status_change:
        findings.errors.append(
            "This document cannot be edited as it has a payment or credit note allocated to it."
        )
    invoice: Obj = {**base, "Type": invoice_type, "Status": status}
    invoice["InvoiceID"] = base.get("InvoiceID") or ctx.ids.uuid()
    new_contact = None
    if "Contact" in element or current is None:
        invoice["Contact"], new_contact = resolve_contact(
            tenant, ctx.ids, element.get("Contact"), ctx.now, findings
        )
    invoice["Date"] = document_date(
        element.get("Date"), findings, field="Date", default=base.get("Date") or today(ctx.now)
    )
    invoice["DueDate"] = document_date(
        element.get("DueDate"), findings, field="DueDate", default=base.get("DueDate")
    )
    for name in PASS_THROUGH:
        if name in element:
            invoice[name] = element[name]
    invoice["LineAmountTypes"] = element.get("LineAmountTypes") or base.get(
        "LineAmountTypes", "Exclusive"
    )
    invoice["CurrencyCode"] = element.get("CurrencyCode") or base.get(
        "CurrencyCode", tenant.organisation["BaseCurrency"]
    )
    _number(ctx, element, invoice, current, findings)
    if "LineItems" in element or current is None:
        places = FOUR_PLACES if ctx.unitdp == 4 else TWO_PLACES
        lines = []
        for raw in element.get("LineItems") or []:
            line, line_findings = compute_line_item(
                tenant,
                raw,
                line_amount_types=invoice["LineAmountTypes"],
                unit_places=places,
                new_id=ctx.ids.uuid(),
            )
            findings.extend(line_findings)
            lines.append(line)
        invoice["LineItems"] = lines
    if status != "DRAFT":
        if any(
            "AccountCode" not in line and line["LineAmount"] != 0 for line in invoice["LineItems"]
        ):
            findings.errors.append("Account must be valid.")
        check_lock_dates(tenant, invoice["Date"], findings)
    sums = totals(invoice["LineItems"], invoice["LineAmountTypes"])
    paid = base.get("AmountPaid", ZERO)
    invoice.update(sums)
    invoice.update(
        AmountPaid=paid,
        AmountCredited=base.get("AmountCredited", ZERO),
        AmountDue=sums["Total"] - paid - base.get("AmountCredited", ZERO),
        Payments=base.get("Payments", []),
        CreditNotes=[],
        Prepayments=[],
        Overpayments=[],
        HasAttachments=False,
        IsDiscounted=any(line.get("DiscountRate") for line in invoice["LineItems"]),
        UpdatedDateUTC=ctx.now,
    )
    if status in ("VOIDED", "DELETED"):
        invoice["AmountDue"] = Decimal("0.00")
    if findings.errors:
        return Outcome(invoice, findings)
    if new_contact is not None:
        tenant.put("Contact", new_contact)
    return Outcome(tenant.put("Invoice", invoice), findings)


def _number(
    ctx: WriteContext, element: Obj, invoice: Obj, current: Obj | None, findings: Findings
) -> None:
    number = element.get("InvoiceNumber")
    if number in (None, ""):
        if current is None and invoice["Type"] == "ACCREC":
            invoice["InvoiceNumber"] = ctx.tenant.next_invoice_number()
        return
    invoice["InvoiceNumber"] = str(number)
    if invoice["Type"] != "ACCREC":
        return
    holder = ctx.tenant.invoice_by_number(str(number))
    if holder is not None and (current is None or holder["InvoiceID"] != current["InvoiceID"]):
        findings.errors.append(NOT_UNIQUE)


def _render(call: Call) -> Any:
    unitdp = call.unitdp
    return lambda obj, with_lines: render_invoice(obj, with_lines, unitdp)


def get_invoices(call: Call) -> httpx.Response:
    ids = {i.lower() for i in csv_param(call, "IDs")}
    numbers = set(csv_param(call, "InvoiceNumbers"))
    statuses = set(csv_param(call, "Statuses"))
    contact_ids = {i.lower() for i in csv_param(call, "ContactIDs")}

    def keep(obj: Obj) -> bool:
        return (
            (not ids or obj["InvoiceID"] in ids)
            and (not numbers or obj.get("InvoiceNumber") in numbers)
            and (not statuses or obj["Status"] in statuses)
            and (not contact_ids or (obj.get("Contact") or {}).get("ContactID") in contact_ids)
        )

    return list_objects(
        call,
        "Invoice",
        "Invoices",
        _render(call),
        pageable=True,
        lines_without_page=False,
        keep=keep,
    )


def get_invoice(call: Call) -> httpx.Response:
    key = call.path_value or ""
    found = call.tenant.get("Invoice", key) if is_uuid(key) else call.tenant.invoice_by_number(key)
    return get_one(call, found, "Invoices", _render(call))


def put_invoices(call: Call) -> httpx.Response:
    return write_batch(call, writer=write_invoice, render=_render(call))


def post_invoices(call: Call) -> httpx.Response:
    return write_batch(call, writer=write_invoice, render=_render(call))
