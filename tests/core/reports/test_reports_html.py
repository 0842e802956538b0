"""The HTML page: one well-formed, self-contained, escaped file with the chart inside."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

from reports_fixtures import (
    BOOKED_JPY,
    BOOKED_USD_1,
    FLOW,
    HELD,
    UNMAPPED,
    book_all,
    synthetic_report,
    synthetic_settlement,
)

from ml_connector.core.database import Database
from ml_connector.core.reports import reconcile_all, render_html, write_html
from ml_connector.ledger.reconcile import OrderFinding

VOID = {"meta", "link", "br", "img", "input", "hr", "source", "col", "area", "base", "wbr"}


class StrictPage(HTMLParser):
    """Fails on any element closed out of order or left open; records tags and attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.errors: list[str] = []
        self.doctype = ""
        self.text: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend((tag, name, value) for name, value in attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend((tag, name, value) for name, value in attrs)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> StrictPage:
    parser = StrictPage()
    parser.feed(page)
    parser.close()
    assert parser.errors == [] and parser.stack == [], (parser.errors, parser.stack)
    assert parser.doctype.lower() == "doctype html"
    return parser


def test_the_page_is_well_formed_self_contained_and_has_a_chart_per_currency(
    books: Database,
) -> None:
    page = render_html(reconcile_all(books, flow=FLOW))
    parsed = parse(page)
    assert parsed.tags.count("svg") == 2  # USD and JPY
    assert "script" not in parsed.tags and "link" not in parsed.tags and "img" not in parsed.tags
    for tag, name, value in parsed.attributes:
        assert name != "src", tag
        if name == "href":
            assert value and value.startswith("#"), value  # only links within the page
    # Each chart is itself well-formed XML, so it renders as SVG wherever the page is opened.
    start = page.index("<svg")
    svg = page[start : page.index("</svg>", start) + len("</svg>")]
    assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
    assert "@media print" in page


def test_the_page_lists_every_settlement_and_explains_the_problems(books: Database) -> None:
    parsed = parse(render_html(reconcile_all(books, flow=FLOW)))
    text = " ".join(" ".join(parsed.text).split())
    for settlement_id in (BOOKED_USD_1, BOOKED_JPY, HELD, UNMAPPED):
        assert settlement_id in text
    assert "2 of 6 settlement(s) need attention" in text
    assert "Lines sum to 95.00 USD but Amazon reports a deposit of 100.00 USD" in text
    assert "Something New" in text and "What to do:" in text
    assert "1,234.56" in text and "on hold" in text and "unmapped lines" in text


def test_a_page_of_reconciled_settlements_says_so(database: Database) -> None:
    book_all(database, problems=False)
    text = " ".join(parse(render_html(reconcile_all(database))).text)
    assert "All 4 settlement(s) reconcile" in text and "Needs attention" not in text


def test_data_is_escaped_never_markup() -> None:
    report = synthetic_report(
        synthetic_settlement(
            "<img src=x>",
            dt.date(2026, 1, 3),
            {"sales": "1.00"},
            status="hold",
            reason="<script>alert('x')</script> & more",
        ),
        synthetic_settlement(
            "77",
            dt.date(2026, 1, 5),
            {"sales": "10.00"},
            mode="per-order",
            findings=(
                OrderFinding("<b>order</b>", invoiced=Decimal("10.00"), settled=Decimal("9.00")),
            ),
        ),
    )
    page = render_html(report)
    assert "<script>" not in page and "<img src=x>" not in page and "<b>order</b>" not in page
    parsed = parse(page)
    text = " ".join(parsed.text)
    assert "<script>alert('x')</script> & more" in text  # shown as text, not run
    assert "<b>order</b>" in text
    assert "order findings" in text


def test_an_empty_database_renders_a_page_saying_so(database: Database) -> None:
    text = " ".join(parse(render_html(reconcile_all(database))).text)
    assert "No settlements have been booked" in text


def test_write_html_replaces_the_file_whole(books: Database, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old", encoding="utf-8")
    write_html(reconcile_all(books), target)
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("report")] == ["report.html"]
