"""Sellers API v1: ``getMarketplaceParticipations`` for the generated seller."""

from __future__ import annotations

import httpx

from ml_connector.core.amazon.emulator.orders import country_code
from ml_connector.core.amazon.emulator.truth import Seller
from ml_connector.core.amazon.emulator.wire import json_response

# The store language of the marketplaces whose default is not English; others are en_<country>.
_LANGUAGES = {
    "DE": "de_DE",
    "FR": "fr_FR",
    "IT": "it_IT",
    "ES": "es_ES",
    "MX": "es_MX",
    "BR": "pt_BR",
    "NL": "nl_NL",
    "BE": "fr_BE",
    "SE": "sv_SE",
    "PL": "pl_PL",
    "TR": "tr_TR",
    "JP": "ja_JP",
    "SA": "ar_AE",
    "EG": "ar_AE",
}


def marketplace_participations(seller: Seller) -> httpx.Response:
    payload = [
        {
            "marketplace": {
                "id": market.marketplace_id,
                "name": market.site,
                "countryCode": country_code(market.code),
                "defaultCurrencyCode": market.currency,
                "defaultLanguageCode": _LANGUAGES.get(
                    market.code, f"en_{country_code(market.code)}"
                ),
                "domainName": f"www.{market.site.lower()}",
            },
            "storeName": seller.store_name,
            "participation": {"isParticipating": True, "hasSuspendedListings": False},
        }
        for market in seller.marketplaces
    ]
    return json_response(200, {"payload": payload})
