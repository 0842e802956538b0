"""The rules of ``moneyTransactionCreate`` and the postings an accepted transaction makes.

A money transaction is a deposit to or withdrawal from an *anchor* account (Cash & Bank, Credit
Card, or Loan and Line of Credit, per Wave's "Create Money Transaction" notes), categorised by
line items on other accounts. The emulator refuses, as ``didSucceed: false``:

* a business on classic accounting (the schema: "Requires ``isClassicAccounting`` to be false");
* a blank ``externalId`` (required, "If you don't have one, generate a UUID");
* an anchor that is unknown, archived, or not of an anchor subtype;
* no line items; a line item on an unknown or archived account, or on an anchor-type account
  (answered as Wave does: ``"This value is invalid. MULTIPLE_POSSIBLE_ANCHORS"``, path null);
* amounts that are negative (they are unsigned: direction and balance carry the sign), a zero
  anchor, or amounts with more decimals than the currency's minor unit (2 for USD);
* line items that do not balance the anchor. Sides: the anchor is debited on ``DEPOSIT`` and
  credited on ``WITHDRAWAL``; a line is ``DEBIT``/``CREDIT`` as given, ``INCREASE`` on its
  account's normal balance and ``DECREASE`` on the other side, both inverted for the contra
  subtypes ``DISCOUNTS`` and ``DEPRECIATION_AND_AMORTIZATION`` (the ``BalanceType`` enum's
  descriptions). Total debits must equal total credits.

Line-item taxes are tax-inclusive (Wave's help: income and expense transactions are "inclusive
of tax"): the tax amounts are carved out of the line's amount and posted, same side, to each
sales tax's liability account; they may not exceed the line's amount.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ml_connector.plugins.wave.emulator.errors import InputErrors, InputProblem, invalid
from ml_connector.plugins.wave.emulator.reference_data import ANCHOR_SUBTYPES
from ml_connector.plugins.wave.emulator.state import (
    ZERO,
    AccountRecord,
    BusinessState,
    LineTax,
    MoneyLine,
    MoneyTransactionRecord,
    Posting,
)
from ml_connector.plugins.wave.emulator.views import currency_exponent

Path = tuple[str, ...]


def line_side(account: AccountRecord, balance: str) -> str:
    """``DEBIT`` or ``CREDIT``: where a line with ``balance`` lands on ``account``."""
    if balance in ("DEBIT", "CREDIT"):
        return balance
    normal = account.normal_balance
    other = "CREDIT" if normal == "DEBIT" else "DEBIT"
    increase_side = other if account.is_contra else normal
    if balance == "INCREASE":
        return increase_side
    return "CREDIT" if increase_side == "DEBIT" else "DEBIT"


def validate(
    business: BusinessState, given: Mapping[str, Any], path: Path
) -> MoneyTransactionRecord:
    """A transaction record (not yet stored, no id) for ``given``, or raise :class:`InputErrors`.

    All problems found are reported together, as a form would show them.
    """
    problems: list[InputProblem] = []
    if business.is_classic_accounting:
        raise InputErrors([invalid((*path, "businessId"), "CLASSIC_ACCOUNTING_NOT_SUPPORTED")])
    if not given["externalId"].strip():
        problems.append(invalid((*path, "externalId"), "EXTERNAL_ID_REQUIRED"))

    anchor_given = given["anchor"]
    anchor = _account(business, anchor_given["accountId"], (*path, "anchor", "accountId"), problems)
    if anchor is not None and anchor.subtype not in ANCHOR_SUBTYPES:
        problems.append(
            invalid(
                (*path, "anchor", "accountId"),
                "INVALID_ANCHOR_ACCOUNT",
                f"{anchor.name} is {anchor.subtype}; anchors are CASH_AND_BANK, CREDIT_CARD or LOANS",
            )
        )
    currency = anchor.currency if anchor is not None else business.currency
    anchor_amount = anchor_given["amount"]
    _check_amount(anchor_amount, currency, (*path, "anchor", "amount"), problems, positive=True)

    lines: list[MoneyLine] = []
    line_accounts: list[AccountRecord | None] = []
    if not given["lineItems"]:
        problems.append(invalid((*path, "lineItems"), "NO_LINE_ITEMS"))
    for index, item in enumerate(given["lineItems"]):
        here = (*path, "lineItems", str(index))
        account = _account(business, item["accountId"], (*here, "accountId"), problems)
        if account is not None and account.subtype in ANCHOR_SUBTYPES:
            # Wave's own answer to an anchor-type account among the line items.
            problems.append(InputProblem(None, "This value is invalid. MULTIPLE_POSSIBLE_ANCHORS"))
        _check_amount(item["amount"], currency, (*here, "amount"), problems, positive=False)
        customer_id = item.get("customerId")
        if customer_id is not None and customer_id not in business.customers:
            problems.append(invalid((*here, "customerId"), "CUSTOMER_NOT_FOUND", customer_id))
        taxes = _taxes(business, item, currency, here, problems)
        line_accounts.append(account)
        lines.append(
            MoneyLine(
                account_id=item["accountId"],
                amount=item["amount"],
                balance=item["balance"],
                customer_id=customer_id,
                description=item.get("description"),
                taxes=taxes,
            )
        )

    if not problems and anchor is not None:
        _check_balance(anchor, anchor_given, lines, line_accounts, path, problems)
    if problems:
        raise InputErrors(problems)
    assert anchor is not None
    return MoneyTransactionRecord(
        id="",
        number=0,
        external_id=given["externalId"],
        date=given["date"],
        description=given["description"],
        notes=given.get("notes"),
        anchor_account_id=anchor.id,
        anchor_amount=anchor_amount,
        direction=anchor_given["direction"],
        line_items=lines,
        created_at=dt.datetime.min.replace(tzinfo=dt.UTC),
    )


def postings(business: BusinessState, transaction: MoneyTransactionRecord) -> list[Posting]:
    """The general-ledger postings of an accepted transaction (zero amounts left out)."""
    anchor_side = "DEBIT" if transaction.direction == "DEPOSIT" else "CREDIT"
    rows = [
        Posting(
            transaction.anchor_account_id, anchor_side, transaction.anchor_amount, transaction.id
        )
    ]
    for line in transaction.line_items:
        account = business.accounts[line.account_id]
        side = line_side(account, line.balance)
        tax_total = sum((t.amount for t in line.taxes), ZERO)
        rows.append(Posting(line.account_id, side, line.amount - tax_total, transaction.id))
        for tax in line.taxes:
            liability = business.sales_taxes[tax.sales_tax_id].liability_account_id
            rows.append(Posting(liability, side, tax.amount, transaction.id))
    return [row for row in rows if row.amount]


def _account(
    business: BusinessState, account_id: str, path: Path, problems: list[InputProblem]
) -> AccountRecord | None:
    account = business.accounts.get(account_id)
    if account is None:
        problems.append(invalid(path, "ACCOUNT_NOT_FOUND", account_id))
        return None
    if account.is_archived:
        problems.append(invalid(path, "ACCOUNT_ARCHIVED", account.name))
        return None
    return account


def _check_amount(
    amount: Decimal, currency: str, path: Path, problems: list[InputProblem], *, positive: bool
) -> None:
    if amount < 0:
        problems.append(invalid(path, "NEGATIVE_AMOUNT", f"{amount} (amounts are unsigned)"))
    elif positive and amount == 0:
        problems.append(invalid(path, "ZERO_AMOUNT"))
    places = currency_exponent(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        problems.append(
            invalid(path, "TOO_MANY_DECIMAL_PLACES", f"{amount} ({currency} allows {places})")
        )


def _taxes(
    business: BusinessState,
    item: Mapping[str, Any],
    currency: str,
    here: Path,
    problems: list[InputProblem],
) -> list[LineTax]:
    taxes = []
    for position, tax in enumerate(item.get("taxes") or []):
        tax_path = (*here, "taxes", str(position))
        sales_tax = business.sales_taxes.get(tax["salesTaxId"])
        if sales_tax is None or sales_tax.is_archived:
            problems.append(
                invalid((*tax_path, "salesTaxId"), "SALES_TAX_NOT_FOUND", tax["salesTaxId"])
            )
        _check_amount(tax["amount"], currency, (*tax_path, "amount"), problems, positive=False)
        taxes.append(LineTax(tax["salesTaxId"], tax["amount"]))
    if sum((t.amount for t in taxes), ZERO) > item["amount"]:
        problems.append(invalid((*here, "taxes"), "TAX_EXCEEDS_LINE_AMOUNT"))
    return taxes


def _check_balance(
    anchor: AccountRecord,
    anchor_given: Mapping[str, Any],
    lines: list[MoneyLine],
    accounts: list[AccountRecord | None],
    path: Path,
    problems: list[InputProblem],
) -> None:
    # Debits minus credits over the whole transaction must be zero.
    net = (
        anchor_given["amount"]
        if anchor_given["direction"] == "DEPOSIT"
        else -anchor_given["amount"]
    )
    for line, account in zip(lines, accounts, strict=True):
        assert account is not None
        side = line_side(account, line.balance)
        net += line.amount if side == "DEBIT" else -line.amount
    if net != 0:
        problems.append(
            invalid(
                (*path, "lineItems"),
                "LINE_ITEMS_DO_NOT_BALANCE",
                f"debits exceed credits by {net}"
                if net > 0
                else f"credits exceed debits by {-net}",
            )
        )
