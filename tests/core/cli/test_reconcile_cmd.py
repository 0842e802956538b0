"""``ml-connector reconcile``: tables, JSON and HTML files, and exit codes a scheduler can use."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ml_connector.core.amazon.settlement_file import write_settlement_v2
from ml_connector.core.booking import book_settlement_document
from ml_connector.core.cli import app
from ml_connector.core.database import open_database
from ml_connector.core.reports import FlowReconciliation
from ml_connector.ledger.rules import default_rules
from ml_connector.ledger.settlement import SettlementHeader, SettlementLine

FLOW = "shop"
NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
SALE = ("Order", "ItemPrice", "Principal")
COMMISSION = ("Order", "ItemFees", "Commission")
UNKNOWN = ("other-transaction", "other-transaction", "Something New")


def book(url: str, settlement_id: str, total: str, rows: list[tuple[tuple[str, str, str], str]]):
    """Write a V2 file for the settlement and book it into the database at ``url``."""
    day = dt.datetime(2026, 1, int(settlement_id[-1]) + 10, tzinfo=dt.UTC)
    header = SettlementHeader(
        settlement_id=settlement_id,
        start=day - dt.timedelta(days=14),
        end=day,
        deposit_date=day + dt.timedelta(days=2),
        total_amount=Decimal(total),
        currency="USD",
    )
    lines = [
        SettlementLine(
            settlement_id=settlement_id,
            line_no=number,
            transaction_type=combination[0],
            amount_type=combination[1],
            amount_description=combination[2],
            amount=Decimal(amount),
            currency="USD",
            marketplace="Amazon.com",
            order_id=f"111-000000{number}-000000{number}",
        )
        for number, (combination, amount) in enumerate(rows, start=3)
    ]
    text = io.StringIO()
    write_settlement_v2(header, lines, text)
    database = open_database(url)
    return book_settlement_document(
        database.ledger,
        flow=FLOW,
        document=text.getvalue().encode("utf-8"),
        source=f"{settlement_id}.txt",
        rules=default_rules(),
        now=NOW,
    )


@pytest.fixture
def good_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'books.sqlite'}"
    assert book(url, "5001", "17.00", [(SALE, "20.00"), (COMMISSION, "-3.00")]).status == "booked"
    assert book(url, "5002", "1234.56", [(SALE, "1234.56")]).status == "booked"
    return url


@pytest.fixture
def troubled_db(good_db: str) -> str:
    assert book(good_db, "5003", "100.00", [(SALE, "95.00")]).status == "hold"
    assert book(good_db, "5004", "7.00", [(SALE, "10.00"), (UNKNOWN, "-3.00")]).status == "unmapped"
    return good_db


def run(*args: str):
    return CliRunner().invoke(app, ["reconcile", *args], env={"COLUMNS": "160"})


def test_books_that_tie_out_exit_zero(good_db: str) -> None:
    result = run("--db", good_db, "--flow", FLOW)
    assert result.exit_code == 0, result.output
    assert "5001" in result.output and "1,234.56" in result.output
    assert result.output.count("reconciled") == 2
    assert "All 2 settlement(s) reconcile." in result.output


def test_a_hold_or_unmapped_line_exits_one_and_says_why(troubled_db: str) -> None:
    result = run("--db", troubled_db)
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "on hold" in output and "unmapped lines" in output
    assert "Lines sum to 95.00 USD but Amazon reports a deposit of 100.00 USD" in output
    assert "Something New" in output and "What to do:" in output
    assert "2 of 4 settlement(s) need attention." in output


def test_json_and_html_files_are_written(troubled_db: str, tmp_path: Path) -> None:
    json_file, html_file = tmp_path / "out.json", tmp_path / "out.html"
    result = run("--db", troubled_db, "--json-file", str(json_file), "--html", str(html_file))
    assert result.exit_code == 1
    assert f"JSON report written to {json_file}" in result.output.replace("\n", "")
    report = FlowReconciliation.from_json(json_file.read_text(encoding="utf-8"))
    assert len(report) == 4 and not report.ok
    assert {s.settlement_id: s.status for s in report} == {
        "5001": "booked",
        "5002": "booked",
        "5003": "hold",
        "5004": "unmapped",
    }
    held = next(s for s in report if s.settlement_id == "5003")
    assert held.deposit == Decimal("100.00") and held.booked_total == 0
    page = html_file.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "5003" in page


def test_json_to_stdout_is_only_json(good_db: str) -> None:
    result = run("--db", good_db, "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert [s["total_amount"] for s in data["settlements"]] == ["17.00", "1234.56"]


def test_one_settlement_shows_its_categories(good_db: str) -> None:
    result = run("--db", good_db, "--settlement", "5001")
    assert result.exit_code == 0
    assert "5001 by category" in result.output and "fee_referral" in result.output
    assert "5002" not in result.output


def test_an_unknown_settlement_is_an_error(good_db: str) -> None:
    result = run("--db", good_db, "--settlement", "404", "--flow", FLOW)
    assert result.exit_code == 1
    assert "no settlement 404 in flow shop" in result.stderr


def test_an_unwritable_report_file_is_a_clear_error(good_db: str, tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "report.html"
    result = run("--db", good_db, "--html", str(target))
    assert result.exit_code == 1
    assert "cannot write the HTML report" in result.stderr and "missing-dir" in result.stderr


def test_misuse_exits_two(good_db: str) -> None:
    assert run("--db", good_db, "--no-such-option").exit_code == 2


def test_an_empty_database_has_nothing_to_reconcile(tmp_path: Path) -> None:
    result = run("--db", f"sqlite:///{tmp_path / 'empty.sqlite'}")
    assert result.exit_code == 0
    assert "No settlements booked, held or unmapped for any flow yet." in result.output
