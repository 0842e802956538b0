"""Rules shared by every accounting document: dates, lock dates, contacts, status words."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ml_connector.plugins.xero.emulator.lines import Findings
from ml_connector.plugins.xero.emulator.state import IdFactory, Obj, Tenant
from ml_connector.plugins.xero.emulator.wire import WireError, parse_date

NOT_MODIFIABLE = "Invoice not of valid status for modification"


def document_date(
    raw: Any, findings: Findings, *, field: str, default: dt.date | None
) -> dt.date | None:
    """The date in ``raw`` (``YYYY-MM-DD`` and Xero's other forms), or ``default`` if absent."""
    if raw in (None, ""):
        return default
    try:
        return parse_date(raw, field=field)
    except WireError as error:
        findings.errors.append(str(error))
        return None


def check_lock_dates(tenant: Tenant, day: dt.date | None, findings: Findings) -> None:
    """Refuse a date on or before a lock date, in Xero's words."""
    if day is None:
        return
    for label, lock in tenant.lock_dates():
        if day <= lock:
            findings.errors.append(
                f"The document date cannot be before the {label}, currently set at "
                f"{lock.strftime('%d-%b-%Y')}"
            )
            return


def today(now: float) -> dt.date:
    """The organisation's today (the emulated orgs keep UTC)."""
    return dt.datetime.fromtimestamp(now, tz=dt.UTC).date()


def resolve_contact(
    tenant: Tenant, ids: IdFactory, ref: Any, now: float, findings: Findings
) -> tuple[Obj | None, Obj | None]:
    """The contact ``ref`` names by ``ContactID`` or ``Name``, and a contact to create, if any.

    Xero creates a contact on the fly when a document names one it does not know, which is why
    two documents naming "Amazon.com Customers" share one contact while a typo makes a second.
    The new contact is returned, not stored, so a refused document leaves no contact behind.
    """
    if not isinstance(ref, dict) or not (ref.get("ContactID") or ref.get("Name")):
        findings.errors.append("A Contact must be specified for this type of transaction")
        return None, None
    if ref.get("ContactID"):
        contact = tenant.get("Contact", str(ref["ContactID"]))
        if contact is None:
            findings.errors.append(
                f"The contact with ContactID '{ref['ContactID']}' does not exist."
            )
            return None, None
        return {"ContactID": contact["ContactID"], "Name": contact["Name"]}, None
    name = str(ref["Name"]).strip()
    contact = next(
        (
            c
            for c in tenant.objects("Contact")
            if c["Name"] == name and c.get("ContactStatus") == "ACTIVE"
        ),
        None,
    )
    created = None
    if contact is None:
        contact = created = {
            "ContactID": ids.uuid(),
            "Name": name,
            "ContactStatus": "ACTIVE",
            "IsCustomer": True,
            "IsSupplier": False,
            "UpdatedDateUTC": now,
        }
    return {"ContactID": contact["ContactID"], "Name": contact["Name"]}, created
