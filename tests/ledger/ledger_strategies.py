"""Hypothesis strategies for ledger data: amounts, postings and balanced journal entries.

Text is drawn without NUL and lone surrogates: neither can be stored as text by PostgreSQL (nor
encoded as UTF-8), and no Amazon report or target carries them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from hypothesis import strategies as st

from ml_connector.ledger.entries import JournalEntry, Posting, entry_id
from ml_connector.ledger.money import from_minor

# One currency of each scale the ledger must handle: 0 (JPY), 2 (USD, EUR) and 3 (KWD) decimals.
CURRENCIES = ("USD", "EUR", "JPY", "KWD")

# A parent with children, and a sibling whose name merely starts like the parent's.
ACCOUNTS = (
    "Assets:Amazon",
    "Assets:Amazon:Clearing:US",
    "Assets:Amazon:Clearing:UK",
    "Assets:Amazon:Reserve",
    "Assets:AmazonX",
    "Assets:Bank:AmazonPayouts",
    "Income:Amazon:Sales",
    "Expenses:Amazon:ReferralFees",
    "Liabilities:SalesTax:MarketplaceFacilitator",
)

MAX_MINOR = 10**13  # a hundred billion dollars: far beyond any settlement line

storable_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    max_size=30,
)


def amounts(currency: str) -> st.SearchStrategy[Decimal]:
    """Exact amounts of ``currency`` (any sign, zero included)."""
    return st.integers(-MAX_MINOR, MAX_MINOR).map(lambda minor: from_minor(minor, currency))


@st.composite
def balanced_postings(draw: st.DrawFn) -> tuple[Posting, ...]:
    """Two to eight postings in one or two currencies, summing to zero in each, in any order."""
    currencies = draw(st.lists(st.sampled_from(CURRENCIES), min_size=1, max_size=2, unique=True))
    postings: list[Posting] = []
    for currency in currencies:
        legs = draw(st.lists(amounts(currency), min_size=1, max_size=3))
        legs.append(-sum(legs, Decimal(0)))
        for amount in legs:
            postings.append(
                Posting(
                    account=draw(st.sampled_from(ACCOUNTS)),
                    amount=amount,
                    currency=currency,
                    marketplace=draw(st.none() | st.sampled_from(("US", "UK", "JP"))),
                    memo=draw(st.none() | storable_text),
                )
            )
    return tuple(draw(st.permutations(postings)))


@st.composite
def journal_entries(draw: st.DrawFn, *, name: str | None = None) -> JournalEntry:
    """A balanced entry; its id derives from ``name`` or from a drawn name."""
    return JournalEntry(
        id=entry_id("strategy", name if name is not None else draw(storable_text) + "."),
        date=draw(st.dates(min_value=dt.date(2015, 1, 1), max_value=dt.date(2035, 12, 31))),
        description=draw(storable_text),
        source_ref=draw(st.sampled_from(("amazon:settlement:", "amazon:order:", "manual:")))
        + draw(storable_text),
        postings=draw(balanced_postings()),
        kind=draw(st.sampled_from(("general", "settlement", "order", "payout"))),
        meta=draw(
            st.dictionaries(
                st.sampled_from(("settlement_id", "order_id", "flow", "odd key.1")),
                storable_text,
                max_size=3,
            )
        ),
    )


@st.composite
def entry_batches(draw: st.DrawFn, *, min_size: int = 1, max_size: int = 12) -> list[JournalEntry]:
    """Entries with distinct ids (one id per position in the batch)."""
    size = draw(st.integers(min_size, max_size))
    return [draw(journal_entries(name=str(n))) for n in range(size)]


def renamed(entries: list[JournalEntry], run: str) -> list[JournalEntry]:
    """The same entries under ids unique to ``run``, so examples sharing a ledger never clash."""
    return [dataclasses.replace(e, id=entry_id(run, e.id)) for e in entries]
