"""Manual journals: balanced lines (+debit / -credit), and no de-duplication whatsoever.

Xero keeps no unique key on a manual journal: the same body sent twice makes two journals, which
is exactly the trap a client's retry falls into; clients look journals up by ``Narration`` and
``Date`` (GET ``?where=``) before resending, or use an ``Idempotency-Key``.

A line on an unknown or ARCHIVED account is dropped with Xero's warning "Account code 'X' has
been removed as it does not match a recognised account." and the remaining lines must still
balance; the spec's own example shows that pair (the warning, then "The total debits (100.00)
must equal total credits (-10.00)"), so a dropped line usually gets the journal refused. A
journal left with no line at all is refused too.
"""

from __future__ import annotations

from typing import Any

import httpx

from ml_connector.plugins.xero.emulator.batch import Outcome, WriteContext
from ml_connector.plugins.xero.emulator.documents import (
    check_lock_dates,
    document_date,
    today,
)
from ml_connector.plugins.xero.emulator.lines import (
    ZERO,
    Findings,
    line_tax,
    resolve_account,
    resolve_tax_rate,
    resolve_tracking,
)
from ml_connector.plugins.xero.emulator.render import document
from ml_connector.plugins.xero.emulator.resources.common import (
    Call,
    get_one,
    list_objects,
    write_batch,
)
from ml_connector.plugins.xero.emulator.state import Obj
from ml_connector.plugins.xero.emulator.wire import WireError, as_decimal, round_money

CREATE_STATUSES = ("DRAFT", "POSTED")
FINAL_STATUSES = ("VOIDED", "DELETED")
ALLOWED_CHANGES = {
    "DRAFT": ("DRAFT", "POSTED", "DELETED"),
    "POSTED": ("POSTED", "VOIDED"),
}


def render_journal(obj: Obj, with_lines: bool) -> dict[str, Any]:
    return document(obj, with_lines=with_lines)


def _journal_line(
    ctx: WriteContext, raw: Obj, line_amount_types: str, findings: Findings
) -> Obj | None:
    line_findings = Findings()
    account = resolve_account(ctx.tenant, raw, line_findings)
    findings.warnings.extend(line_findings.warnings)
    if account is None:
        if not line_findings.warnings:
            findings.errors.append(
                "Each journal line must name an account (AccountCode or AccountID)."
            )
        return None
    try:
        amount = round_money(as_decimal(raw.get("LineAmount", 0)))
    except WireError as error:
        findings.errors.append(f"LineAmount: {error}")
        return None
    tax_type = raw.get("TaxType") or account.get("TaxType") or "NONE"
    rate = resolve_tax_rate(ctx.tenant, tax_type, findings)
    line: Obj = {
        "LineAmount": amount,
        "AccountCode": account["Code"],
        "AccountID": account["AccountID"],
        "Description": raw.get("Description"),
        "TaxType": tax_type,
        "TaxAmount": line_tax(amount, rate or ZERO, line_amount_types),
        "Tracking": resolve_tracking(ctx.tenant, list(raw.get("Tracking") or []), findings),
        "IsBlank": False,
    }
    return line


def _balance_error(lines: list[Obj], line_amount_types: str) -> str | None:
    def gross(line: Obj) -> Any:
        tax = line["TaxAmount"] if line_amount_types == "Exclusive" else ZERO
        return line["LineAmount"] + tax

    debits = sum((gross(line) for line in lines if gross(line) > 0), ZERO)
    credits = sum((gross(line) for line in lines if gross(line) < 0), ZERO)
    if debits + credits == 0:
        return None
    return f"The total debits ({debits}) must equal total credits ({credits})"


def write_journal(ctx: WriteContext, element: Obj) -> Outcome:
    """Create (PUT, or POST without id) or update (POST with ``ManualJournalID``) a journal."""
    tenant, findings = ctx.tenant, Findings()
    journal_id = element.get("ManualJournalID") or (ctx.path_id if ctx.method == "POST" else None)
    current = None
    if journal_id:
        current = tenant.get("ManualJournal", str(journal_id))
        if current is None or ctx.method == "PUT":
            findings.errors.append(
                f"Manual journal with ManualJournalID '{journal_id}' could not be found."
                if current is None
                else "ManualJournalID cannot be set on a new journal: Xero generates it."
            )
            return Outcome(dict(element), findings)
    base: Obj = dict(current) if current else {}
    status = element.get("Status") or base.get("Status") or "DRAFT"
    if current is None and status not in CREATE_STATUSES:
        findings.errors.append(f"A new manual journal must be DRAFT or POSTED, not {status}.")
    if current is not None:
        allowed = ALLOWED_CHANGES.get(current["Status"], ())
        if status not in allowed:
            findings.errors.append(
                f"A {current['Status']} manual journal cannot be changed to {status}."
            )
    journal: Obj = {
        **base,
        "ManualJournalID": base.get("ManualJournalID") or ctx.ids.uuid(),
        "Narration": element.get("Narration", base.get("Narration")),
        "Status": status,
        "LineAmountTypes": element.get("LineAmountTypes") or base.get("LineAmountTypes", "NoTax"),
        "ShowOnCashBasisReports": element.get(
            "ShowOnCashBasisReports", base.get("ShowOnCashBasisReports", True)
        ),
        "Url": element.get("Url", base.get("Url")),
        "HasAttachments": False,
        "UpdatedDateUTC": ctx.now,
    }
    journal["Date"] = document_date(
        element.get("Date"), findings, field="Date", default=base.get("Date") or today(ctx.now)
    )
    if "JournalLines" in element or current is None:
        lines = []
        for raw in element.get("JournalLines") or []:
            line = _journal_line(ctx, raw, journal["LineAmountTypes"], findings)
            if line is not None:
                lines.append({k: v for k, v in line.items() if v is not None})
        journal["JournalLines"] = lines
    if status not in FINAL_STATUSES:
        if not journal["JournalLines"]:
            findings.errors.append("A manual journal must have at least one journal line.")
        unbalanced = _balance_error(journal["JournalLines"], journal["LineAmountTypes"])
        if unbalanced:
            findings.errors.append(unbalanced)
    if status != "DRAFT":
        check_lock_dates(tenant, journal["Date"], findings)
    if findings.errors:
        return Outcome(journal, findings)
    return Outcome(tenant.put("ManualJournal", journal), findings)


def get_journals(call: Call) -> httpx.Response:
    return list_objects(
        call,
        "ManualJournal",
        "ManualJournals",
        render_journal,
        pageable=True,
        lines_without_page=False,
    )


def get_journal(call: Call) -> httpx.Response:
    found = call.tenant.get("ManualJournal", call.path_value or "")
    return get_one(call, found, "ManualJournals", render_journal)


def write_journals(call: Call) -> httpx.Response:
    return write_batch(call, writer=write_journal, render=render_journal)
