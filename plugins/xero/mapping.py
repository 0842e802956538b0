"""Suggest a flow's mapping from the organisation's own chart of accounts, contacts and tracking.

"Map Amazon fee types to my chart of accounts" is the first thing a user does. This module reads
``GET /Accounts``, ``GET /Contacts`` and ``GET /TrackingCategories`` and proposes, by names and
account types only, a Xero account for each canonical account, a contact per marketplace and a
tracking option per marketplace. It never invents: a canonical account with no convincing match
is left out, and rendering then reports it as unmapped, for the user to map by hand.

Matching rules (deliberately plain, so a bookkeeper can predict them):

- ``Income:*`` / ``Expenses:*`` / ``Liabilities:*`` / ``Assets:*``: an active account of the same
  class whose name contains every word of the canonical name's last part, or a listed synonym
  (``ReferralFees`` -> "referral", also "selling" or "commission"; "Amazon" and "fees" optional),
  preferring names that mention Amazon, then the lowest code;
- ``Assets:Amazon:Clearing:<MKT>``: an active *bank* account named with "clearing" and the
  marketplace code, site or currency (or the only clearing bank account in that currency);
- ``Assets:Amazon:Receivable``: Xero's Accounts Receivable (system account ``DEBTORS``);
- ``Assets:Bank:AmazonPayouts``: an active bank account named with "Amazon" or "payout" that is
  not a clearing account, else the only bank account that is not a clearing account.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ml_connector.core.targets import TargetMapping
from ml_connector.ledger.accounts import account_type
from ml_connector.ledger.marketplaces import MARKETPLACES, Marketplace
from ml_connector.plugins.xero.client import XeroClient

CLEARING_PREFIX = "Assets:Amazon:Clearing:"
RECEIVABLE = "Assets:Amazon:Receivable"
PAYOUT_BANK = "Assets:Bank:AmazonPayouts"

DEFAULT_ACCOUNTS: tuple[str, ...] = (
    "Income:Amazon:Sales",
    "Income:Amazon:Shipping",
    "Income:Amazon:GiftWrap",
    "Income:Amazon:Promotions",
    "Income:Amazon:Refunds",
    "Income:Amazon:Reimbursements",
    "Expenses:Amazon:ReferralFees",
    "Expenses:Amazon:FBAFees",
    "Expenses:Amazon:StorageFees",
    "Expenses:Amazon:AdvertisingFees",
    "Expenses:Amazon:SubscriptionFees",
    "Expenses:Amazon:OtherFees",
    "Liabilities:SalesTax:MarketplaceFacilitator",
    "Assets:Amazon:Reserve",
    RECEIVABLE,
    PAYOUT_BANK,
)

_CLASS_OF_ROOT = {
    "asset": "ASSET",
    "liability": "LIABILITY",
    "equity": "EQUITY",
    "income": "REVENUE",
    "expense": "EXPENSE",
}
_TYPES_OF_CLASS = {
    "ASSET": {"BANK", "CURRENT", "FIXED", "INVENTORY", "NONCURRENT", "PREPAYMENT"},
    "LIABILITY": {"CURRLIAB", "LIABILITY", "TERMLIAB", "PAYG"},
    "EQUITY": {"EQUITY"},
    "REVENUE": {"REVENUE", "SALES", "OTHERINCOME"},
    "EXPENSE": {"DIRECTCOSTS", "EXPENSE", "OVERHEADS", "DEPRECIATN"},
}
_NOISE_WORDS = {"amazon", "and", "of", "fee"}
# Words Amazon and bookkeepers use for the same thing: a canonical word is found in an account
# name if any of its synonyms is ("referral fees" are what Seller Central calls "selling fees").
_SYNONYMS = {
    "referral": {"referral", "selling", "commission"},
    "promotion": {"promotion", "promotional", "discount"},
    "advertising": {"advertising", "advertisement", "sponsored"},
    "sale": {"sale", "revenue"},
}


def _words(text: str) -> list[str]:
    """``"FBAFees"`` -> ``["fba", "fees"]``; ``"Amazon Referral Fees"`` -> its lowercase words."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    return [w.lower() for w in re.findall(r"[A-Za-z0-9]+", spaced)]


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def _active(accounts: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [a for a in accounts if a.get("Status", "ACTIVE") == "ACTIVE" and a.get("Code")]


def _class_of(account: Mapping[str, Any]) -> str | None:
    if account.get("Class"):
        return str(account["Class"])
    for klass, types in _TYPES_OF_CLASS.items():
        if account.get("Type") in types:
            return klass
    return None


def _name_words(account: Mapping[str, Any]) -> set[str]:
    return {_stem(w) for w in _words(str(account.get("Name", "")))}


def match_by_name(canonical: str, accounts: Sequence[Mapping[str, Any]]) -> str | None:
    """The code of the account whose class fits and whose name holds the canonical words."""
    klass = _CLASS_OF_ROOT[account_type(canonical).value]
    wanted = {_stem(w) for w in _words(canonical.rsplit(":", 1)[-1])} - _NOISE_WORDS
    candidates = []
    for account in _active(accounts):
        if _class_of(account) != klass or account.get("Type") == "BANK":
            continue
        words = _name_words(account)
        if wanted and all(_SYNONYMS.get(w, {w}) & words for w in wanted):
            candidates.append((0 if "amazon" in words else 1, str(account["Code"])))
    return min(candidates)[1] if candidates else None


def _banks(accounts: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [a for a in _active(accounts) if a.get("Type") == "BANK"]


def match_clearing(
    marketplace: Marketplace, accounts: Sequence[Mapping[str, Any]], base_currency: str
) -> str | None:
    clearing = [a for a in _banks(accounts) if "clearing" in _name_words(a)]
    named = [
        a
        for a in clearing
        if {marketplace.code.lower(), marketplace.currency.lower()} & _name_words(a)
        or marketplace.site.lower() in str(a.get("Name", "")).lower()
    ]
    if len(named) == 1:
        return str(named[0]["Code"])
    in_currency = [
        a for a in clearing if (a.get("CurrencyCode") or base_currency) == marketplace.currency
    ]
    return str(in_currency[0]["Code"]) if len(in_currency) == 1 else None


def match_payout_bank(accounts: Sequence[Mapping[str, Any]]) -> str | None:
    """A bank account named for Amazon payouts, else the one bank account that is not clearing."""
    banks = [a for a in _banks(accounts) if "clearing" not in _name_words(a)]
    named = [a for a in banks if {"amazon", "payout"} & _name_words(a)]
    chosen = named or (banks if len(banks) == 1 else [])
    return str(sorted(chosen, key=lambda a: str(a["Code"]))[0]["Code"]) if chosen else None


def match_receivable(accounts: Sequence[Mapping[str, Any]]) -> str | None:
    debtors = [a for a in _active(accounts) if a.get("SystemAccount") == "DEBTORS"]
    return str(debtors[0]["Code"]) if debtors else None


def match_contact(marketplace: Marketplace, contacts: Sequence[Mapping[str, Any]]) -> str | None:
    """A contact named after the marketplace's site ("Amazon.co.uk customer")."""
    site = marketplace.site.lower()
    for contact in contacts:
        name = str(contact.get("Name", ""))
        if contact.get("ContactStatus", "ACTIVE") != "ACTIVE":
            continue
        if re.search(rf"(^|\s){re.escape(site)}(\s|$)", name.lower()):
            return str(contact.get("ContactID") or name)
    return None


def match_tracking(
    categories: Sequence[Mapping[str, Any]], marketplaces: Sequence[Marketplace]
) -> tuple[str | None, dict[str, str]]:
    """The tracking category whose options name the most marketplaces, and those options."""
    best: tuple[int, str | None, dict[str, str]] = (0, None, {})
    for category in categories:
        if category.get("Status", "ACTIVE") != "ACTIVE":
            continue
        options = {
            str(o.get("Name", "")): o
            for o in category.get("Options") or []
            if o.get("Status", "ACTIVE") == "ACTIVE"
        }
        chosen = {}
        for marketplace in marketplaces:
            for name in options:
                lowered = name.lower()
                if lowered in (marketplace.code.lower(), marketplace.site.lower()):
                    chosen[marketplace.code] = name
                    break
        if len(chosen) > best[0]:
            best = (len(chosen), str(category.get("Name")), chosen)
    return best[1], best[2]


def suggest_from_chart(
    accounts: Sequence[Mapping[str, Any]],
    contacts: Sequence[Mapping[str, Any]] = (),
    tracking_categories: Sequence[Mapping[str, Any]] = (),
    *,
    canonical_accounts: Iterable[str] = DEFAULT_ACCOUNTS,
    marketplaces: Sequence[Marketplace] = MARKETPLACES,
    base_currency: str = "USD",
) -> TargetMapping:
    """The mapping these Xero objects support (pure; :func:`suggest_mapping` fetches them)."""
    mapped: dict[str, str] = {}
    for canonical in canonical_accounts:
        if canonical == RECEIVABLE:
            code = match_receivable(accounts)
        elif canonical == PAYOUT_BANK:
            code = match_payout_bank(accounts)
        else:
            code = match_by_name(canonical, accounts)
        if code is not None:
            mapped[canonical] = code
    for marketplace in marketplaces:
        code = match_clearing(marketplace, accounts, base_currency)
        if code is not None:
            mapped[f"{CLEARING_PREFIX}{marketplace.code}"] = code
    customer = {m.code: c for m in marketplaces if (c := match_contact(m, contacts)) is not None}
    category, options = match_tracking(tracking_categories, marketplaces)
    settings = {"track_marketplace": "true" if category else "false"}
    if category:
        settings["tracking_category"] = category
    return TargetMapping(accounts=mapped, contacts=customer, tracking=options, options=settings)


def organisation_currency(client: XeroClient) -> str:
    """The organisation's base currency (``GET /Organisation``), USD when Xero does not say."""
    status, body = client.request("GET", "Organisation")
    organisations = body.get("Organisations") if status == 200 and isinstance(body, dict) else None
    if organisations and organisations[0].get("BaseCurrency"):
        return str(organisations[0]["BaseCurrency"])
    return "USD"


def suggest_mapping(
    client: XeroClient,
    *,
    canonical_accounts: Iterable[str] = DEFAULT_ACCOUNTS,
    marketplaces: Sequence[Marketplace] = MARKETPLACES,
) -> TargetMapping:
    """Read the organisation's chart, contacts and tracking categories; suggest a mapping."""
    accounts = client.get_all("Accounts", paged=False)
    contacts = client.get_all("Contacts")
    categories = client.get_all("TrackingCategories", paged=False)
    base = organisation_currency(client)
    return suggest_from_chart(
        accounts,
        contacts,
        categories,
        canonical_accounts=canonical_accounts,
        marketplaces=marketplaces,
        base_currency=base,
    )
