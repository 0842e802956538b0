"""Suggest a flow's Wave mapping from the business's own chart of accounts.

Reads ``business.accounts`` (paged) and proposes, by names, types and subtypes only, a Wave
account id for each canonical account, a customer name per marketplace and the transfer account.
It never invents an account: a canonical account with no convincing match is left out and
rendering reports it as unmapped, for the user to map by hand.

Matching rules (plain, so a bookkeeper can predict them):

- ``Income:*`` / ``Expenses:*`` / ``Liabilities:*`` / ``Assets:*``: an active account of the same
  Wave type, not Cash & Bank, whose name holds every word of the canonical name's last part (or a
  synonym: ``ReferralFees`` is also "selling" or "commission"; "Amazon" and "fee" optional),
  names mentioning Amazon first;
- ``Liabilities:SalesTax:*``: failing a name match, the business's only ``SALES_TAX`` account;
- ``Assets:Amazon:Receivable``: Wave's Accounts Receivable (subtype ``RECEIVABLE_INVOICES``);
- ``Assets:Amazon:Clearing:<MKT>``: the Cash & Bank account named with "clearing" and the
  marketplace's code, site or currency, or the only clearing account in its currency;
- ``Assets:Bank:AmazonPayouts``: per currency, the Cash & Bank account in that currency named with
  "Amazon" or "payout" that is not a clearing account (``...@CUR`` for other currencies);
- option ``transfer_account``: the first active ``MONEY_IN_TRANSIT`` account;
- contacts: the customer ``"<site> customers"`` per marketplace (created on first use).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ml_connector.core.targets import TargetMapping
from ml_connector.ledger.accounts import account_type
from ml_connector.ledger.marketplaces import MARKETPLACES, Marketplace
from ml_connector.plugins.wave import operations
from ml_connector.plugins.wave.client import WaveClient
from ml_connector.plugins.wave.render import (
    BANK_PREFIX,
    CLEARING_PREFIX,
    RECEIVABLE,
    TRANSFER_OPTION,
    default_customer_name,
)

PAYOUT_BANK = f"{BANK_PREFIX}AmazonPayouts"
DEFAULT_ACCOUNTS: tuple[str, ...] = (
    "Income:Amazon:Sales",
    "Income:Amazon:Shipping",
    "Income:Amazon:GiftWrap",
    "Income:Amazon:Promotions",
    "Income:Amazon:Refunds",
    "Income:Amazon:Reimbursements",
    "Income:Amazon:Adjustments",
    "Income:Amazon:Liquidations",
    "Income:Amazon:RestockingFees",
    "Expenses:Amazon:ReferralFees",
    "Expenses:Amazon:FBAFees",
    "Expenses:Amazon:FBAInventoryFees",
    "Expenses:Amazon:StorageFees",
    "Expenses:Amazon:Advertising",
    "Expenses:Amazon:Subscription",
    "Expenses:Amazon:RefundCommission",
    "Expenses:Amazon:ClosingFees",
    "Expenses:Amazon:ShippingLabels",
    "Expenses:Amazon:OtherFees",
    "Expenses:Amazon:Other",
    "Liabilities:SalesTax:MarketplaceFacilitator",
    "Assets:Amazon:Reserve",
    "Assets:Amazon:Transfers",
    "Assets:Tax:WithheldByAmazon",
    RECEIVABLE,
)
ANCHOR_SUBTYPES = frozenset({"CASH_AND_BANK", "CREDIT_CARD", "LOANS"})
_TYPE_OF_ROOT = {
    "asset": "ASSET",
    "liability": "LIABILITY",
    "equity": "EQUITY",
    "income": "INCOME",
    "expense": "EXPENSE",
}
_NOISE_WORDS = {"amazon", "and", "of", "fee"}
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


def _name_words(account: Mapping[str, Any]) -> set[str]:
    return {_stem(w) for w in _words(str(account.get("name", "")))}


def _value(account: Mapping[str, Any], key: str) -> str:
    node = account.get(key)
    if isinstance(node, Mapping):
        return str(node.get("value") or node.get("code") or "")
    return str(node or "")


def _active(accounts: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [a for a in accounts if not a.get("isArchived") and a.get("id")]


def match_by_name(canonical: str, accounts: Sequence[Mapping[str, Any]]) -> str | None:
    """The id of the account whose type fits and whose name holds the canonical words."""
    wanted_type = _TYPE_OF_ROOT[account_type(canonical).value]
    wanted = {_stem(w) for w in _words(canonical.rsplit(":", 1)[-1])} - _NOISE_WORDS
    candidates = []
    for position, account in enumerate(_active(accounts)):
        if _value(account, "type") != wanted_type or _value(account, "subtype") in ANCHOR_SUBTYPES:
            continue
        words = _name_words(account)
        if wanted and all(_SYNONYMS.get(w, {w}) & words for w in wanted):
            candidates.append((0 if "amazon" in words else 1, position, str(account["id"])))
    return min(candidates)[2] if candidates else None


def _banks(accounts: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [a for a in _active(accounts) if _value(a, "subtype") == "CASH_AND_BANK"]


def match_clearing(marketplace: Marketplace, accounts: Sequence[Mapping[str, Any]]) -> str | None:
    clearing = [a for a in _banks(accounts) if "clearing" in _name_words(a)]
    named = [
        a
        for a in clearing
        if {marketplace.code.lower(), marketplace.currency.lower()} & _name_words(a)
        or marketplace.site.lower() in str(a.get("name", "")).lower()
    ]
    if len(named) == 1:
        return str(named[0]["id"])
    in_currency = [a for a in clearing if _value(a, "currency") == marketplace.currency]
    return str(in_currency[0]["id"]) if len(in_currency) == 1 else None


def match_payout_banks(accounts: Sequence[Mapping[str, Any]], base_currency: str) -> dict[str, str]:
    """``Assets:Bank:AmazonPayouts`` (base currency) and ``...@CUR`` per other currency."""
    mapped: dict[str, str] = {}
    banks = [a for a in _banks(accounts) if "clearing" not in _name_words(a)]
    named = [a for a in banks if {"amazon", "payout"} & _name_words(a)]
    for account in named:
        currency = _value(account, "currency") or base_currency
        key = PAYOUT_BANK if currency == base_currency else f"{PAYOUT_BANK}@{currency}"
        mapped.setdefault(key, str(account["id"]))
    return mapped


def match_subtype(accounts: Sequence[Mapping[str, Any]], subtype: str) -> str | None:
    found = [a for a in _active(accounts) if _value(a, "subtype") == subtype]
    return str(found[0]["id"]) if found else None


def suggest_from_accounts(
    accounts: Sequence[Mapping[str, Any]],
    *,
    canonical_accounts: Iterable[str] = DEFAULT_ACCOUNTS,
    marketplaces: Sequence[Marketplace] = MARKETPLACES,
    base_currency: str = "USD",
) -> TargetMapping:
    """The mapping these Wave accounts support (pure; :func:`suggest_mapping` reads them)."""
    mapped: dict[str, str] = {}
    for canonical in canonical_accounts:
        if canonical == RECEIVABLE:
            found = match_subtype(accounts, "RECEIVABLE_INVOICES")
        else:
            found = match_by_name(canonical, accounts)
            if found is None and canonical.startswith("Liabilities:SalesTax:"):
                taxes = [a for a in _active(accounts) if _value(a, "subtype") == "SALES_TAX"]
                found = str(taxes[0]["id"]) if len(taxes) == 1 else None
        if found is not None:
            mapped[canonical] = found
    for marketplace in marketplaces:
        found = match_clearing(marketplace, accounts)
        if found is not None:
            mapped[f"{CLEARING_PREFIX}{marketplace.code}"] = found
    mapped.update(match_payout_banks(accounts, base_currency))
    options = {}
    transfer = match_subtype(accounts, "MONEY_IN_TRANSIT")
    if transfer is not None:
        options[TRANSFER_OPTION] = transfer
    contacts = {m.code: default_customer_name(m.code) for m in marketplaces}
    return TargetMapping(accounts=mapped, contacts=contacts, options=options)


def business_currency(client: WaveClient) -> str:
    data = client.execute(operations.BUSINESS, {"businessId": client.business_id})
    business = data.get("business") or {}
    currency = business.get("currency") or {}
    return str(currency.get("code") or "USD")


def suggest_mapping(
    client: WaveClient,
    *,
    canonical_accounts: Iterable[str] = DEFAULT_ACCOUNTS,
    marketplaces: Sequence[Marketplace] = MARKETPLACES,
) -> TargetMapping:
    """Read the business's chart of accounts and suggest a mapping from it."""
    accounts = client.pages(operations.ACCOUNTS, "accounts")
    return suggest_from_accounts(
        accounts,
        canonical_accounts=canonical_accounts,
        marketplaces=marketplaces,
        base_currency=business_currency(client),
    )
