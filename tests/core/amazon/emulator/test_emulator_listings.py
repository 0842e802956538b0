"""Listings Items 2021-08-01: read a listing, patch its price, refuse bad prices and bodies."""

from __future__ import annotations

from decimal import Decimal

import pytest
from emulator_session import Session, body, error_codes

from ml_connector.core.amazon.emulator import AmazonEmulator

US = "ATVPDKIKX0DER"
JP = "A1VC38T7YXB528"


def item_path(emulator: AmazonEmulator, sku: str, seller_id: str | None = None) -> str:
    return f"/listings/2021-08-01/items/{seller_id or emulator.seller.seller_id}/{sku}"


def price_patch(marketplace_id: str, value: object, currency: str = "USD") -> dict:
    return {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/purchasable_offer",
                "value": [
                    {
                        "marketplace_id": marketplace_id,
                        "currency": currency,
                        "our_price": [{"schedule": [{"value_with_tax": value}]}],
                    }
                ],
            }
        ],
    }


@pytest.fixture
def sku(emulator: AmazonEmulator) -> str:
    return emulator.seller.catalog[0].sku


def offer_price(session: Session, emulator: AmazonEmulator, sku: str, market: str) -> str:
    response = session.get(
        item_path(emulator, sku), params={"marketplaceIds": market, "includedData": "offers"}
    )
    assert response.status_code == 200
    return body(response)["offers"][0]["price"]["amount"]


def test_get_listing_defaults_to_summaries(
    session: Session, emulator: AmazonEmulator, sku: str
) -> None:
    response = session.get(item_path(emulator, sku), params={"marketplaceIds": US})
    item = body(response)
    assert item["sku"] == sku
    assert item["summaries"][0]["marketplaceId"] == US
    assert "offers" not in item and "attributes" not in item


def test_a_patched_price_is_kept(session: Session, emulator: AmazonEmulator, sku: str) -> None:
    response = session.send_json(
        "PATCH",
        item_path(emulator, sku),
        price_patch(US, Decimal("24.50")),
        params={"marketplaceIds": US},
    )
    assert response.status_code == 200
    assert body(response)["status"] == "ACCEPTED"
    assert body(response)["issues"] == []
    assert offer_price(session, emulator, sku, US) == "24.50"
    attributes = body(
        session.get(
            item_path(emulator, sku), params={"marketplaceIds": US, "includedData": "attributes"}
        )
    )["attributes"]
    schedule = attributes["purchasable_offer"][0]["our_price"][0]["schedule"][0]
    assert schedule["value_with_tax"] == Decimal("24.50")


@pytest.mark.parametrize("price", [Decimal("0"), Decimal("-3.00"), Decimal("1.005"), "abc"])
def test_a_bad_price_is_refused_with_issues_and_changes_nothing(
    session: Session, emulator: AmazonEmulator, sku: str, price: object
) -> None:
    before = offer_price(session, emulator, sku, US)
    response = session.send_json(
        "PATCH", item_path(emulator, sku), price_patch(US, price), params={"marketplaceIds": US}
    )
    assert response.status_code == 200
    result = body(response)
    assert result["status"] == "INVALID"
    assert result["issues"][0]["severity"] == "ERROR"
    assert result["issues"][0]["categories"] == ["INVALID_PRICE"]
    assert result["issues"][0]["attributeNames"] == ["purchasable_offer"]
    assert offer_price(session, emulator, sku, US) == before


def test_yen_prices_have_no_decimals(session: Session, emulator: AmazonEmulator, sku: str) -> None:
    fractional = price_patch(JP, Decimal("1999.5"), "JPY")
    response = session.send_json(
        "PATCH", item_path(emulator, sku), fractional, params={"marketplaceIds": JP}
    )
    assert body(response)["status"] == "INVALID"
    whole = price_patch(JP, 1999, "JPY")
    response = session.send_json(
        "PATCH", item_path(emulator, sku), whole, params={"marketplaceIds": JP}
    )
    assert body(response)["status"] == "ACCEPTED"
    assert offer_price(session, emulator, sku, JP) == "1999"


def test_validation_preview_changes_nothing(
    session: Session, emulator: AmazonEmulator, sku: str
) -> None:
    before = offer_price(session, emulator, sku, US)
    response = session.send_json(
        "PATCH",
        item_path(emulator, sku),
        price_patch(US, Decimal("99.99")),
        params={
            "marketplaceIds": US,
            "mode": "VALIDATION_PREVIEW",
            "includedData": "identifiers,issues",
        },
    )
    assert body(response)["status"] == "VALID"
    assert body(response)["identifiers"][0]["marketplaceId"] == US
    assert offer_price(session, emulator, sku, US) == before


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"patches": [{"op": "replace", "path": "/attributes/item_name", "value": [{}]}]},
        {"productType": "PRODUCT", "patches": []},
        {
            "productType": "PRODUCT",
            "patches": [{"op": "move", "path": "/attributes/x", "value": []}],
        },
        {
            "productType": "PRODUCT",
            "patches": [{"op": "replace", "path": "/summaries", "value": []}],
        },
        {
            "productType": "PRODUCT",
            "patches": [{"op": "replace", "path": "/attributes/a/b", "value": []}],
        },
        {
            "productType": "PRODUCT",
            "patches": [{"op": "replace", "path": "/attributes/a", "value": {}}],
        },
    ],
)
def test_a_malformed_patch_body_is_a_400(
    session: Session, emulator: AmazonEmulator, sku: str, payload: object
) -> None:
    response = session.send_json(
        "PATCH", item_path(emulator, sku), payload, params={"marketplaceIds": US}
    )
    assert response.status_code == 400
    assert error_codes(response) == ["BAD_REQUEST"]


def test_other_attributes_and_deleting_the_offer(
    session: Session, emulator: AmazonEmulator, sku: str
) -> None:
    patch = {
        "productType": "PRODUCT",
        "patches": [
            {"op": "replace", "path": "/attributes/item_name", "value": [{"value": "Kettle"}]},
            {"op": "delete", "path": "/attributes/purchasable_offer"},
        ],
    }
    response = session.send_json(
        "PATCH", item_path(emulator, sku), patch, params={"marketplaceIds": US}
    )
    assert body(response)["status"] == "ACCEPTED"
    item = body(
        session.get(
            item_path(emulator, sku),
            params={"marketplaceIds": US, "includedData": "attributes,offers,summaries"},
        )
    )
    assert item["attributes"]["item_name"] == [{"value": "Kettle"}]
    assert "purchasable_offer" not in item["attributes"]
    assert item["offers"] == []
    assert item["summaries"][0]["status"] == []


def test_requests_for_another_seller_or_unknown_skus(
    session: Session, emulator: AmazonEmulator, sku: str
) -> None:
    other = session.get(item_path(emulator, sku, "AOTHERSELLER"), params={"marketplaceIds": US})
    assert other.status_code == 403
    missing = session.get(item_path(emulator, "NO-SUCH-SKU"), params={"marketplaceIds": US})
    assert missing.status_code == 404
    assert session.get(item_path(emulator, sku)).status_code == 400


def test_marketplace_participations_list_the_sellers_marketplaces(
    session: Session, emulator: AmazonEmulator
) -> None:
    payload = body(session.get("/sellers/v1/marketplaceParticipations"))["payload"]
    assert [p["marketplace"]["id"] for p in payload] == emulator.marketplace_ids
    uk = next(p["marketplace"] for p in payload if p["marketplace"]["defaultCurrencyCode"] == "GBP")
    assert uk["countryCode"] == "GB" and uk["domainName"] == "www.amazon.co.uk"
