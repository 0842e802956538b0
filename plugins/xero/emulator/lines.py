"""Line items as Xero computes them: accounts, tax types, tracking, and rounding per line.

Xero's arithmetic, as its spec and "Rounding in Xero" describe it: ``Quantity`` keeps 4 decimal
places, ``UnitAmount`` 2 (4 when the request says ``unitdp=4``), each line's amount and tax are
rounded to 2 places *per line* (halves away from zero) and only then summed into ``SubTotal``,
``TotalTax`` and ``Total``. A client's own ``Total`` is never trusted.

A line naming an account that is unknown or ARCHIVED keeps its amount but loses the account,
with Xero's warning "Account code 'X' has been removed as it does not match a recognised
account." (what the spec's example shows); the document types decide what a line without an
account means for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ml_connector.plugins.xero.emulator.state import Obj, Tenant
from ml_connector.plugins.xero.emulator.wire import (
    FOUR_PLACES,
    TWO_PLACES,
    WireError,
    as_decimal,
    round_money,
)

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


@dataclass
class Findings:
    """Errors (the object is refused) and warnings (it is saved, changed) found on the way."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def extend(self, other: Findings) -> None:
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)


def removed_account_warning(code: str) -> str:
    return f"Account code '{code}' has been removed as it does not match a recognised account."


def invalid_tax_type(tax_type: str) -> str:
    return (
        f"The TaxType code {tax_type} does not exist or cannot be used for this type of "
        "transaction."
    )


def resolve_account(tenant: Tenant, ref: Obj, findings: Findings) -> Obj | None:
    """The ACTIVE account ``ref`` names by ``AccountCode``/``Code`` or ``AccountID``.

    An unknown or archived account adds the "has been removed" warning and gives None.
    """
    code = ref.get("AccountCode", ref.get("Code"))
    account_id = ref.get("AccountID")
    account = None
    if account_id:
        account = tenant.account_by_id(str(account_id))
    elif code not in (None, ""):
        account = tenant.account_by_code(str(code))
    else:
        return None
    if account is None or account.get("Status") != "ACTIVE":
        findings.warnings.append(removed_account_warning(str(code or account_id)))
        return None
    return account


def resolve_tax_rate(tenant: Tenant, tax_type: str, findings: Findings) -> Decimal | None:
    """The rate (percent) of an ACTIVE tax type, or None with Xero's error."""
    rate = tenant.get("TaxRate", tax_type)
    if rate is None or rate.get("Status") != "ACTIVE":
        findings.errors.append(invalid_tax_type(tax_type))
        return None
    return Decimal(rate["EffectiveRate"])


def resolve_tracking(tenant: Tenant, tracking: list[Obj], findings: Findings) -> list[Obj]:
    """Tracking references as stored: category and option, both by id and by name (max 2)."""
    if len(tracking) > 2:
        findings.errors.append("A line can have a maximum of 2 tracking categories.")
        return []
    resolved = []
    for ref in tracking:
        category = next(
            (
                c
                for c in tenant.objects("TrackingCategory")
                if c["TrackingCategoryID"] == str(ref.get("TrackingCategoryID", "")).lower()
                or (ref.get("Name") is not None and c["Name"] == ref.get("Name"))
            ),
            None,
        )
        if category is None or category.get("Status") != "ACTIVE":
            label = ref.get("Name", ref.get("TrackingCategoryID"))
            findings.errors.append(f"Tracking category '{label}' does not exist.")
            continue
        option = next(
            (
                o
                for o in category["Options"]
                if o["TrackingOptionID"] == str(ref.get("TrackingOptionID", "")).lower()
                or (ref.get("Option") is not None and o["Name"] == ref.get("Option"))
            ),
            None,
        )
        if option is None or option.get("Status") != "ACTIVE":
            label = ref.get("Option", ref.get("TrackingOptionID"))
            findings.errors.append(
                f"Tracking option '{label}' does not exist in tracking category "
                f"'{category['Name']}'."
            )
            continue
        resolved.append(
            {
                "TrackingCategoryID": category["TrackingCategoryID"],
                "TrackingOptionID": option["TrackingOptionID"],
                "Name": category["Name"],
                "Option": option["Name"],
            }
        )
    return resolved


def _number(line: Obj, key: str, findings: Findings) -> Decimal | None:
    if line.get(key) is None:
        return None
    try:
        return as_decimal(line[key])
    except WireError as error:
        findings.errors.append(f"{key}: {error}")
        return None


def line_tax(amount: Decimal, rate: Decimal, line_amount_types: str) -> Decimal:
    """Tax of one line, rounded per line to 2 places."""
    if line_amount_types == "NoTax" or rate == 0:
        return ZERO
    if line_amount_types == "Inclusive":
        return round_money(amount * rate / (HUNDRED + rate))
    return round_money(amount * rate / HUNDRED)


def compute_line_item(
    tenant: Tenant,
    raw: Obj,
    *,
    line_amount_types: str,
    unit_places: Decimal,
    new_id: str,
) -> tuple[Obj, Findings]:
    """One stored line item from the request's line, with its amounts and tax worked out."""
    findings = Findings()
    item = None
    if raw.get("ItemCode"):
        item = next((i for i in tenant.objects("Item") if i.get("Code") == raw["ItemCode"]), None)
        if item is None:
            findings.errors.append(f"Item code '{raw['ItemCode']}' is not valid.")
    sales = (item or {}).get("SalesDetails") or {}
    quantity = _number(raw, "Quantity", findings)
    unit = _number(raw, "UnitAmount", findings)
    given_amount = _number(raw, "LineAmount", findings)
    discount = _number(raw, "DiscountRate", findings)
    if unit is None and sales.get("UnitPrice") is not None and given_amount is None:
        unit = Decimal(sales["UnitPrice"])
    if quantity is not None:
        quantity = round_money(quantity, FOUR_PLACES)
    if unit is not None:
        unit = round_money(unit, unit_places)
    factor = (HUNDRED - discount) / HUNDRED if discount is not None else Decimal(1)
    if quantity is not None and unit is not None:
        amount = round_money(quantity * unit * factor)
        if given_amount is not None and round_money(given_amount) != amount:
            findings.errors.append(
                f"The line amount {given_amount} does not equal the quantity ({quantity}) "
                f"multiplied by the unit amount ({unit}): {amount}."
            )
    elif given_amount is not None:
        amount = round_money(given_amount)
        if quantity is None:
            quantity = Decimal("1.0000")
        if unit is None and quantity != 0:
            unit = round_money(amount / (quantity * factor), unit_places)
    else:
        amount = ZERO
    line: Obj = {
        "LineItemID": str(raw.get("LineItemID") or new_id),
        "Description": raw.get("Description"),
        "Quantity": quantity,
        "UnitAmount": unit,
        "ItemCode": item["Code"] if item else None,
        "LineAmount": amount,
        "DiscountRate": discount,
    }
    account_ref = dict(raw)
    if item and not raw.get("AccountCode") and not raw.get("AccountID"):
        account_ref["AccountCode"] = sales.get("AccountCode")
    account = resolve_account(tenant, account_ref, findings)
    if account is not None:
        line["AccountCode"] = account["Code"]
        line["AccountID"] = account["AccountID"]
    tax_type = raw.get("TaxType") or sales.get("TaxType") or (account or {}).get("TaxType")
    tax_type = tax_type or "NONE"
    rate = resolve_tax_rate(tenant, tax_type, findings)
    line["TaxType"] = tax_type
    given_tax = _number(raw, "TaxAmount", findings)
    if given_tax is not None:
        line["TaxAmount"] = round_money(given_tax)
    else:
        line["TaxAmount"] = line_tax(amount, rate or Decimal(0), line_amount_types)
    line["Tracking"] = resolve_tracking(tenant, list(raw.get("Tracking") or []), findings)
    return {k: v for k, v in line.items() if v is not None}, findings


def totals(lines: list[Obj], line_amount_types: str) -> dict[str, Decimal]:
    """``SubTotal``, ``TotalTax`` and ``Total`` from already-rounded lines."""
    amount = sum((line["LineAmount"] for line in lines), ZERO)
    tax = sum((line.get("TaxAmount", ZERO) for line in lines), ZERO)
    subtotal = amount - tax if line_amount_types == "Inclusive" else amount
    return {
        "SubTotal": round_money(subtotal, TWO_PLACES),
        "TotalTax": round_money(tax, TWO_PLACES),
        "Total": round_money(subtotal + tax, TWO_PLACES),
    }
