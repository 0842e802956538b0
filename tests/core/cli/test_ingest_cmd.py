"""``ml-connector ingest-settlement``: files book whole or not at all, once, streaming in both modes."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ml_connector.core.amazon.settlement_file import write_settlement_v1, write_settlement_v2
from ml_connector.core.cli import app
from ml_connector.core.database import open_database
from ml_connector.ledger.posting import book_settlement
from ml_connector.ledger.rules import default_rules
from ml_connector.ledger.settlement import SettlementHeader, SettlementLine

SALE = ("Order", "ItemPrice", "Principal")
TAX = ("Order", "ItemPrice", "Tax")
COMMISSION = ("Order", "ItemFees", "Commission")
PROMOTION = ("Order", "Promotion", "Shipping")
UNKNOWN = ("other-transaction", "other-transaction", "Something New")
START = dt.datetime(2026, 1, 20, tzinfo=dt.UTC)
END = dt.datetime(2026, 2, 3, tzinfo=dt.UTC)

Row = tuple[tuple[str, str, str], str, str, dt.date]  # combination, amount, order id, posted


def settlement(
    settlement_id: str, rows: list[Row], *, total: str | None = None
) -> tuple[SettlementHeader, list[SettlementLine]]:
    lines = [
        SettlementLine(
            settlement_id=settlement_id,
            line_no=number,
            transaction_type=combination[0],
            amount_type=combination[1],
            amount_description=combination[2],
            amount=Decimal(amount),
            currency="USD",
            marketplace="Amazon.com" if order_id else "",
            order_id=order_id,
            posted_date=posted,
        )
        for number, (combination, amount, order_id, posted) in enumerate(rows, start=3)
    ]
    lines_sum = sum((line.amount for line in lines), Decimal(0))
    header = SettlementHeader(
        settlement_id=settlement_id,
        start=START,
        end=END,
        deposit_date=END + dt.timedelta(days=2),
        total_amount=Decimal(total) if total is not None else lines_sum,
        currency="USD",
    )
    return header, lines


def write(path: Path, header: SettlementHeader, lines: list[SettlementLine]) -> Path:
    text = io.StringIO()
    write_settlement_v2(header, lines, text)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.getvalue().encode("utf-8")))
    else:
        path.write_text(text.getvalue(), encoding="utf-8")
    return path


JAN, FEB = dt.date(2026, 1, 28), dt.date(2026, 2, 2)
# Order A's invoiced lines come apart (its promotion arrives after order B's lines), which the
# streaming per-order pass must still book as one entry.
ROWS: list[Row] = [
    (SALE, "20.00", "111-0000001-0000001", JAN),
    (TAX, "1.60", "111-0000001-0000001", JAN),
    (COMMISSION, "-3.00", "111-0000001-0000001", JAN),
    (SALE, "35.50", "111-0000002-0000002", FEB),
    (COMMISSION, "-5.33", "111-0000002-0000002", FEB),
    (PROMOTION, "-2.00", "111-0000001-0000001", FEB),
    (("other-transaction", "other-transaction", "Storage Fee"), "-4.10", "", FEB),
]


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"


def ingest(url: str, *args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["ingest-settlement", *map(str, args), "--flow", "shop", "--db", url]
    )
    return result.exit_code, result.output


def entry_ids(url: str) -> set[str]:
    database = open_database(url)
    with database.engine.connect() as conn:
        return {row[0] for row in conn.exec_driver_sql("SELECT id FROM ledger_entry")}


def test_summary_file_books_once_and_reingesting_changes_nothing(tmp_path: Path, url: str) -> None:
    path = write(tmp_path / "s1.txt", *settlement("1001", ROWS))
    code, output = ingest(url, path)
    assert code == 0, output
    assert "1001" in output and "booked" in output
    stored = entry_ids(url)
    assert len(stored) == 2  # the settlement entry and the payout
    code, output = ingest(url, path)
    assert code == 0, output
    assert "already-booked" in output
    assert entry_ids(url) == stored


def test_per_order_books_the_same_entries_as_booking_in_memory(tmp_path: Path, url: str) -> None:
    header, lines = settlement("1002", ROWS)
    path = write(tmp_path / "s2.txt.gz", header, lines)
    code, output = ingest(url, path, "--mode", "per-order", "--json")
    assert code == 0, output
    (reported,) = json.loads(output)
    expected = book_settlement(header, lines, default_rules(), mode="per-order")
    assert reported["status"] == "booked"
    # The same object as 'reconcile --json', money as exact decimal strings.
    assert reported["settlement_id"] == "1002" and reported["balanced"] is True
    assert reported["total_amount"] == reported["lines_sum"] == str(header.total_amount)
    assert reported["clearing_balance"] in ("0.00", "0")
    # two orders, the entry paying their receivables, settlement, payout
    assert reported["entries"] == len(expected.entries) == 5
    database = open_database(url)
    stored = {
        entry.id: entry for entry in database.ledger.entries_with_meta("settlement_id", "1002")
    }
    # Equal content: the streamed entries are the in-memory ones (the ledger's hash compares).
    assert {e.id: e.content_hash for e in stored.values()} == {
        e.id: e.content_hash for e in expected.entries
    }
    order_a = next(e for e in expected.entries if e.meta.get("order_id") == "111-0000001-0000001")
    assert sum(p.amount for p in order_a.postings if p.account.startswith("Assets")) == Decimal(
        "19.60"
    )


def test_split_by_month_and_v1_files_book(tmp_path: Path, url: str) -> None:
    header, lines = settlement("1003", ROWS[:-1])  # V1 has no column for a storage fee row
    text = io.StringIO()
    write_settlement_v1(header, lines, text)
    path = tmp_path / "s3-v1.txt"
    path.write_text(text.getvalue(), encoding="utf-8")
    code, output = ingest(url, path, "--split-by-month", "--json")
    assert code == 0, output
    assert json.loads(output)[0]["entries"] == 3  # January, February, payout


def test_unmapped_lines_book_nothing_until_a_rules_file_maps_them(tmp_path: Path, url: str) -> None:
    rows = [*ROWS, (UNKNOWN, "-1.25", "", FEB)]
    path = write(tmp_path / "s4.txt", *settlement("1004", rows))
    code, output = ingest(url, path)
    assert code == 1
    assert "unmapped" in output and "Something New" in output
    assert entry_ids(url) == set()
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[rules]]\ntransaction_type = "other-transaction"\namount_type = "*"\n'
        'amount_description = "Something New"\naccount = "Expenses:Amazon:Other"\n'
        'category = "other"\n',
        encoding="utf-8",
    )
    code, output = ingest(url, path, "--rules", rules)
    assert code == 0, output
    assert len(entry_ids(url)) == 2


def test_a_total_that_does_not_match_holds_the_file_and_exits_1(tmp_path: Path, url: str) -> None:
    held = write(tmp_path / "held.txt", *settlement("1005", ROWS, total="99.99"))
    good = write(tmp_path / "good.txt", *settlement("1006", ROWS))
    code, output = ingest(url, held, good, "--mode", "per-order", "--json")
    assert code == 1
    by_file = {Path(item["file"]).name: item for item in json.loads(output)}
    assert by_file["held.txt"]["status"] == "hold"
    assert "99.99" in by_file["held.txt"]["reason"]
    assert by_file["held.txt"]["entries"] == 0
    assert by_file["good.txt"]["status"] == "booked"
    database = open_database(url)
    assert database.ledger.entries_with_meta("settlement_id", "1005") == []


def test_a_malformed_file_names_the_file_and_line_and_books_nothing(
    tmp_path: Path, url: str
) -> None:
    path = write(tmp_path / "bad.txt", *settlement("1007", ROWS))
    text = path.read_text(encoding="utf-8").replace("35.50", "35.5.0")
    path.write_text(text, encoding="utf-8")
    code, output = ingest(url, path)
    assert code == 1
    assert "bad.txt" in output and "line 6" in output
    assert entry_ids(url) == set()


def test_an_unknown_mode_is_a_usage_error(tmp_path: Path, url: str) -> None:
    path = write(tmp_path / "s8.txt", *settlement("1008", ROWS))
    code, _ = ingest(url, path, "--mode", "per-line")
    assert code == 2


def test_files_book_without_a_flow_into_the_files_flow(tmp_path: Path, url: str) -> None:
    header, lines = settlement("1009", ROWS)
    path = write(tmp_path / "s9.txt", header, lines)
    result = CliRunner().invoke(app, ["ingest-settlement", str(path), "--db", url, "--json"])
    assert result.exit_code == 0, result.output
    (reported,) = json.loads(result.output)
    assert reported["flow"] == "files" and reported["status"] == "booked"
