"""How fast the ledger books, next to a bare ``executemany`` of the same rows.

Run: ``python tests/bench/bench_ledger.py [entries] [batch]`` (default 100,000 entries of four
postings, in batches of 10,000 as the engine books one settlement at a time).

Two timings on fresh SQLite files with the same settings (WAL, ``synchronous=NORMAL``, the
ledger's page cache size):

- ``Ledger.write``: from ready-made ``JournalEntry`` objects to committed rows, including the
  content hashes, the existence check, the conversion to minor units and the database's
  triggers and deferred foreign-key check;
- bare: ``sqlite3`` ``executemany`` of pre-built tuples (built outside the timing) into plain
  tables with the same keys and indexes but no triggers and no foreign key, one commit per batch.

The requirement is ``bare seconds / ledger seconds >= 0.25``.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from ml_connector.ledger.db import SQLITE_CACHE_SIZE
from ml_connector.ledger.entries import JournalEntry, Posting, entry_id
from ml_connector.ledger.money import to_minor
from ml_connector.ledger.store import Ledger

REQUIRED_RATIO = 0.25

_BARE_SCHEMA = """
CREATE TABLE entry (
    id VARCHAR PRIMARY KEY, date DATE NOT NULL, description TEXT NOT NULL,
    source_ref VARCHAR NOT NULL, kind VARCHAR NOT NULL, reverses VARCHAR,
    meta TEXT NOT NULL, content_hash VARCHAR NOT NULL
);
CREATE INDEX ix_entry_source_ref ON entry (source_ref);
CREATE INDEX ix_entry_settlement ON entry (json_extract(meta, '$.settlement_id'));
CREATE TABLE posting (
    entry_id VARCHAR NOT NULL, seq INTEGER NOT NULL, account VARCHAR NOT NULL,
    currency VARCHAR NOT NULL, amount_minor BIGINT NOT NULL, marketplace VARCHAR, memo TEXT,
    PRIMARY KEY (entry_id, seq)
);
CREATE INDEX ix_posting_account ON posting (account);
"""


def make_entries(count: int, batch: int) -> list[list[JournalEntry]]:
    """``count`` four-posting sale entries, grouped into settlements of ``batch`` entries."""
    batches: list[list[JournalEntry]] = []
    start = dt.date(2024, 1, 1)
    for first in range(0, count, batch):
        settlement_id = str(1_000_000 + first // batch)
        entries = []
        for n in range(first, min(first + batch, count)):
            price = Decimal(1000 + n % 9000).scaleb(-2)
            fee = Decimal(100 + n % 900).scaleb(-2)
            entries.append(
                JournalEntry(
                    id=entry_id("bench", settlement_id, str(n)),
                    date=start + dt.timedelta(days=n % 365),
                    description=f"Order 111-{n:07d}-0000000",
                    source_ref=f"amazon:settlement:{settlement_id}:line:{n}",
                    kind="order",
                    meta={"settlement_id": settlement_id, "order_id": f"111-{n:07d}-0000000"},
                    postings=(
                        Posting("Assets:Amazon:Clearing:US", price, "USD", "US"),
                        Posting("Income:Amazon:Sales", -price, "USD", "US", "principal"),
                        Posting("Expenses:Amazon:ReferralFees", fee, "USD", "US"),
                        Posting("Assets:Amazon:Clearing:US", -fee, "USD", "US", "fee"),
                    ),
                )
            )
        batches.append(entries)
    return batches


def bare_rows(
    entries: list[JournalEntry],
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    entry_rows: list[tuple[object, ...]] = [
        (
            e.id,
            e.date.isoformat(),
            e.description,
            e.source_ref,
            e.kind,
            e.reverses,
            json.dumps(dict(e.meta), sort_keys=True, separators=(",", ":")),
            e.content_hash,
        )
        for e in entries
    ]
    posting_rows: list[tuple[object, ...]] = [
        (e.id, seq, p.account, p.currency, to_minor(p.amount, p.currency), p.marketplace, p.memo)
        for e in entries
        for seq, p in enumerate(e.postings)
    ]
    return entry_rows, posting_rows


def time_ledger(path: Path, batches: list[list[JournalEntry]]) -> float:
    with Ledger.open(f"sqlite:///{path}") as ledger:
        began = time.perf_counter()
        for entries in batches:
            ledger.write(entries)
        elapsed = time.perf_counter() - began
        assert ledger.count() == sum(map(len, batches))
    return elapsed


def time_bare(path: Path, batches: list[list[JournalEntry]]) -> float:
    rows = [bare_rows(entries) for entries in batches]
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(f"PRAGMA cache_size={SQLITE_CACHE_SIZE}")
    connection.executescript(_BARE_SCHEMA)
    began = time.perf_counter()
    for entry_rows, posting_rows in rows:
        connection.execute("BEGIN")
        connection.executemany("INSERT INTO posting VALUES (?, ?, ?, ?, ?, ?, ?)", posting_rows)
        connection.executemany("INSERT INTO entry VALUES (?, ?, ?, ?, ?, ?, ?, ?)", entry_rows)
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - began
    connection.close()
    return elapsed


def main(count: int = 100_000, batch: int = 10_000) -> int:
    batches = make_entries(count, batch)
    postings = sum(len(e.postings) for entries in batches for e in entries)
    with tempfile.TemporaryDirectory() as folder:
        bare = time_bare(Path(folder) / "bare.sqlite3", batches)
        ledger = time_ledger(Path(folder) / "ledger.sqlite3", batches)
    ratio = bare / ledger
    print(f"{count:,} entries ({postings:,} postings) in batches of {batch:,}")
    print(f"Ledger.write      {ledger:7.2f} s  {count / ledger:10,.0f} entries/s")
    print(f"bare executemany  {bare:7.2f} s  {count / bare:10,.0f} entries/s")
    verdict = "meets" if ratio >= REQUIRED_RATIO else "MISSES"
    print(f"ratio bare/ledger {ratio:7.2f}    ({verdict} the required {REQUIRED_RATIO})")
    return 0 if ratio >= REQUIRED_RATIO else 1


if __name__ == "__main__":
    sys.exit(main(*(int(arg) for arg in sys.argv[1:3])))
