"""Bank transactions (RECEIVE/SPEND money) and transfers between bank accounts.

Neither has a unique key or any de-duplication: the same body twice is two transactions.
A bank transaction needs a contact, a BANK account and lines computed like invoice lines; a
transfer moves a positive amount between two different BANK accounts. Both are refused on or
before a lock date. Deleting: POST a bank transaction with ``Status`` DELETED; POST
``/BankTransfers`` with ``{"BankTransfers": [{"BankTransferID", "Status": "DELETED"}]}``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from ml_connector.plugins.xero.emulator.batch import Outcome, WriteContext
from ml_connector.plugins.xero.emulator.documents import (
    check_lock_dates,
    document_date,
    resolve_contact,
    today,
)
from ml_connector.plugins.xero.emulator.lines import (
    Findings,
    compute_line_item,
    resolve_account,
    totals,
)
from ml_connector.plugins.xero.emulator.render import document, to_wire, with_date_strings
from ml_connector.plugins.xero.emulator.resources.common import (
    Call,
    get_one,
    list_objects,
    write_batch,
)
from ml_connector.plugins.xero.emulator.state import Obj, Tenant
from ml_connector.plugins.xero.emulator.wire import (
    FOUR_PLACES,
    TWO_PLACES,
    WireError,
    as_decimal,
    round_money,
)

SUPPORTED_TYPES = ("RECEIVE", "SPEND")


def _bank_account(tenant: Tenant, ref: Any, label: str, findings: Findings) -> Obj | None:
    if not isinstance(ref, dict) or not (ref.get("Code") or ref.get("AccountID")):
        findings.errors.append(f"{label} must name a bank account (Code or AccountID).")
        return None
    account = resolve_account(tenant, ref, Findings())
    if account is None or account["Type"] != "BANK":
        findings.errors.append(
            f"{label} '{ref.get('Code') or ref.get('AccountID')}' is not an active bank account."
        )
        return None
    return account


def _render(call: Call) -> Any:
    unitdp = call.unitdp
    return lambda obj, with_lines: document(obj, unitdp=unitdp, with_lines=with_lines)


def write_bank_transaction(ctx: WriteContext, element: Obj) -> Outcome:
    """Create a RECEIVE/SPEND transaction, or (POST with an id) update or delete one."""
    tenant, findings = ctx.tenant, Findings()
    given_id = element.get("BankTransactionID") or (ctx.path_id if ctx.method == "POST" else None)
    current = tenant.get("BankTransaction", str(given_id)) if given_id else None
    if given_id and (current is None or ctx.method == "PUT"):
        findings.errors.append(
            f"Bank transaction '{given_id}' could not be found."
            if current is None
            else "BankTransactionID cannot be set on a new bank transaction: Xero generates it."
        )
        return Outcome(dict(element), findings)
    base: Obj = dict(current) if current else {}
    if current is not None and current["Status"] == "DELETED":
        findings.errors.append("This bank transaction has been deleted and cannot be changed.")
        return Outcome(current, findings)
    kind = element.get("Type") or base.get("Type")
    if kind not in SUPPORTED_TYPES:
        findings.errors.append(
            f"Bank transaction Type '{kind}' is not supported by this emulator; use RECEIVE or SPEND."
        )
        return Outcome(dict(element), findings)
    transaction: Obj = {
        **base,
        "BankTransactionID": base.get("BankTransactionID") or ctx.ids.uuid(),
        "Type": kind,
        "Status": element.get("Status") or base.get("Status") or "AUTHORISED",
        "Reference": element.get("Reference", base.get("Reference")),
        "Url": element.get("Url", base.get("Url")),
        "IsReconciled": element.get("IsReconciled", base.get("IsReconciled", False)),
        "LineAmountTypes": element.get("LineAmountTypes")
        or base.get("LineAmountTypes", "Exclusive"),
        "CurrencyCode": element.get("CurrencyCode")
        or base.get("CurrencyCode", tenant.organisation["BaseCurrency"]),
        "HasAttachments": False,
        "UpdatedDateUTC": ctx.now,
    }
    if transaction["Status"] not in ("AUTHORISED", "DELETED"):
        findings.errors.append(f"Bank transaction Status '{transaction['Status']}' is not allowed.")
    new_contact = None
    if "Contact" in element or current is None:
        transaction["Contact"], new_contact = resolve_contact(
            tenant, ctx.ids, element.get("Contact"), ctx.now, findings
        )
    if "BankAccount" in element or current is None:
        account = _bank_account(tenant, element.get("BankAccount"), "BankAccount", findings)
        if account is not None:
            transaction["BankAccount"] = {
                "AccountID": account["AccountID"],
                "Code": account["Code"],
                "Name": account["Name"],
            }
    transaction["Date"] = document_date(
        element.get("Date"), findings, field="Date", default=base.get("Date") or today(ctx.now)
    )
    if "LineItems" in element or current is None:
        places = FOUR_PLACES if ctx.unitdp == 4 else TWO_PLACES
        lines = []
        for raw in element.get("LineItems") or []:
            line, line_findings = compute_line_item(
                tenant,
                raw,
                line_amount_types=transaction["LineAmountTypes"],
                unit_places=places,
                new_id=ctx.ids.uuid(),
            )
            findings.extend(line_findings)
            lines.append(line)
        transaction["LineItems"] = lines
    if not transaction["LineItems"]:
        findings.errors.append("A bank transaction must have at least one line item.")
    if any("AccountCode" not in line for line in transaction["LineItems"]):
        findings.errors.append("Account must be valid.")
    transaction.update(totals(transaction["LineItems"], transaction["LineAmountTypes"]))
    check_lock_dates(tenant, transaction["Date"], findings)
    if findings.errors:
        return Outcome(transaction, findings)
    if new_contact is not None:
        tenant.put("Contact", new_contact)
    return Outcome(tenant.put("BankTransaction", transaction), findings)


def get_bank_transactions(call: Call) -> httpx.Response:
    return list_objects(call, "BankTransaction", "BankTransactions", _render(call), pageable=True)


def get_bank_transaction(call: Call) -> httpx.Response:
    found = call.tenant.get("BankTransaction", call.path_value or "")
    return get_one(call, found, "BankTransactions", _render(call))


def write_bank_transactions(call: Call) -> httpx.Response:
    return write_batch(call, writer=write_bank_transaction, render=_render(call))


def render_transfer(obj: Obj, with_lines: bool) -> dict[str, Any]:
    return with_date_strings(obj, to_wire(obj))


def write_transfer(ctx: WriteContext, element: Obj) -> Outcome:
    """Create one transfer between two bank accounts."""
    tenant, findings = ctx.tenant, Findings()
    source = _bank_account(tenant, element.get("FromBankAccount"), "FromBankAccount", findings)
    target = _bank_account(tenant, element.get("ToBankAccount"), "ToBankAccount", findings)
    if source is not None and target is not None and source["AccountID"] == target["AccountID"]:
        findings.errors.append("The From and To bank accounts must be different.")
    try:
        amount = round_money(as_decimal(element.get("Amount")))
    except WireError as error:
        findings.errors.append(f"Amount: {error}")
        amount = Decimal("0.00")
    if amount <= 0:
        findings.errors.append("The transfer amount must be greater than zero.")
    day = document_date(element.get("Date"), findings, field="Date", default=today(ctx.now))
    check_lock_dates(tenant, day, findings)
    transfer: Obj = {
        "BankTransferID": ctx.ids.uuid(),
        "FromBankTransactionID": ctx.ids.uuid(),
        "ToBankTransactionID": ctx.ids.uuid(),
        "Amount": amount,
        "Date": day,
        "Reference": element.get("Reference"),
        "CurrencyRate": Decimal("1.000000"),
        "FromIsReconciled": bool(element.get("FromIsReconciled", False)),
        "ToIsReconciled": bool(element.get("ToIsReconciled", False)),
        "HasAttachments": False,
        "Status": "AUTHORISED",
        "CreatedDateUTC": ctx.now,
        "UpdatedDateUTC": ctx.now,
    }
    for key, account in (("FromBankAccount", source), ("ToBankAccount", target)):
        if account is not None:
            transfer[key] = {
                "AccountID": account["AccountID"],
                "Code": account["Code"],
                "Name": account["Name"],
            }
    if findings.errors:
        return Outcome(transfer, findings)
    return Outcome(tenant.put("BankTransfer", transfer), findings)


def delete_transfer(ctx: WriteContext, element: Obj) -> Outcome:
    findings = Findings()
    transfer_id = element.get("BankTransferID") or ctx.path_id or ""
    transfer = ctx.tenant.get("BankTransfer", str(transfer_id))
    if transfer is None:
        findings.errors.append(f"Bank transfer '{transfer_id}' could not be found.")
        return Outcome(dict(element), findings)
    if element.get("Status") != "DELETED" or transfer["Status"] == "DELETED":
        findings.errors.append("A bank transfer can only be changed to Status DELETED, once.")
        return Outcome(transfer, findings)
    deleted = {**transfer, "Status": "DELETED", "UpdatedDateUTC": ctx.now}
    return Outcome(ctx.tenant.put("BankTransfer", deleted), findings)


def get_transfers(call: Call) -> httpx.Response:
    include_deleted = call.flag("includeDeleted", False)
    return list_objects(
        call,
        "BankTransfer",
        "BankTransfers",
        render_transfer,
        pageable=False,
        keep=lambda t: include_deleted or t["Status"] != "DELETED",
    )


def get_transfer(call: Call) -> httpx.Response:
    found = call.tenant.get("BankTransfer", call.path_value or "")
    return get_one(call, found, "BankTransfers", render_transfer)


def put_transfers(call: Call) -> httpx.Response:
    return write_batch(call, writer=write_transfer, render=render_transfer)


def delete_transfers(call: Call) -> httpx.Response:
    return write_batch(call, writer=delete_transfer, render=render_transfer)


def delete_one_transfer(call: Call) -> httpx.Response:
    return write_batch(call, writer=delete_transfer, render=render_transfer, single_object=True)
