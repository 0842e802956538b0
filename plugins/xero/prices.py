"""Xero item sales prices for "prices back to Amazon" (the optional ``item_prices`` hook).

``GET /Items`` with ``If-Modified-Since`` returns the items created or changed since then (the
endpoint is not paged: one call returns them all). It is read with ``unitdp=4`` so a price kept
with more than two decimals arrives as Xero keeps it, not rounded: Amazon then refuses it and the
seller is told, rather than a rounded price being set behind their back. Xero prices items in
the organisation's base currency (``GET /Organisation``).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from ml_connector.core.errors import TargetError
from ml_connector.core.prices import ItemPrice
from ml_connector.plugins.xero.auth import SERVICE
from ml_connector.plugins.xero.client import XeroClient

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def parse_xero_timestamp(value: object, *, item: str) -> dt.datetime:
    """``/Date(1573755038314+0000)/`` (or ISO 8601) as an aware UTC datetime."""
    if isinstance(value, str):
        match = _MS_DATE.match(value.strip())
        if match:
            return dt.datetime.fromtimestamp(int(match.group(1)) / 1000, tz=dt.UTC)
        try:
            moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    raise TargetError(
        SERVICE,
        f"item {item!r}: UpdatedDateUTC {value!r} is not a Xero timestamp",
        operation="GET Items",
    )


def base_currency(client: XeroClient) -> str:
    """The organisation's base currency, the currency of every item price."""
    status, body = client.request("GET", "Organisation")
    organisations = body.get("Organisations") if status == 200 and isinstance(body, dict) else None
    currency = organisations[0].get("BaseCurrency") if organisations else None
    if not isinstance(currency, str) or not currency:
        raise TargetError(
            SERVICE,
            "the organisation's BaseCurrency could not be read, so item prices have no currency",
            status=status,
            operation="GET Organisation",
        )
    return currency


def _price(item: dict[str, Any], currency: str) -> ItemPrice | None:
    code = item.get("Code")
    details = item.get("SalesDetails")
    if not isinstance(code, str) or not code or not isinstance(details, dict):
        return None
    raw = details.get("UnitPrice")
    if raw is None or item.get("IsSold") is False:
        return None
    try:
        amount = raw if isinstance(raw, Decimal) else Decimal(str(raw))
    except InvalidOperation:
        raise TargetError(
            SERVICE,
            f"item {code!r}: SalesDetails.UnitPrice {raw!r} is not a number",
            operation="GET Items",
        ) from None
    return ItemPrice(
        code=code,
        amount=amount,
        currency=currency,
        updated_at=parse_xero_timestamp(item.get("UpdatedDateUTC"), item=code),
        name=str(item.get("Name") or ""),
    )


def item_prices(client: XeroClient, since: dt.datetime | None) -> list[ItemPrice]:
    """Every sold item with a sales price, changed after ``since`` (all items when None)."""
    currency = base_currency(client)
    items = client.get_all("Items", params={"unitdp": "4"}, if_modified_since=since, paged=False)
    prices = [_price(item, currency) for item in items]
    return [p for p in prices if p is not None]
