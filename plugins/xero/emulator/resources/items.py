"""Items (products): codes are unique; POST updates prices, which "prices back to Amazon" reads.

PUT creates; POST creates or updates, finding the item by ``ItemID`` and else by ``Code``.
``UnitPrice`` keeps 2 decimal places, or 4 when the request says ``unitdp=4``.
"""

from __future__ import annotations

from typing import Any

import httpx

from ml_connector.plugins.xero.emulator.batch import Outcome, WriteContext
from ml_connector.plugins.xero.emulator.lines import Findings, resolve_account, resolve_tax_rate
from ml_connector.plugins.xero.emulator.render import to_wire
from ml_connector.plugins.xero.emulator.resources.common import (
    Call,
    get_one,
    list_objects,
    write_batch,
)
from ml_connector.plugins.xero.emulator.spec import is_uuid
from ml_connector.plugins.xero.emulator.state import Obj
from ml_connector.plugins.xero.emulator.wire import (
    FOUR_PLACES,
    TWO_PLACES,
    WireError,
    as_decimal,
    round_money,
)

EDITABLE = ("Name", "Description", "PurchaseDescription", "IsSold", "IsPurchased")


def _render(call: Call) -> Any:
    places = FOUR_PLACES if call.unitdp == 4 else TWO_PLACES

    def render(obj: Obj, with_lines: bool) -> dict[str, Any]:
        wire = to_wire(obj)
        for details in ("SalesDetails", "PurchaseDetails"):
            if wire.get(details, {}).get("UnitPrice") is not None:
                wire[details]["UnitPrice"] = round_money(wire[details]["UnitPrice"], places)
        return wire

    return render


def _details(ctx: WriteContext, raw: Any, current: Obj, label: str, findings: Findings) -> Obj:
    details = dict(current)
    if not isinstance(raw, dict):
        return details
    if raw.get("UnitPrice") is not None:
        places = FOUR_PLACES if ctx.unitdp == 4 else TWO_PLACES
        try:
            details["UnitPrice"] = round_money(as_decimal(raw["UnitPrice"]), places)
        except WireError as error:
            findings.errors.append(f"{label}.UnitPrice: {error}")
    if raw.get("AccountCode"):
        account_findings = Findings()
        if resolve_account(ctx.tenant, {"AccountCode": raw["AccountCode"]}, account_findings):
            details["AccountCode"] = raw["AccountCode"]
        else:
            findings.errors.append(f"{label}.AccountCode '{raw['AccountCode']}' is not valid.")
    if raw.get("TaxType") and resolve_tax_rate(ctx.tenant, raw["TaxType"], findings) is not None:
        details["TaxType"] = raw["TaxType"]
    return details


def write_item(ctx: WriteContext, element: Obj) -> Outcome:
    tenant, findings = ctx.tenant, Findings()
    given_id = element.get("ItemID") or (
        ctx.path_id if ctx.method == "POST" and ctx.path_id and is_uuid(ctx.path_id) else None
    )
    current = tenant.get("Item", str(given_id)) if given_id else None
    if given_id and (current is None or ctx.method == "PUT"):
        findings.errors.append(
            f"Item '{given_id}' could not be found."
            if current is None
            else "ItemID cannot be set on a new item: Xero generates it."
        )
        return Outcome(dict(element), findings)
    code = str(element.get("Code") or "")
    holder = next((i for i in tenant.objects("Item") if i["Code"] == code), None)
    if current is None and ctx.method == "POST":
        current = holder
    elif holder is not None and (current is None or holder["ItemID"] != current["ItemID"]):
        findings.errors.append(f"Item code '{code}' already exists.")
    item: Obj = dict(current) if current else {"ItemID": ctx.ids.uuid(), "IsSold": True}
    item["Code"] = code
    for key in EDITABLE:
        if key in element:
            item[key] = element[key]
    for key in ("SalesDetails", "PurchaseDetails"):
        if key in element:
            item[key] = _details(ctx, element[key], item.get(key) or {}, key, findings)
    item["IsTrackedAsInventory"] = False
    item["UpdatedDateUTC"] = ctx.now
    if findings.errors:
        return Outcome(item, findings)
    return Outcome(tenant.put("Item", item), findings)


def get_items(call: Call) -> httpx.Response:
    return list_objects(call, "Item", "Items", _render(call), pageable=False)


def get_item(call: Call) -> httpx.Response:
    key = call.path_value or ""
    found = call.tenant.get("Item", key) if is_uuid(key) else None
    if found is None:
        found = next((i for i in call.tenant.objects("Item") if i["Code"] == key), None)
    return get_one(call, found, "Items", _render(call))


def write_items(call: Call) -> httpx.Response:
    return write_batch(call, writer=write_item, render=_render(call))
