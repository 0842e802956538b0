"""Contacts: names are unique among active contacts, as Xero enforces.

PUT creates; POST creates or updates, finding the contact by ``ContactID`` and else by ``Name``.
Documents may also create contacts on the fly by naming one (see :mod:`..documents`).
"""

from __future__ import annotations

from typing import Any

import httpx

from ml_connector.plugins.xero.emulator.batch import Outcome, WriteContext
from ml_connector.plugins.xero.emulator.lines import Findings
from ml_connector.plugins.xero.emulator.render import to_wire
from ml_connector.plugins.xero.emulator.resources.common import (
    Call,
    csv_param,
    get_one,
    list_objects,
    write_batch,
)
from ml_connector.plugins.xero.emulator.state import Obj

EDITABLE = (
    "Name",
    "FirstName",
    "LastName",
    "EmailAddress",
    "ContactNumber",
    "AccountNumber",
    "TaxNumber",
    "IsCustomer",
    "IsSupplier",
    "DefaultCurrency",
    "ContactStatus",
)


def render_contact(obj: Obj, with_lines: bool) -> dict[str, Any]:
    return to_wire(obj)


def _name_taken(message_name: str) -> str:
    return (
        f"The contact name {message_name} is already assigned to another contact. The contact "
        "name must be unique across all active contacts."
    )


def write_contact(ctx: WriteContext, element: Obj) -> Outcome:
    tenant, findings = ctx.tenant, Findings()
    given_id = element.get("ContactID") or (ctx.path_id if ctx.method == "POST" else None)
    current = tenant.get("Contact", str(given_id)) if given_id else None
    if given_id and (current is None or ctx.method == "PUT"):
        findings.errors.append(
            f"Contact '{given_id}' could not be found."
            if current is None
            else "ContactID cannot be set on a new contact: Xero generates it."
        )
        return Outcome(dict(element), findings)
    name = str(element.get("Name") or (current or {}).get("Name") or "").strip()
    if current is None and ctx.method == "POST" and name:
        current = next((c for c in tenant.objects("Contact") if c["Name"] == name), None)
    if not name:
        findings.errors.append("The contact name must be specified.")
    clash = next(
        (
            c
            for c in tenant.objects("Contact")
            if c["Name"] == name
            and c.get("ContactStatus") == "ACTIVE"
            and (current is None or c["ContactID"] != current["ContactID"])
        ),
        None,
    )
    if clash is not None:
        findings.errors.append(_name_taken(name))
    contact: Obj = (
        dict(current)
        if current
        else {
            "ContactID": ctx.ids.uuid(),
            "ContactStatus": "ACTIVE",
            "IsCustomer": False,
            "IsSupplier": False,
        }
    )
    for key in EDITABLE:
        if key in element:
            contact[key] = element[key]
    contact["Name"] = name
    contact["UpdatedDateUTC"] = ctx.now
    if findings.errors:
        return Outcome(contact, findings)
    return Outcome(tenant.put("Contact", contact), findings)


def get_contacts(call: Call) -> httpx.Response:
    ids = {i.lower() for i in csv_param(call, "IDs")}
    include_archived = call.flag("includeArchived", False)
    return list_objects(
        call,
        "Contact",
        "Contacts",
        render_contact,
        pageable=True,
        keep=lambda c: (
            (not ids or c["ContactID"] in ids)
            and (include_archived or c.get("ContactStatus") == "ACTIVE")
        ),
    )


def get_contact(call: Call) -> httpx.Response:
    return get_one(
        call, call.tenant.get("Contact", call.path_value or ""), "Contacts", render_contact
    )


def write_contacts(call: Call) -> httpx.Response:
    return write_batch(call, writer=write_contact, render=render_contact)
