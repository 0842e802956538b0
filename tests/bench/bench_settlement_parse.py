"""Benchmark: parsing a 1,000,000-line V2 settlement file against plain ``csv.reader``.

Run ``python tests/bench/bench_settlement_parse.py``. It writes the file into a temporary
directory, times ``csv.reader(delimiter='\\t')`` just iterating the rows, then times
``open_settlement_file`` producing every ``SettlementLine``, and prints lines/second for both and
their ratio (CPU time of the process, best of two runs, so other load on the machine skews the
figures less). Peak memory is the peak resident set size (``resource.getrusage(...).ru_maxrss``)
of a fresh subprocess that only parses the file, beside the same figure for a subprocess that
only imports the modules, so the difference is what parsing costs, and the ``tracemalloc`` peak
of Python allocations during the parse in that subprocess; a streaming parser keeps both small
and independent of the file's length.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

LINES = 1_000_000
RUNS = 2
SETTLEMENT_ID = "11223344556"

HEADER = (
    "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\t"
    "currency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\t"
    "marketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\t"
    "posted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\t"
    "sku\tquantity-purchased"
)
# (amount-type, amount-description, sign) of the rows an order item produces.
ORDER_AMOUNTS = (
    ("ItemPrice", "Principal", 1),
    ("ItemPrice", "Tax", 1),
    ("ItemPrice", "Shipping", 1),
    ("ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", -1),
    ("ItemFees", "Commission", -1),
    ("ItemFees", "FBAPerUnitFulfillmentFee", -1),
    ("Promotion", "Shipping", -1),
)


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def _order_rows(lines: int) -> Iterator[tuple[str, int]]:
    """(row text, amount in cents) of the data rows: orders of seven amount rows each.

    Seeded, so two calls give the same rows: one pass sums the total, the next writes.
    """
    rng = random.Random(20240601)
    written, order = 0, 0
    while written < lines:
        order += 1
        day = 1 + order * 14 // (lines // 7 + 1)
        posted_date = f"06/{day:02d}/24"
        posted_at = f"2024-06-{day:02d} {order % 24:02d}:{order % 60:02d}:{order % 59:02d} UTC"
        order_id = f"112-{order:07d}-{rng.randrange(10**7):07d}"
        sku = f"SKU-{rng.randrange(5000):04d}"
        for amount_type, description, sign in ORDER_AMOUNTS:
            if written >= lines:
                return
            cents = sign * rng.randrange(1, 20000)
            yield (
                (
                    f"{SETTLEMENT_ID}\t\t\t\t\tUSD\tOrder\t{order_id}\t{order_id}\t\t"
                    f"D{order:08d}\tAmazon.com\t{amount_type}\t{description}\t{_money(cents)}\t"
                    f"AFN\t{posted_date}\t{posted_at}\t{order:014d}\t\t\t{sku}\t1\n"
                ),
                cents,
            )
            written += 1


def write_file(path: Path, lines: int) -> None:
    """A realistic V2 file of ``lines`` lines: header, summary row, order rows."""
    total = sum(cents for _, cents in _order_rows(lines - 2))
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(HEADER + "\n")
        out.write(
            f"{SETTLEMENT_ID}\t2024-06-01T00:00:00+00:00\t2024-06-15T00:00:00+00:00\t"
            f"2024-06-17T00:00:00+00:00\t{_money(total)}\tUSD" + "\t" * 17 + "\n"
        )
        for row, _ in _order_rows(lines - 2):
            out.write(row)


def best_of(runs: int, measure: Callable[[], int]) -> tuple[int, float]:
    """(count, fastest CPU seconds) over ``runs`` runs.

    CPU time of this process rather than wall time, so that other work on the machine
    disturbs the figures less; the fastest run is the least disturbed.
    """
    timings = []
    for _ in range(runs):
        started = time.process_time()
        count = measure()
        timings.append(time.process_time() - started)
    return count, min(timings)


def csv_rows(path: Path) -> int:
    rows = 0
    with open(path, encoding="utf-8", newline="") as handle:
        for _ in csv.reader(handle, delimiter="\t"):
            rows += 1
    return rows


def parsed_lines(path: Path) -> int:
    from ml_connector.core.amazon.settlement_file import open_settlement_file

    count = 0
    with open_settlement_file(path) as report:
        for _ in report:
            count += 1
    return count


def child_memory(path: Path, *, parse: bool) -> tuple[int, int]:
    """(ru_maxrss KiB, tracemalloc peak bytes) of a fresh interpreter that imports, maybe parses."""
    args = [sys.executable, __file__, "--child", str(path)] + ([] if parse else ["--import-only"])
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout.split()
    return int(out[0]), int(out[1])


def child(path: Path, import_only: bool) -> None:
    from ml_connector.core.amazon.settlement_file import open_settlement_file

    tracemalloc.start()
    if not import_only:
        with open_settlement_file(path) as report:
            sum(1 for _ in report)
    peak = tracemalloc.get_traced_memory()[1]
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, peak)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child")
    parser.add_argument("--import-only", action="store_true")
    parser.add_argument("--lines", type=int, default=LINES)
    options = parser.parse_args()
    if options.child:
        child(Path(options.child), options.import_only)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "settlement-v2.txt"
        write_file(path, options.lines)
        size_mib = path.stat().st_size / 2**20
        rows, csv_seconds = best_of(RUNS, lambda: csv_rows(path))
        lines, parse_seconds = best_of(RUNS, lambda: parsed_lines(path))
        assert lines == rows - 2, (lines, rows)
        csv_rate = rows / csv_seconds
        parse_rate = lines / parse_seconds
        base_rss, _ = child_memory(path, parse=False)
        parse_rss, parse_peak = child_memory(path, parse=True)
    print(f"file: {options.lines:,} lines, {size_mib:.1f} MiB")
    print(f"timing: CPU seconds (time.process_time), best of {RUNS} runs")
    print(f"csv.reader (rows only):  {csv_rate:>12,.0f} lines/s  ({csv_seconds:.2f} s)")
    print(f"open_settlement_file:    {parse_rate:>12,.0f} lines/s  ({parse_seconds:.2f} s)")
    print(f"ratio parse/csv:         {parse_rate / csv_rate:.2f}")
    print(
        f"peak RSS (ru_maxrss, subprocess): import only {base_rss / 1024:.1f} MiB, "
        f"import + parse {parse_rss / 1024:.1f} MiB, parse adds {(parse_rss - base_rss) / 1024:.1f} MiB"
    )
    print(f"tracemalloc peak of the parse (subprocess): {parse_peak / 2**20:.2f} MiB")


if __name__ == "__main__":
    main()
