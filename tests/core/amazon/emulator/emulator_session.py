"""Helpers of the SP-API emulator tests: a plain-httpx session and the models' schemas.

The session talks to the emulator exactly as any HTTP client would (no SP-API client code), and
checks every SP-API response against the operation's response schema in Amazon's models.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema

from ml_connector.core import jsoncodec
from ml_connector.core.amazon.emulator import ROUTES, AmazonEmulator
from ml_connector.core.emulation import FakeClock
from ml_connector.ledger.settlement import SettlementLine

START = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)
SP_API = "https://sellingpartnerapi-na.amazon.com"
LWA_URL = "https://api.amazon.com/auth/o2/token"
MODELS_DIR = Path("/work/shared/reference/amazon/models")
MODEL_FILES = {
    "/orders/": "orders-api-model/orders_2026-01-01.json",
    "/finances/": "finances-api-model/financesV0.json",
    "/reports/": "reports-api-model/reports_2021-06-30.json",
    "/listings/": "listings-items-api-model/listingsItems_2021-08-01.json",
    "/sellers/": "sellers-api-model/sellers.json",
}


@cache
def model_for(template: str) -> dict[str, Any]:
    """The Swagger model that declares ``template``."""
    for prefix, name in MODEL_FILES.items():
        if template.startswith(prefix):
            return json.loads((MODELS_DIR / name).read_text())
    raise KeyError(template)


def route_of(method: str, path: str) -> str:
    """The model path template an emulator request path belongs to."""
    for route in ROUTES:
        if route.method == method and route.pattern.match(path):
            return route.template
    raise KeyError(f"{method} {path}")


def check_against_model(response: httpx.Response) -> None:
    """Assert that an SP-API response is declared by the model and matches its schema."""
    request = response.request
    template = route_of(request.method, request.url.path)
    model = model_for(template)
    declared = model["paths"][template][request.method.lower()]["responses"]
    status = str(response.status_code)
    assert status in declared, f"{request.method} {template} does not declare HTTP {status}"
    schema = declared[status].get("schema")
    if schema is None:
        assert response.content == b"", "a response without a schema has no body"
        return
    body = jsoncodec.loads(response.content)
    validator = jsonschema.Draft4Validator({**schema, "definitions": model["definitions"]})
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{template} HTTP {status}: {errors[0].message} at {list(errors[0].path)}"
    headers = {name.lower() for name in declared[status].get("headers", {})}
    assert "x-amzn-requestid" in headers and response.headers.get("x-amzn-RequestId")
    # Sent on 20x, 400 and 404 where the model declares it; never on throttled or denied calls
    # (the usage-plans guide), even where a model lists it for every status.
    rate_sent = "x-amzn-RateLimit-Limit" in response.headers
    if rate_sent:
        assert "x-amzn-ratelimit-limit" in headers, f"{template} HTTP {status}: undeclared header"
    if response.status_code in (200, 202, 400, 404) and "x-amzn-ratelimit-limit" in headers:
        assert rate_sent, f"{template} HTTP {status}: x-amzn-RateLimit-Limit missing"
    if response.status_code in (403, 429) or response.status_code >= 500:
        assert not rate_sent, f"{template} HTTP {status}: rate header on a refused call"


class Session:
    """A plain httpx client for the emulator that holds an LWA token and checks every answer.

    ``tick`` seconds pass on the fake clock before each call, so token buckets refill the way
    they would between real requests.
    """

    def __init__(self, emulator: AmazonEmulator, clock: FakeClock, *, tick: float = 0.0) -> None:
        self.emulator = emulator
        self.clock = clock
        self.tick = tick
        self.http = httpx.Client(transport=httpx.MockTransport(emulator.handle), base_url=SP_API)
        self.access_token = ""
        self.checked: list[tuple[str, str, int]] = []

    def login(self) -> str:
        credentials = self.emulator.credentials
        response = self.http.post(
            LWA_URL,
            data={
                "grant_type": "refresh_token",
                "refresh_token": credentials.refresh_token,
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
            },
        )
        assert response.status_code == 200, response.text
        self.access_token = response.json()["access_token"]
        return self.access_token

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if not self.access_token:
            self.login()
        self.clock.advance(self.tick)
        headers = {"x-amz-access-token": self.access_token, **kwargs.pop("headers", {})}
        response = self.http.request(method, path, headers=headers, **kwargs)
        check_against_model(response)
        self.checked.append(
            (method, route_of(method, response.request.url.path), response.status_code)
        )
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("DELETE", path, **kwargs)

    def send_json(self, method: str, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        """Send ``body`` as JSON written by the project codec (Decimal stays exact)."""
        headers = {"content-type": "application/json", **kwargs.pop("headers", {})}
        return self.call(method, path, content=jsoncodec.dumps(body), headers=headers, **kwargs)


def body(response: httpx.Response) -> Any:
    """The JSON body with every fractional number as Decimal."""
    return jsoncodec.loads(response.content)


def error_codes(response: httpx.Response) -> list[str]:
    return [e["code"] for e in body(response)["errors"]]


def event_amounts(list_name: str, event: dict) -> list[tuple[str, str, str, Decimal]]:
    """(order id, amount-type, description, amount) of every amount in one Finances event."""
    if list_name in ("ShipmentEventList", "RefundEventList"):
        suffix = "AdjustmentList" if list_name == "RefundEventList" else "List"
        items = event["ShipmentItemAdjustmentList" if suffix != "List" else "ShipmentItemList"]
        found = []
        for item in items:
            for charge in item.get(f"ItemCharge{suffix}", []):
                found.append(("ItemPrice", charge["ChargeType"], charge["ChargeAmount"]))
            for fee in item.get(f"ItemFee{suffix}", []):
                found.append(("ItemFees", fee["FeeType"], fee["FeeAmount"]))
            for promotion in item.get(f"Promotion{suffix}", []):
                found.append(("Promotion", "Principal", promotion["PromotionAmount"]))
            for withheld in item.get("ItemTaxWithheldList", []):
                for tax in withheld["TaxesWithheld"]:
                    found.append(("ItemWithheldTax", tax["ChargeType"], tax["ChargeAmount"]))
        return [
            (event["AmazonOrderId"], kind, name, money["CurrencyAmount"])
            for kind, name, money in found
        ]
    if list_name == "ServiceFeeEventList":
        return [
            ("", "fee", f["FeeType"], f["FeeAmount"]["CurrencyAmount"]) for f in event["FeeList"]
        ]
    if list_name == "ProductAdsPaymentEventList":
        return [("", "ads", "", event["transactionValue"]["CurrencyAmount"])]
    if list_name == "AdjustmentEventList":
        return [("", "adjustment", "", event["AdjustmentAmount"]["CurrencyAmount"])]
    raise AssertionError(list_name)


def described(lines: list[SettlementLine], description: str) -> Decimal:
    return sum((x.amount for x in lines if x.amount_description == description), Decimal(0))
