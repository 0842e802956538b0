"""Stored objects as Xero writes them on the wire.

Dates become ``/Date(ms+0000)/`` (with ``DateString`` companions where Xero sends them),
timestamps ``UpdatedDateUTC`` the same, amounts stay ``Decimal`` (2 places; unit amounts 2 or 4
with ``unitdp=4``), ``None`` fields are left out, and internal bookkeeping is never shown.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, overload

from ml_connector.plugins.xero.emulator.state import Obj
from ml_connector.plugins.xero.emulator.wire import (
    FOUR_PLACES,
    TWO_PLACES,
    date_string,
    ms_date,
    ms_timestamp,
    round_money,
    utc_string,
)

TIMESTAMP_FIELDS = frozenset({"UpdatedDateUTC", "CreatedDateUTC"})
DATE_STRING_FIELDS = {"Date": "DateString", "DueDate": "DueDateString"}
LINE_FIELDS = ("LineItems", "JournalLines")


@overload
def to_wire(value: Obj, *, key: str = "") -> dict[str, Any]: ...


@overload
def to_wire(value: Any, *, key: str = "") -> Any: ...


def to_wire(value: Any, *, key: str = "") -> Any:
    """A stored value as JSON-ready data (no floats, no Python dates); an object stays a dict."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for name, item in value.items():
            if item is None or name.startswith("_"):
                continue
            out[name] = to_wire(item, key=name)
        return out
    if isinstance(value, list):
        return [to_wire(item, key=key) for item in value]
    if isinstance(value, dt.date):
        return ms_date(value)
    if key in TIMESTAMP_FIELDS and isinstance(value, int | float) and not isinstance(value, bool):
        return ms_timestamp(value)
    if isinstance(value, float):
        raise TypeError(f"stored field {key!r} holds a float; amounts must be Decimal")
    return value


def with_date_strings(obj: Obj, wire: dict[str, Any]) -> dict[str, Any]:
    """Add ``DateString``/``DueDateString``/``UpdatedDateUTCString`` as Xero's GETs carry."""
    for field_name, string_name in DATE_STRING_FIELDS.items():
        if isinstance(obj.get(field_name), dt.date):
            wire[string_name] = date_string(obj[field_name])
    if isinstance(obj.get("UpdatedDateUTC"), int | float):
        wire["UpdatedDateUTCString"] = utc_string(obj["UpdatedDateUTC"])
    return wire


def document(obj: Obj, *, unitdp: int | None = None, with_lines: bool = True) -> dict[str, Any]:
    """An invoice, bank transaction or journal for the wire.

    Unit amounts are shown to 4 places only when the request asked ``unitdp=4``; otherwise
    Xero rounds them to 2. Quantities always carry 4 places, as Xero writes them.
    """
    wire = to_wire(obj)
    for lines_field in LINE_FIELDS:
        if lines_field not in wire:
            continue
        if not with_lines:
            del wire[lines_field]
            continue
        for line in wire[lines_field]:
            if isinstance(line.get("UnitAmount"), Decimal):
                places = FOUR_PLACES if unitdp == 4 else TWO_PLACES
                line["UnitAmount"] = round_money(line["UnitAmount"], places)
            if isinstance(line.get("Quantity"), Decimal):
                line["Quantity"] = round_money(line["Quantity"], FOUR_PLACES)
    return with_date_strings(obj, wire)
