"""Journal entries, postings, reversals and canonical accounts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from decimal import Decimal

import pytest
from hypothesis import given
from ledger_strategies import journal_entries

from ml_connector.ledger.accounts import (
    Account,
    AccountType,
    account_type,
    validate_account_path,
)
from ml_connector.ledger.entries import (
    ID_PREFIX,
    JournalEntry,
    Posting,
    entry_id,
    reverse,
    totals_by_currency,
)
from ml_connector.ledger.errors import InputError, MoneyError, UnbalancedEntryError

D = Decimal
DAY = dt.date(2024, 4, 30)


def legs(*amounts: str, currency: str = "USD") -> tuple[Posting, ...]:
    return tuple(Posting(f"Assets:Leg{n}", D(amount), currency) for n, amount in enumerate(amounts))


def entry(postings: tuple[Posting, ...], **changes: object) -> JournalEntry:
    fields: dict[str, object] = {
        "id": entry_id("test", "entry"),
        "date": DAY,
        "description": "test entry",
        "source_ref": "amazon:settlement:1",
        "postings": postings,
    }
    fields.update(changes)
    return JournalEntry(**fields)  # type: ignore[arg-type]


# -- ids ---------------------------------------------------------------------------------------


def test_entry_id_is_deterministic_and_distinguishes_its_parts() -> None:
    first = entry_id("settlement", "1234", "payout")
    assert first == entry_id("settlement", "1234", "payout")
    assert first.startswith(ID_PREFIX) and len(first) == len(ID_PREFIX) + 32
    assert first != entry_id("settlement", "1234", "payouts")
    assert entry_id("ab", "c") != entry_id("a", "bc")


@pytest.mark.parametrize("parts", [(), ("",), ("a", ""), ("a", 1)])
def test_entry_id_refuses_empty_or_non_text_parts(parts: tuple[object, ...]) -> None:
    with pytest.raises(InputError, match="non-empty strings"):
        entry_id(*parts)  # type: ignore[arg-type]


# -- postings ----------------------------------------------------------------------------------


def test_posting_keeps_the_amount_on_the_currency_scale() -> None:
    assert str(Posting("Income:Sales", D("-5"), "USD").amount) == "-5.00"
    assert str(Posting("Income:Sales", D("1.2"), "KWD").amount) == "1.200"
    assert Posting("Income:Sales", D("3"), "USD").negated() == Posting(
        "Income:Sales", D("-3.00"), "USD"
    )


@pytest.mark.parametrize(
    ("account", "amount", "currency", "error", "reason"),
    [
        ("Income:Sales", D("0.001"), "USD", MoneyError, "USD has 2 decimals"),
        ("Income:Sales", D("0.5"), "JPY", MoneyError, "JPY has 0 decimals"),
        ("Income:Sales", 1.5, "USD", MoneyError, "Decimal, got float"),
        ("Income:Sales", D("NaN"), "USD", MoneyError, "finite"),
        ("Income:Sales", D("1"), "XXQ", MoneyError, "no known minor unit"),
        ("Sales", D("1"), "USD", InputError, "must start with"),
        ("Income", D("1"), "USD", InputError, "at least one segment"),
        ("Income:sales", D("1"), "USD", InputError, "bad account segment"),
    ],
)
def test_posting_refuses_bad_money_and_accounts(
    account: str, amount: object, currency: str, error: type[Exception], reason: str
) -> None:
    with pytest.raises(error, match=reason):
        Posting(account, amount, currency)  # type: ignore[arg-type]


# -- entries -----------------------------------------------------------------------------------


def test_a_balanced_entry_in_two_currencies() -> None:
    made = entry((*legs("10.00", "-10.00"), *legs("1500", "-1000", "-500", currency="JPY")))
    assert made.currencies == frozenset({"USD", "JPY"})
    assert totals_by_currency(made.postings) == {"USD": D("0.00"), "JPY": D("0")}


def test_an_unbalanced_entry_is_refused_naming_the_entry_and_the_difference() -> None:
    with pytest.raises(UnbalancedEntryError, match=r"does not balance: off by USD 0.01"):
        entry(legs("10.00", "-9.99"))
    # Balanced in total across currencies is not balanced.
    with pytest.raises(UnbalancedEntryError, match=r"EUR 5.00.*USD -5.00"):
        entry((*legs("5.00", currency="EUR"), *legs("-5.00")))


def test_an_entry_needs_two_postings() -> None:
    with pytest.raises(UnbalancedEntryError, match="at least two postings, has 1"):
        entry(legs("0.00"))
    with pytest.raises(UnbalancedEntryError, match="has 0"):
        entry(())


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"id": "settlement-1"}, "must start with 'je_'"),
        ({"date": dt.datetime(2024, 4, 30, 12)}, "must be a date"),
        ({"date": "2024-04-30"}, "must be a date"),
        ({"source_ref": ""}, "source reference"),
        ({"meta": {"settlement_id": 1234}}, "must be strings"),
    ],
)
def test_an_entry_refuses_bad_fields(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        entry(legs("1.00", "-1.00"), **changes)


def test_an_entry_is_immutable() -> None:
    made = entry(legs("1.00", "-1.00"), meta={"b": "2", "a": "1"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.description = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        made.meta["a"] = "3"  # type: ignore[index]
    assert list(made.meta) == ["a", "b"]


@given(journal_entries())
def test_to_dict_and_from_dict_round_trip(made: JournalEntry) -> None:
    data = made.to_dict()
    assert all(isinstance(p["amount"], str) for p in data["postings"])
    rebuilt = JournalEntry.from_dict(data)
    assert rebuilt == made
    assert rebuilt.content_hash == made.content_hash


def test_content_hash_follows_content() -> None:
    made = entry(legs("1.00", "-1.00"))
    assert made.content_hash == entry(legs("1.00", "-1.00")).content_hash
    assert made.content_hash != entry(legs("1.00", "-1.00"), description="x").content_hash
    assert made.content_hash != entry(legs("2.00", "-2.00")).content_hash
    assert made.content_hash != entry(legs("-1.00", "1.00")).content_hash  # order counts


# -- reversals ---------------------------------------------------------------------------------


@given(journal_entries())
def test_reverse_mirrors_every_posting_and_links_the_original(made: JournalEntry) -> None:
    reversal = reverse(made, date=dt.date(2036, 1, 1), reason="wrong fee")
    assert reversal.reverses == made.id
    assert reversal.id == entry_id("reversal", made.id)
    assert reversal.date == dt.date(2036, 1, 1)
    assert reversal.description.endswith("(wrong fee)")
    assert [p.amount for p in reversal.postings] == [-p.amount for p in made.postings]
    assert [p.account for p in reversal.postings] == [p.account for p in made.postings]
    combined = totals_by_currency((*made.postings, *reversal.postings))
    assert all(total == 0 for total in combined.values())
    assert reverse(made, date=dt.date(2036, 1, 1), reason="wrong fee") == reversal
    assert reverse(made).date == made.date


# -- accounts ----------------------------------------------------------------------------------


def test_account_paths_types_and_navigation() -> None:
    clearing = Account("Assets:Amazon:Clearing:US")
    assert clearing.type is AccountType.ASSET
    assert clearing.segments == ("Assets", "Amazon", "Clearing", "US")
    assert clearing.parent == Account("Assets:Amazon:Clearing")
    assert Account("Assets:Amazon").parent is None, "a root alone is a type, not an account"
    assert clearing.child("FBA") == Account("Assets:Amazon:Clearing:US:FBA")
    assert str(clearing) == "Assets:Amazon:Clearing:US"
    assert account_type("Liabilities:SalesTax:MarketplaceFacilitator") is AccountType.LIABILITY
    assert account_type("Expenses:Amazon:ReferralFees") is AccountType.EXPENSE
    assert account_type("Income:Amazon:Sales") is AccountType.INCOME
    assert account_type("Equity:Opening") is AccountType.EQUITY
    assert validate_account_path("Assets:Bank:AmazonPayouts") == "Assets:Bank:AmazonPayouts"


@pytest.mark.parametrize(
    "path",
    ["", None, "Assets", "Revenue:Sales", "Assets::Amazon", "Assets:amazon", "Assets:Ama zon"],
)
def test_bad_account_paths_are_refused_naming_the_path(path: object) -> None:
    with pytest.raises(InputError) as raised:
        validate_account_path(path)
    assert raised.value.field == "account"
    assert raised.value.value == path


def test_content_hash_is_the_sha256_of_the_canonical_json_form() -> None:
    # Stored hashes were made from json.dumps(to_dict()); the piecewise hash must equal it
    # byte for byte, escapes, nulls and batches of postings included.
    amounts = [Decimal(n).scaleb(-2) for n in range(1, 1200)]
    postings = [
        Posting("Income:Amazon:Sales", -amount, "USD", ["US", None][n % 2], ['q"é\n', None][n % 2])
        for n, amount in enumerate(amounts)
    ]
    postings.append(Posting("Assets:Amazon:Receivable", sum(amounts), "USD"))
    entry = JournalEntry(
        id=entry_id("hash", "test"),
        date=dt.date(2024, 2, 29),
        description='Order "é" \u2028 \x01 \\',
        source_ref="amazon:order:1",
        postings=tuple(postings),
        kind="order",
        reverses=entry_id("other"),
        meta={"z": "ü", "a": 'x"y', "order_id": "1"},
    )
    canonical = json.dumps(entry.to_dict(), sort_keys=True, separators=(",", ":"))
    assert entry.content_hash == hashlib.sha256(canonical.encode()).hexdigest()
