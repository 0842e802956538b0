"""Xero item prices (the ``item_prices`` hook) against the Xero emulator and Xero's contract."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pytest

import ml_connector.plugins.xero as xero
from ml_connector.core import jsoncodec
from ml_connector.core.credentials import Credentials
from ml_connector.core.emulation import Chaos, FakeClock
from ml_connector.core.emulation.clock import utcnow
from ml_connector.core.errors import TargetError
from ml_connector.core.plugins import get_target, make_manager
from ml_connector.core.prices import ItemPrice
from ml_connector.plugins.xero.client import XeroClient
from ml_connector.plugins.xero.prices import parse_xero_timestamp

START = dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC)
SEEDED = {"SKU-MUG-01": "14.99", "SKU-TEE-BLK-M": "19.50", "SKU-BOTTLE-750": "24.00"}


def connected() -> tuple[FakeClock, XeroClient, list[httpx.Request]]:
    clock = FakeClock(START)
    target = xero.emulated_target(seed=7, clock=clock, chaos=Chaos.off())
    sent: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return target.handle(request)

    http = httpx.Client(transport=httpx.MockTransport(handle))
    session = xero.connect(credentials=Credentials(target.credentials), http=http, clock=clock)
    return clock, session, sent


def change(session: XeroClient, code: str, price: str, *, unitdp: bool = True) -> None:
    status, body = session.request(
        "POST",
        "Items",
        params={"unitdp": "4"} if unitdp else None,
        body={"Items": [{"Code": code, "SalesDetails": {"UnitPrice": Decimal(price)}}]},
        idempotency_key=f"test:{code}:{price}",
    )
    assert status == 200 and not body["Items"][0].get("HasErrors"), body


def test_the_hook_is_registered_for_xero() -> None:
    assert get_target(make_manager(), "xero").implements("item_prices")


def test_every_item_with_its_exact_price_in_the_base_currency() -> None:
    _clock, session, _sent = connected()
    prices = xero.item_prices(session=session, since=None)
    assert all(isinstance(p, ItemPrice) for p in prices)
    assert {p.code: p.amount for p in prices} == {k: Decimal(v) for k, v in SEEDED.items()}
    assert {p.currency for p in prices} == {"USD"}
    assert all(p.updated_at == START for p in prices)


def test_only_items_changed_since_are_read_and_the_requests_keep_the_contract() -> None:
    clock, session, sent = connected()
    clock.advance(3600)
    mark = utcnow(clock)
    clock.advance(60)
    change(session, "SKU-TEE-BLK-M", "21.25")
    sent.clear()
    prices = xero.item_prices(session=session, since=mark)
    assert [(p.code, p.amount) for p in prices] == [("SKU-TEE-BLK-M", Decimal("21.25"))]
    assert prices[0].updated_at == mark + dt.timedelta(seconds=60)
    items_call = [r for r in sent if r.url.path.endswith("/Items")]
    assert len(items_call) == 1  # GET /Items is not paged: one call reads every change
    assert items_call[0].headers["If-Modified-Since"] == mark.isoformat(timespec="seconds")
    for request in sent:
        body = jsoncodec.loads(request.content) if request.content else None
        problems = xero.validate_request(
            method=request.method, url=str(request.url), headers=dict(request.headers), body=body
        )
        assert problems == [], (request.method, request.url, problems)
    assert xero.item_prices(session=session, since=utcnow(clock)) == []


def test_a_four_decimal_price_is_read_as_xero_keeps_it_not_rounded() -> None:
    _clock, session, _sent = connected()
    change(session, "SKU-MUG-01", "15.4950")
    (mug,) = [p for p in xero.item_prices(session=session, since=None) if p.code == "SKU-MUG-01"]
    assert mug.amount == Decimal("15.495")


def test_xero_rounds_a_four_decimal_price_written_without_unitdp() -> None:
    """The trap the docs warn about, as the emulator reproduces it."""
    _clock, session, _sent = connected()
    change(session, "SKU-MUG-01", "15.4950", unitdp=False)
    (mug,) = [p for p in xero.item_prices(session=session, since=None) if p.code == "SKU-MUG-01"]
    assert mug.amount == Decimal("15.50")


def test_xero_timestamps_are_read_in_both_shapes_and_nonsense_is_named() -> None:
    assert parse_xero_timestamp("/Date(1793512800000+0000)/", item="X") == dt.datetime(
        2026, 11, 1, 6, tzinfo=dt.UTC
    )
    assert parse_xero_timestamp("2026-11-01T06:00:00", item="X") == START
    with pytest.raises(TargetError, match="item 'MUG'.*UpdatedDateUTC"):
        parse_xero_timestamp("yesterday", item="MUG")
