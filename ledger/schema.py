"""The ledger's two tables, as the store reads and writes them.

``ledger_entry`` holds one row per journal entry; ``ledger_posting`` one row per posting, keyed
by ``(entry_id, seq)`` so the order of an entry's postings survives the round trip. Amounts are
``BIGINT`` whole minor units (``amount_minor``): never a float or REAL column, and never SQLite's
NUMERIC affinity, which would pass an amount through a float. Metadata is canonical JSON text.

The migrations in ``ledger/migrations`` create these tables (never ``create_all``), together with
what a model class cannot express: the triggers that make the tables append-only and refuse an
unbalanced entry, and an expression index on the ``settlement_id`` metadata key. Keep these
classes and the latest migration in step.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, ForeignKey, String, Table, Text
from sqlmodel import Field, SQLModel


class LedgerEntryRow(SQLModel, table=True):
    """The header of a journal entry. Written after its postings, in the same transaction."""

    __tablename__ = "ledger_entry"

    id: str = Field(primary_key=True)
    date: dt.date
    description: str = Field(sa_column=Column(Text, nullable=False))
    source_ref: str = Field(index=True)
    kind: str
    reverses: str | None = None  # id of the entry this one reverses
    meta: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON object
    content_hash: str  # JournalEntry.content_hash: equal content, equal hash


class LedgerPostingRow(SQLModel, table=True):
    """One leg of an entry; ``seq`` is its 0-based position among the entry's postings."""

    __tablename__ = "ledger_posting"

    # The foreign key is deferred: postings are inserted before their entry's header row (the
    # header's insert trigger checks them), so the reference is only complete at commit.
    entry_id: str = Field(
        sa_column=Column(
            String,
            ForeignKey("ledger_entry.id", deferrable=True, initially="DEFERRED"),
            primary_key=True,
        )
    )
    seq: int = Field(primary_key=True)
    account: str = Field(index=True)
    currency: str
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    marketplace: str | None = None
    memo: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


ENTRY_TABLE: Table = SQLModel.metadata.tables["ledger_entry"]
POSTING_TABLE: Table = SQLModel.metadata.tables["ledger_posting"]
