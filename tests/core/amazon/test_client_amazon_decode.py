"""Money through the client stays exact: JSON numbers become Decimal, Decimals go out exactly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from spapi_contract import build_client, json_response

from ml_connector.core.amazon import decode
from ml_connector.core.emulation.clock import FakeClock
from ml_connector.core.errors import InputError
from ml_connector.ledger.errors import MoneyError

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**15), max_value=10**15))
def test_any_currency_amount_survives_exactly(amount: Decimal) -> None:
    wire = (
        b'{"payload":{"FinancialEventGroupList":[{"OriginalTotal":{"CurrencyCode":"USD","CurrencyAmount":'
        + str(amount).encode()
        + b"}}]}}"
    )
    handler = lambda request: httpx.Response(200, content=wire)  # noqa: E731
    client, _, _ = build_client(handler, FakeClock(NOW))
    (group,) = client.list_financial_event_groups(NOW - dt.timedelta(days=3))
    got = group["OriginalTotal"]["CurrencyAmount"]
    assert type(got) is Decimal
    assert got == amount and str(got) == str(amount)  # same value, same exponent


def test_integer_amounts_become_decimal_only_where_money() -> None:
    body = decode.loads(
        b'{"QuantityShipped":2,"ChargeAmount":{"CurrencyCode":"JPY","CurrencyAmount":1500},'
        b'"v":{"currencyCode":"EUR","currencyAmount":-3}}'
    )
    assert body["QuantityShipped"] == 2 and type(body["QuantityShipped"]) is int
    assert body["ChargeAmount"]["CurrencyAmount"] == Decimal("1500")
    assert type(body["ChargeAmount"]["CurrencyAmount"]) is Decimal
    assert type(body["v"]["currencyAmount"]) is Decimal


def test_string_amounts_are_left_as_written() -> None:
    body = decode.loads(b'{"grandTotal":{"amount":"19.90","currencyCode":"USD"},"x":0.1}')
    assert body["grandTotal"]["amount"] == "19.90"
    assert body["x"] == Decimal("0.1")


def test_nan_is_refused() -> None:
    with pytest.raises(ValueError):
        decode.loads(b'{"CurrencyAmount": NaN}')


def test_floats_are_refused_on_the_way_out() -> None:
    with pytest.raises(TypeError):
        decode.dumps({"value_with_tax": 0.1})


@given(
    st.decimals(
        allow_nan=False,
        allow_infinity=False,
        min_value=Decimal("0.01"),
        max_value=Decimal("99999999.99"),
        places=2,
    )
)
def test_listing_price_goes_out_as_the_exact_number(price: Decimal) -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(
            200, {"sku": "S", "status": "ACCEPTED", "submissionId": "x", "issues": []}
        )

    client, _, _ = build_client(handle, FakeClock(NOW))
    client.patch_listing_price("SELLER", "S/1 x", "ATVPDKIKX0DER", price, "USD")
    (request,) = seen
    assert request.url.raw_path.startswith(b"/listings/2021-08-01/items/SELLER/S%2F1%20x?")
    assert f'"value_with_tax":{price}}}'.encode() in request.content
    body = decode.loads(request.content)
    offer = body["patches"][0]["value"][0]
    assert offer == {
        "marketplace_id": "ATVPDKIKX0DER",
        "currency": "USD",
        "our_price": [{"schedule": [{"value_with_tax": price}]}],
    }
    assert body["patches"][0]["op"] == "replace"
    assert body["patches"][0]["path"] == "/attributes/purchasable_offer"


@pytest.mark.parametrize(
    ("amount", "currency", "error"),
    [
        (Decimal("1.234"), "USD", MoneyError),
        (Decimal("0"), "USD", InputError),
        (Decimal("-5.00"), "USD", InputError),
        (Decimal("5.00"), "EUR", InputError),
    ],
)
def test_bad_prices_are_refused_before_sending(amount: Decimal, currency: str, error: type) -> None:
    client, wire, _ = build_client(lambda r: httpx.Response(500), FakeClock(NOW))
    with pytest.raises(error):
        client.patch_listing_price("SELLER", "SKU", "ATVPDKIKX0DER", amount, currency)
    assert wire.calls == []
