"""The booking's lean constructors make exactly what the checked constructors make, and refuse
what they refuse (ledger.entries, ledger.settlement, ledger.money)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal

import pytest

from ml_connector.ledger.entries import (
    JournalEntry,
    Posting,
    balanced_entry,
    canonical_meta,
    entry_id,
    entry_ids,
    exact_posting,
    frozen_meta,
    hash_and_meta,
)
from ml_connector.ledger.errors import InputError, MoneyError, UnbalancedEntryError
from ml_connector.ledger.money import exact_or_none
from ml_connector.ledger.settlement import SettlementLine, line_from_values

DAY = dt.date(2024, 6, 1)
META = {"settlement_id": "123", "order_id": "112-1", "currency": "USD", "note": 'caf\u00e9 "x"'}


def _postings() -> tuple[Posting, ...]:
    return (
        exact_posting("Assets:Amazon:Receivable", Decimal("10.5"), "USD", "US", "receivable"),
        exact_posting("Income:Amazon:Sales", Decimal("-10.50"), "USD", "US", "sales"),
    )


def test_exact_or_none_quantizes_exact_amounts_and_declines_the_rest() -> None:
    assert str(exact_or_none(Decimal("10.5"), "USD")) == "10.50"
    assert exact_or_none(Decimal("10.505"), "USD") is None
    assert exact_or_none(Decimal("NaN"), "USD") is None
    assert exact_or_none(10, "USD") is None
    assert exact_or_none(Decimal("1"), "XXX") is None


def test_exact_posting_equals_the_constructor_and_refuses_what_it_refuses() -> None:
    made = exact_posting("Income:Amazon:Sales", Decimal("-3.1"), "USD", "US", "memo")
    assert made == Posting("Income:Amazon:Sales", Decimal("-3.1"), "USD", "US", "memo")
    assert str(made.amount) == "-3.10"
    with pytest.raises(MoneyError, match="amount on Income:Amazon:Sales"):
        exact_posting("Income:Amazon:Sales", Decimal("0.001"), "USD", None, None)
    with pytest.raises(InputError):
        exact_posting("not an account", Decimal("1"), "USD", None, None)


def test_balanced_entry_equals_the_constructor_with_the_same_hash() -> None:
    fields = dict(
        id=entry_id("t", "1"),
        date=DAY,
        description="order",
        source_ref="amazon:order:112-1",
        postings=_postings(),
        kind="order",
    )
    lean = balanced_entry(**fields, meta=frozen_meta(META))
    checked = JournalEntry(**fields, meta=META)
    assert lean == checked
    assert lean.content_hash == checked.content_hash
    assert list(lean.meta) == sorted(META)


def test_balanced_entry_refuses_an_unbalanced_or_short_entry() -> None:
    one, two = _postings()
    half = dataclasses.replace(two, amount=Decimal("-10.49"))
    common = dict(id=entry_id("t", "2"), date=DAY, description="x", source_ref="s", kind="order")
    with pytest.raises(UnbalancedEntryError, match="does not balance"):
        balanced_entry(**common, postings=(one, half), meta=frozen_meta({}))
    with pytest.raises(UnbalancedEntryError, match="at least two postings"):
        balanced_entry(**common, postings=(one,), meta=frozen_meta({}))
    with pytest.raises(InputError, match="date"):
        balanced_entry(
            **{**common, "date": dt.datetime(2024, 6, 1)},
            postings=(one, two),
            meta=frozen_meta({}),
        )


def test_canonical_meta_and_hash_and_meta_spell_json_dumps() -> None:
    entry = JournalEntry(entry_id("t", "3"), DAY, "x", "s", _postings(), meta=META)
    expected = json.dumps(META, sort_keys=True, separators=(",", ":"))
    assert canonical_meta(entry.meta) == expected
    assert hash_and_meta(entry) == (entry.content_hash, expected)


def test_entry_ids_match_entry_id_and_refuse_an_empty_last_part() -> None:
    make = entry_ids("amazon", "settlement", "123", "order")
    assert make("112-1") == entry_id("amazon", "settlement", "123", "order", "112-1")
    with pytest.raises(InputError):
        make("")
    with pytest.raises(InputError):
        entry_ids("amazon", "")


def test_line_from_values_equals_the_constructor_and_checks_the_amount() -> None:
    values = ("123", 3, "Order", "ItemPrice", "Principal", Decimal("4.2"), "USD")
    full = (*values, *(f.default for f in dataclasses.fields(SettlementLine)[7:]))
    assert line_from_values(full) == SettlementLine(*values)
    bad = (*full[:5], Decimal("4.201"), *full[6:])
    with pytest.raises(MoneyError, match="settlement 123 line 3"):
        line_from_values(bad)
