"""Amazon's public marketplaces as plain data: code, id, site name, currency, region, formats.

One table, used everywhere a marketplace is named: the SP-API client (ids, regions), the
settlement parser (how a marketplace writes numbers and dates) and the posting rules (which
clearing account a line belongs to). Ids and regions are from Amazon's marketplace-ids page
(see ``shared/reference/amazon/FACTS.md`` §2-3).
"""

from __future__ import annotations

from dataclasses import dataclass

from ml_connector.ledger.errors import InputError


@dataclass(frozen=True, slots=True)
class Marketplace:
    code: str  # Amazon's country code for the marketplace ("UK", not "GB")
    marketplace_id: str
    site: str  # marketplace-name as settlement reports write it
    currency: str
    region: str  # NA, EU or FE: which SP-API endpoint serves it
    decimal_comma: bool  # settlement amounts written as 95,00
    day_first: bool  # numeric dates written day before month


MARKETPLACES: tuple[Marketplace, ...] = (
    Marketplace("US", "ATVPDKIKX0DER", "Amazon.com", "USD", "NA", False, False),
    Marketplace("CA", "A2EUQ1WTGCTBG2", "Amazon.ca", "CAD", "NA", False, False),
    Marketplace("MX", "A1AM78C64UM0Y8", "Amazon.com.mx", "MXN", "NA", False, True),
    Marketplace("BR", "A2Q3Y263D00KWC", "Amazon.com.br", "BRL", "NA", True, True),
    Marketplace("UK", "A1F83G8C2ARO7P", "Amazon.co.uk", "GBP", "EU", False, True),
    Marketplace("DE", "A1PA6795UKMFR9", "Amazon.de", "EUR", "EU", True, True),
    Marketplace("FR", "A13V1IB3VIYZZH", "Amazon.fr", "EUR", "EU", True, True),
    Marketplace("IT", "APJ6JRA9NG5V4", "Amazon.it", "EUR", "EU", True, True),
    Marketplace("ES", "A1RKKUPIHCS9HS", "Amazon.es", "EUR", "EU", True, True),
    Marketplace("NL", "A1805IZSGTT6HS", "Amazon.nl", "EUR", "EU", True, True),
    Marketplace("BE", "AMEN7PMS3EDWL", "Amazon.com.be", "EUR", "EU", True, True),
    Marketplace("IE", "A28R8C7NBKEWEA", "Amazon.ie", "EUR", "EU", False, True),
    Marketplace("SE", "A2NODRKZP88ZB9", "Amazon.se", "SEK", "EU", True, False),
    Marketplace("PL", "A1C3SOZRARQ6R3", "Amazon.pl", "PLN", "EU", True, True),
    Marketplace("TR", "A33AVAJ2PDY3EV", "Amazon.com.tr", "TRY", "EU", True, True),
    Marketplace("EG", "ARBP9OOSHTCHU", "Amazon.eg", "EGP", "EU", False, True),
    Marketplace("AE", "A2VIGQ35RCS4UG", "Amazon.ae", "AED", "EU", False, True),
    Marketplace("SA", "A17E79C6D8DWNP", "Amazon.sa", "SAR", "EU", False, True),
    Marketplace("IN", "A21TJRUUN4KGV", "Amazon.in", "INR", "EU", False, True),
    Marketplace("ZA", "AE08WJ6YKNBMC", "Amazon.co.za", "ZAR", "EU", False, False),
    Marketplace("SG", "A19VAU5U5O7RUS", "Amazon.sg", "SGD", "FE", False, True),
    Marketplace("AU", "A39IBJ37TRP1C6", "Amazon.com.au", "AUD", "FE", False, True),
    Marketplace("JP", "A1VC38T7YXB528", "Amazon.co.jp", "JPY", "FE", False, False),
)

_BY_CODE = {m.code: m for m in MARKETPLACES}
_BY_ID = {m.marketplace_id: m for m in MARKETPLACES}
_BY_SITE = {m.site.lower(): m for m in MARKETPLACES}
_BY_SITE["amazon.co.uk".lower()] = _BY_CODE["UK"]
_BY_SITE["amazon.gb"] = _BY_CODE["UK"]
_BY_SITE["non-amazon"] = _BY_CODE["US"]  # multi-channel fulfilment orders settle in the home site


def by_code(code: str) -> Marketplace:
    """The marketplace for a country code; ``GB`` is accepted for ``UK``."""
    found = _BY_CODE.get("UK" if code == "GB" else code)
    if found is None:
        raise InputError("unknown marketplace code", field="marketplace", value=code)
    return found


def by_id(marketplace_id: str) -> Marketplace:
    found = _BY_ID.get(marketplace_id)
    if found is None:
        raise InputError("unknown marketplace id", field="marketplace_id", value=marketplace_id)
    return found


def by_site(site: str) -> Marketplace | None:
    """The marketplace a settlement row's ``marketplace-name`` names, or None when blank/unknown.

    Unknown names return None rather than raising: settlement rows for non-order activity
    (fees, reserves) leave the column blank, and the caller decides what that means.
    """
    return _BY_SITE.get(site.strip().lower()) if site else None
