"""How fast ``ml-connector ingest-settlement`` books a large V2 file, next to the least any ledger
must do, and how much memory it takes (issue 5, "Speed and memory").

Run: ``python tests/bench/bench_ingest.py [--lines N] [--modes summary,per-order]`` (default one
million lines, both modes; summary is the headline).

The file is a realistic V2 settlement written by ``write_settlement_v2``: orders of five to
seven amount rows (principal, tax, shipping, facilitator tax, promotion, referral and FBA fees),
refunds (principal, tax, commission back, refund commission), and the settlement's other
transactions (storage, subscription, advertising, reimbursements, the reserve pair), over a
month end. It is generated once per line count and kept in the temporary directory.

Two rates, in one run, in wall-clock lines per second:

- **floor**: ``csv.reader`` over the file, ``Decimal`` of each amount and one ``executemany`` of
  two posting rows per line (the line's account and the clearing account, in minor units) into
  a bare SQLite table with the ledger's connection settings, one transaction;
- **ingest**: a fresh ``ml-connector ingest-settlement`` process (its own interpreter, so the
  floor does not share its memory) into a fresh SQLite database, from start to exit, imports
  and migrations included.

The requirement is ``ingest rate / floor rate >= 0.25`` (aim: 0.5) in summary mode, which
decides the exit code; per-order mode is measured the same way and printed beside it. Peak memory is the ingest
process's peak resident set size (``ru_maxrss`` of the waited-for child), which must stay under
300 MiB and not grow with the file: it is also measured for a quarter of the lines.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ml_connector.core.amazon.settlement_file import write_settlement_v2
from ml_connector.ledger.db import SQLITE_CACHE_SIZE
from ml_connector.ledger.settlement import SettlementHeader, SettlementLine

LINES = 1_000_000
REQUIRED_RATIO = 0.25
AIM_RATIO = 0.5
MEMORY_LIMIT_MIB = 300
# The mode whose figures decide the exit code; the others are printed for comparison.
HEADLINE_MODE = "summary"
SETTLEMENT_ID = "20240608001"
CURRENCY = "USD"
START = dt.datetime(2024, 5, 25, tzinfo=dt.UTC)
END = dt.datetime(2024, 6, 8, tzinfo=dt.UTC)
DEPOSIT = dt.datetime(2024, 6, 10, tzinfo=dt.UTC)
# Bump when the generated content changes, so a stale cached file is not reused.
FILE_VERSION = 2

# (amount-type, amount-description, chance) of the rows an order item may produce.
ORDER_AMOUNTS = (
    ("ItemPrice", "Principal", 1.0),
    ("ItemPrice", "Tax", 0.9),
    ("ItemPrice", "Shipping", 0.5),
    ("ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", 0.9),
    ("Promotion", "Shipping", 0.3),
    ("ItemFees", "Commission", 1.0),
    ("ItemFees", "FBAPerUnitFulfillmentFee", 1.0),
)
REFUND_AMOUNTS = (
    ("ItemPrice", "Principal"),
    ("ItemPrice", "Tax"),
    ("ItemFees", "Commission"),
    ("ItemFees", "RefundCommission"),
)
# (transaction-type, amount-type, amount-description, sign) of the settlement's other lines.
OTHER_AMOUNTS = (
    ("other-transaction", "other-transaction", "Storage Fee", -1),
    ("other-transaction", "other-transaction", "Subscription Fee", -1),
    ("ServiceFee", "Cost of Advertising", "TransactionTotalAmount", -1),
    ("other-transaction", "FBA Inventory Reimbursement", "REVERSAL_REIMBURSEMENT", 1),
    ("other-transaction", "other-transaction", "FBA Removal Fee", -1),
)
# Account of each line in the floor: a dictionary look-up, as cheap as a rule match can be.
FLOOR_ACCOUNTS = {
    "Principal": "Income:Amazon:Sales",
    "Tax": "Liabilities:SalesTax:MarketplaceFacilitator",
}


@dataclass(frozen=True)
class Row:
    """One generated line, before it is a SettlementLine (the total is summed from these)."""

    transaction_type: str
    amount_type: str
    amount_description: str
    cents: int
    order_id: str
    marketplace: str
    day: dt.date
    sku: str
    quantity: int | None


def _order_cents(rng: random.Random, refund: bool) -> dict[tuple[str, str], int]:
    """The amounts (cents) of one order item, or of its refund, by (amount-type, description).

    Prices of 5 to 200 dollars; tax near 8% (withheld again by Amazon as facilitator); a
    referral fee of 15%; an FBA fee of 3 to 8 dollars; a refund returns the price and tax, gets
    the referral fee back and pays a refund commission of a fifth of it (at most 5 dollars).
    """
    price = rng.randrange(500, 20000)
    tax = price * rng.randrange(5, 10) // 100
    commission = price * 15 // 100
    if refund:
        return {
            ("ItemPrice", "Principal"): -price,
            ("ItemPrice", "Tax"): -tax,
            ("ItemFees", "Commission"): commission,
            ("ItemFees", "RefundCommission"): -min(commission // 5, 500),
        }
    return {
        ("ItemPrice", "Principal"): price,
        ("ItemPrice", "Tax"): tax,
        ("ItemPrice", "Shipping"): rng.randrange(0, 1000),
        ("ItemWithheldTax", "MarketplaceFacilitatorTax-Principal"): -tax,
        ("Promotion", "Shipping"): -rng.randrange(0, 500),
        ("ItemFees", "Commission"): -commission,
        ("ItemFees", "FBAPerUnitFulfillmentFee"): -rng.randrange(300, 800),
    }


def _rows(count: int) -> Iterator[Row]:
    """``count`` rows: orders, one refund in twenty, other transactions, the reserve pair.

    Seeded, so two calls give the same rows: one pass sums the total, the next writes.
    """
    rng = random.Random(20240608)
    first_day = START.date()
    span = (END.date() - first_day).days
    yield Row("other-transaction", "other-transaction", "Previous Reserve Amount Balance",
              1_250_00, "", "", first_day, "", None)  # fmt: skip
    yield Row("other-transaction", "other-transaction", "Current Reserve Amount",
              -1_400_00, "", "", END.date(), "", None)  # fmt: skip
    written, order = 2, 0
    while written < count:
        order += 1
        day = first_day + dt.timedelta(days=order * span // (count // 6 + 1))
        order_id = f"112-{order:07d}-{rng.randrange(10**7):07d}"
        sku = f"SKU-{rng.randrange(5000):04d}"
        roll = rng.random()
        if roll < 0.002:
            transaction_type, amount_type, description, sign = rng.choice(OTHER_AMOUNTS)
            cents = sign * rng.randrange(1000, 50000)
            amounts = [(transaction_type, amount_type, description, cents)]
            order_id, marketplace, sku, quantity = "", "", "", None
        else:
            refund = roll < 0.05
            item = _order_cents(rng, refund)
            if refund:
                amounts = [("Refund", *kind, item[kind]) for kind in REFUND_AMOUNTS]
                marketplace, quantity = "Amazon.com", None
            else:
                amounts = [
                    ("Order", amount_type, description, item[(amount_type, description)])
                    for amount_type, description, chance in ORDER_AMOUNTS
                    if chance >= 1.0 or rng.random() < chance
                ]
                marketplace, quantity = "Amazon.com", 1 + (order % 3 == 0)
        for transaction_type, amount_type, description, cents in amounts:
            if written >= count:
                return
            yield Row(
                transaction_type,
                amount_type,
                description,
                cents,
                order_id,
                marketplace,
                day,
                sku,
                quantity,
            )
            written += 1


def _line(number: int, row: Row) -> SettlementLine:
    return SettlementLine(
        settlement_id=SETTLEMENT_ID,
        line_no=number,
        transaction_type=row.transaction_type,
        amount_type=row.amount_type,
        amount_description=row.amount_description,
        amount=Decimal(row.cents).scaleb(-2),
        currency=CURRENCY,
        marketplace=row.marketplace,
        order_id=row.order_id,
        merchant_order_id=row.order_id,
        shipment_id=f"D{row.order_id[-7:]}" if row.order_id else "",
        fulfillment_id="AFN" if row.order_id else "",
        posted_date=row.day,
        posted_at=dt.datetime.combine(row.day, dt.time(12), tzinfo=dt.UTC),
        order_item_code=row.order_id.replace("-", "")[:14] if row.order_id else "",
        sku=row.sku,
        quantity=row.quantity,
    )


def settlement_file(lines: int) -> Path:
    """The generated V2 file of ``lines`` lines (column header and summary row included)."""
    folder = Path(tempfile.gettempdir()) / "ml-connector-bench"
    folder.mkdir(exist_ok=True)
    path = folder / f"ingest-v2-{lines}-v{FILE_VERSION}.txt"
    if path.exists():
        return path
    count = lines - 2
    total = Decimal(sum(row.cents for row in _rows(count))).scaleb(-2)
    header = SettlementHeader(SETTLEMENT_ID, START, END, DEPOSIT, total, CURRENCY)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", encoding="utf-8", newline="\n") as out:
        body = (_line(number, row) for number, row in enumerate(_rows(count), 3))
        write_settlement_v2(header, body, out)
    partial.replace(path)
    return path


def floor(path: Path, database: Path) -> int:
    """csv.reader, Decimal and one executemany of two posting rows per line; lines booked."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(f"PRAGMA cache_size={SQLITE_CACHE_SIZE}")
    connection.execute(
        "CREATE TABLE posting (line INTEGER NOT NULL, seq INTEGER NOT NULL, "
        "account VARCHAR NOT NULL, amount_minor BIGINT NOT NULL, PRIMARY KEY (line, seq))"
    )
    counted = [0]

    def rows() -> Iterator[tuple[int, int, str, int]]:
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle, delimiter="\t")
            next(reader)  # column names
            next(reader)  # summary row
            for number, cells in enumerate(reader, 3):
                minor = int(Decimal(cells[14]).scaleb(2))
                account = FLOOR_ACCOUNTS.get(cells[13], "Expenses:Amazon:Other")
                yield (number, 0, "Assets:Amazon:Clearing:US", minor)
                yield (number, 1, account, -minor)
                counted[0] += 1

    connection.execute("BEGIN")
    connection.executemany("INSERT INTO posting VALUES (?, ?, ?, ?)", rows())
    connection.execute("COMMIT")
    connection.close()
    return counted[0]


def _command(path: Path, database: Path, mode: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from ml_connector.core.cli import main; main()",
        "ingest-settlement",
        str(path),
        "--flow",
        "bench",
        "--mode",
        mode,
        "--db",
        f"sqlite:///{database}",
    ]


def ingest_seconds(path: Path, database: Path, mode: str) -> float:
    """Wall seconds of ``ml-connector ingest-settlement`` in a fresh interpreter."""
    began = time.perf_counter()
    done = subprocess.run(_command(path, database, mode), capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(
            f"ingest-settlement failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return seconds


def peak_rss_alone(path: Path, folder: Path, mode: str) -> int:
    """Peak RSS (KiB) of an ingest measured by a fresh runner process of its own.

    ``RUSAGE_CHILDREN`` keeps the maximum over every child this process ever waited for, so
    each measurement goes through a new runner whose only child is the one ingest.
    """
    database = folder / f"rss-{mode}-{path.stem}.sqlite3"
    runner = (
        "import resource, subprocess, sys; "
        "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    command = [sys.executable, "-c", runner, *_command(path, database, mode)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=LINES)
    parser.add_argument("--modes", default="summary,per-order")
    options, _ = parser.parse_known_args()
    modes = [mode for mode in options.modes.split(",") if mode]
    began = time.perf_counter()
    path = settlement_file(options.lines)
    quarter = settlement_file(options.lines // 4)
    prepared = time.perf_counter() - began
    size_mib = path.stat().st_size / 2**20
    print(f"file: {options.lines:,} lines, {size_mib:.1f} MiB (ready in {prepared:.1f} s)")
    failed = False
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        started = time.perf_counter()
        floor_lines = floor(path, folder / "floor.sqlite3")
        floor_seconds = time.perf_counter() - started
        floor_rate = floor_lines / floor_seconds
        print(f"floor (csv.reader + Decimal + executemany): {floor_rate:>10,.0f} lines/s "
              f"({floor_seconds:.2f} s)")  # fmt: skip
        for mode in modes:
            seconds = ingest_seconds(path, folder / f"ingest-{mode}.sqlite3", mode)
            rate = (options.lines - 2) / seconds
            ratio = rate / floor_rate
            small = peak_rss_alone(quarter, folder, mode) / 1024
            large = peak_rss_alone(path, folder, mode) / 1024
            verdict = "meets" if ratio >= REQUIRED_RATIO else "MISSES"
            memory_ok = large < MEMORY_LIMIT_MIB
            if mode == HEADLINE_MODE:
                failed |= ratio < REQUIRED_RATIO or not memory_ok
            print(f"ingest-settlement --mode {mode}:")
            print(f"  rate       {rate:>10,.0f} lines/s ({seconds:.2f} s, wall, whole process)")
            print(f"  ratio      {ratio:.2f} of the floor ({verdict} the required "
                  f"{REQUIRED_RATIO}; aim {AIM_RATIO})")  # fmt: skip
            print(f"  peak RSS   {large:.1f} MiB at {options.lines:,} lines, {small:.1f} MiB at "
                  f"{options.lines // 4:,} lines (limit {MEMORY_LIMIT_MIB} MiB: "
                  f"{'ok' if memory_ok else 'OVER'})")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
