"""Listings Items 2021-08-01: read a listing, and patch its price so a target can push it back.

The emulator keeps one :class:`Listing` per (SKU, marketplace), seeded from the catalog. A patch
body must have the model's ``ListingsItemPatchRequest`` shape (``productType`` and a non-empty
``patches`` list of ``{op, path, value}``, top-level ``/attributes/<name>`` paths only); a
malformed body is a 400. The price lives in the ``purchasable_offer`` attribute as
``[{marketplace_id, currency, our_price: [{schedule: [{value_with_tax}]}]}]``; a price that is not
a positive amount of the marketplace's currency is refused the way Amazon refuses listings: a 200
with ``status: INVALID`` and an ``issues`` list, the listing unchanged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from ml_connector.core import jsoncodec
from ml_connector.core.amazon.emulator.truth import CatalogItem, Seller
from ml_connector.core.amazon.emulator.wire import ApiError, Query, iso, json_response
from ml_connector.core.emulation.clock import Clock, utcnow
from ml_connector.ledger.marketplaces import Marketplace
from ml_connector.ledger.money import is_exact

PATCH_OPS = frozenset({"add", "replace", "merge", "delete"})
GET_INCLUDED = frozenset(
    {
        "summaries",
        "attributes",
        "issues",
        "offers",
        "fulfillmentAvailability",
        "procurement",
        "relationships",
        "productTypes",
    }
)
PATCH_INCLUDED = frozenset({"identifiers", "issues"})
PRICE_ATTRIBUTE = "purchasable_offer"
INVALID_ATTRIBUTE_CODE = "90000900"  # "The attributes are invalid." in the model's example


@dataclass
class Listing:
    """One SKU's offer in one marketplace; ``price`` is None once the offer was deleted."""

    product: CatalogItem
    marketplace: Marketplace
    price: Decimal | None
    created: dt.datetime
    updated: dt.datetime
    attributes: dict[str, Any] = field(default_factory=dict)


def _bad_request(message: str) -> ApiError:
    return ApiError(400, "BAD_REQUEST", message)


class ListingsApi:
    def __init__(self, seller: Seller, clock: Clock) -> None:
        self._seller = seller
        self._clock = clock
        self._lock = threading.Lock()
        self._submissions = 0
        listed = seller.generated_until - dt.timedelta(days=400)
        self.listings: dict[tuple[str, str], Listing] = {
            (product.sku, market.marketplace_id): Listing(
                product, market, product.price_in(market.code), listed, listed
            )
            for product in seller.catalog
            for market in seller.marketplaces
        }

    def listing_rows(self, marketplace_id: str) -> list[tuple[str, ...]]:
        """Rows of the All Listings report for one marketplace, from the current state."""
        with self._lock:
            listings = [
                listing
                for (_, market_id), listing in sorted(self.listings.items())
                if market_id == marketplace_id
            ]
        return [
            (
                listing.product.title,
                listing.product.sku,
                "" if listing.price is None else str(listing.price),
                listing.product.asin,
                "AMAZON_NA" if listing.product.fulfilled_by == "AMAZON" else "DEFAULT",
                "Active" if listing.price is not None else "Inactive",
            )
            for listing in listings
        ]

    # -- getListingsItem -------------------------------------------------------------------------

    def get_item(
        self, request: httpx.Request, caller: str, seller_id: str, sku: str
    ) -> httpx.Response:
        query = Query(request)
        marketplace_ids = self._marketplaces(query, caller, seller_id)
        included = query.enum_items("includedData", GET_INCLUDED) or ["summaries"]
        with self._lock:
            found = [self.listings.get((sku, m)) for m in marketplace_ids]
            listings = [listing for listing in found if listing is not None]
            if not listings:
                raise ApiError(
                    404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace {marketplace_ids[0]}"
                )
            item = self._render(sku, listings, set(included))
        return json_response(200, item)

    def _render(self, sku: str, listings: list[Listing], included: set[str]) -> dict[str, Any]:
        item: dict[str, Any] = {"sku": sku}
        if "summaries" in included:
            item["summaries"] = [
                {
                    "marketplaceId": listing.marketplace.marketplace_id,
                    "asin": listing.product.asin,
                    "productType": listing.product.product_type,
                    "conditionType": "new_new",
                    "status": ["BUYABLE", "DISCOVERABLE"] if listing.price is not None else [],
                    "itemName": listing.product.title,
                    "createdDate": iso(listing.created),
                    "lastUpdatedDate": iso(listing.updated),
                }
                for listing in listings
            ]
        if "attributes" in included:
            attributes: dict[str, Any] = {}
            for listing in listings:
                for name, values in listing.attributes.items():
                    attributes.setdefault(name, []).extend(values)
                if listing.price is not None:
                    attributes.setdefault(PRICE_ATTRIBUTE, []).append(_offer_attribute(listing))
            item["attributes"] = attributes
        if "offers" in included:
            item["offers"] = [
                {
                    "marketplaceId": listing.marketplace.marketplace_id,
                    "offerType": "B2C",
                    "price": {
                        "currencyCode": listing.marketplace.currency,
                        "amount": str(listing.price),
                    },
                    "audience": {"value": "ALL", "displayName": "Sell on Amazon"},
                }
                for listing in listings
                if listing.price is not None
            ]
        if "issues" in included:
            item["issues"] = []
        if "fulfillmentAvailability" in included:
            item["fulfillmentAvailability"] = [
                {
                    "fulfillmentChannelCode": (
                        "AMAZON_NA" if listings[0].product.fulfilled_by == "AMAZON" else "DEFAULT"
                    ),
                    "quantity": 25,
                }
            ]
        return item

    def _marketplaces(self, query: Query, caller: str, seller_id: str) -> list[str]:
        if seller_id != caller:
            raise ApiError(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                "The sellerId does not match the selling partner of the access token.",
            )
        marketplace_ids = query.items("marketplaceIds")
        if not marketplace_ids:
            raise _bad_request("Missing required parameter: marketplaceIds.")
        known = {m.marketplace_id for m in self._seller.marketplaces}
        unknown = [m for m in marketplace_ids if m not in known]
        if unknown:
            raise _bad_request(f"Invalid marketplaceIds: {', '.join(unknown)}.")
        return marketplace_ids

    # -- patchListingsItem -----------------------------------------------------------------------

    def patch_item(
        self, request: httpx.Request, caller: str, seller_id: str, sku: str
    ) -> httpx.Response:
        query = Query(request)
        marketplace_ids = self._marketplaces(query, caller, seller_id)
        included = query.enum_items("includedData", PATCH_INCLUDED) or ["issues"]
        mode = query.text("mode")
        if mode not in (None, "VALIDATION_PREVIEW"):
            raise _bad_request(f"Invalid mode: {mode}.")
        patches = _patches(request)
        with self._lock:
            listings = [self.listings.get((sku, m)) for m in marketplace_ids]
            if any(listing is None for listing in listings):
                raise _bad_request(f"SKU '{sku}' is not listed in every requested marketplace.")
            by_marketplace = {
                m: listing
                for m, listing in zip(marketplace_ids, listings, strict=True)
                if listing is not None
            }
            changes, issues = _plan(patches, by_marketplace)
            self._submissions += 1
            submission_id = _submission_id(self._seller.seller_id, sku, self._submissions)
            if issues:
                status = "INVALID"
            elif mode == "VALIDATION_PREVIEW":
                status = "VALID"
            else:
                status = "ACCEPTED"
                now = utcnow(self._clock)
                for change in changes:
                    change(now)
        body: dict[str, Any] = {"sku": sku, "status": status, "submissionId": submission_id}
        if "issues" in included:
            body["issues"] = issues
        if "identifiers" in included and mode == "VALIDATION_PREVIEW":
            body["identifiers"] = [
                {"marketplaceId": m, "asin": listing.product.asin}
                for m, listing in zip(marketplace_ids, listings, strict=True)
                if listing is not None
            ]
        return json_response(200, body)


def _offer_attribute(listing: Listing) -> dict[str, Any]:
    return {
        "marketplace_id": listing.marketplace.marketplace_id,
        "currency": listing.marketplace.currency,
        "our_price": [{"schedule": [{"value_with_tax": listing.price}]}],
    }


def _submission_id(seller_id: str, sku: str, number: int) -> str:
    digest = hashlib.sha256(f"{seller_id}:{sku}:{number}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _patches(request: httpx.Request) -> list[dict[str, Any]]:
    """The body's patch list, checked against ``ListingsItemPatchRequest``."""
    if not request.headers.get("content-type", "").lower().startswith("application/json"):
        raise ApiError(
            415, "UNSUPPORTED_MEDIA_TYPE", "The request payload is in an unsupported format."
        )
    try:
        body = jsoncodec.loads(request.content)
    except ValueError:
        raise _bad_request("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise _bad_request("The request body must be a JSON object.")
    if not isinstance(body.get("productType"), str) or not body["productType"]:
        raise _bad_request("productType is required and must be a string.")
    patches = body.get("patches")
    if not isinstance(patches, list) or not patches:
        raise _bad_request("patches is required and must be a non-empty array.")
    for n, patch in enumerate(patches):
        where = f"patches[{n}]"
        if not isinstance(patch, dict):
            raise _bad_request(f"{where} must be an object.")
        if patch.get("op") not in PATCH_OPS:
            raise _bad_request(f"{where}.op must be one of add, replace, merge, delete.")
        path = patch.get("path")
        if not isinstance(path, str) or not path.startswith("/attributes/"):
            raise _bad_request(f"{where}.path must be a JSON pointer under /attributes/.")
        if "/" in path[len("/attributes/") :] or path == "/attributes/":
            raise _bad_request(f"{where}.path: only top-level attributes can be patched.")
        value = patch.get("value")
        needs_value = patch["op"] != "delete" or value is not None
        if needs_value and (
            not isinstance(value, list) or not all(isinstance(v, dict) for v in value)
        ):
            raise _bad_request(f"{where}.value must be an array of objects.")
    return patches


Change = Callable[[dt.datetime], None]  # applies one accepted patch at the given time


def _plan(
    patches: list[dict[str, Any]], listings: dict[str, Listing]
) -> tuple[list[Change], list[dict[str, Any]]]:
    """The changes a patch list makes, or the issues that refuse it; nothing is applied here."""
    changes: list[Change] = []
    issues: list[dict[str, Any]] = []
    for patch in patches:
        name = patch["path"][len("/attributes/") :]
        value = patch.get("value") or []
        if name != PRICE_ATTRIBUTE:
            for listing in listings.values():
                changes.append(_attribute_change(listing, name, patch["op"], value))
            continue
        if patch["op"] == "delete":
            for listing in listings.values():
                changes.append(_price_change(listing, None))
            continue
        for offer in value:
            marketplace_id = offer.get("marketplace_id")
            target = listings.get(marketplace_id) if isinstance(marketplace_id, str) else None
            if target is None:
                issues.append(
                    _issue(f"marketplace_id {marketplace_id!r} is not in marketplaceIds.")
                )
                continue
            price, problem = _offer_price(offer, target.marketplace.currency)
            if problem:
                issues.append(_issue(problem, [marketplace_id]))
            else:
                changes.append(_price_change(target, price))
    return changes, issues


def _offer_price(offer: dict[str, Any], currency: str) -> tuple[Decimal | None, str]:
    """The ``value_with_tax`` of one purchasable offer, or the reason it is refused."""
    stated = offer.get("currency", currency)
    if stated != currency:
        return None, f"currency {stated!r} is not the marketplace currency {currency}."
    try:
        raw = offer["our_price"][0]["schedule"][0]["value_with_tax"]
    except (KeyError, IndexError, TypeError):
        return None, "purchasable_offer needs our_price[0].schedule[0].value_with_tax."
    if isinstance(raw, bool) or not isinstance(raw, Decimal | int | str):
        return None, f"value_with_tax {raw!r} is not a number."
    try:
        price = Decimal(raw)
    except InvalidOperation:
        return None, f"value_with_tax {raw!r} is not a number."
    if not price.is_finite() or price <= 0:
        return None, f"value_with_tax must be greater than 0, got {raw}."
    if not is_exact(price, currency):
        return None, f"value_with_tax {raw} has more decimals than {currency} allows."
    return price, ""


def _issue(message: str, marketplace_ids: list[str] | None = None) -> dict[str, Any]:
    issue: dict[str, Any] = {
        "code": INVALID_ATTRIBUTE_CODE,
        "message": message,
        "severity": "ERROR",
        "attributeNames": [PRICE_ATTRIBUTE],
        "categories": ["INVALID_PRICE"],
    }
    if marketplace_ids:
        issue["marketplaceIds"] = marketplace_ids
    return issue


def _price_change(listing: Listing, price: Decimal | None) -> Change:
    def apply(now: dt.datetime) -> None:
        listing.price = price
        listing.updated = now

    return apply


def _attribute_change(listing: Listing, name: str, op: str, value: list[Any]) -> Change:
    def apply(now: dt.datetime) -> None:
        if op == "delete":
            listing.attributes.pop(name, None)
        elif op == "merge" and name in listing.attributes:
            listing.attributes[name] = [*listing.attributes[name], *value]
        else:
            listing.attributes[name] = list(value)
        listing.updated = now

    return apply
