"""The inline SVG chart: well-formed, exact in its tooltips, and drawn to scale."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from reports_fixtures import synthetic_report, synthetic_settlement

from ml_connector.core.reports.chart import (
    COLOURS,
    MAX_COLUMNS,
    bar_chart_svg,
    chart_columns,
    nice_step,
)

SVG = "{http://www.w3.org/2000/svg}"


def rects(svg: str) -> list[ET.Element]:
    return list(ET.fromstring(str(svg)).iter(f"{SVG}rect"))


def title_of(element: ET.Element) -> str:
    found = element.find(f"{SVG}title")
    return found.text if found is not None and found.text else ""


@pytest.mark.parametrize(
    ("span", "step"),
    [
        ("1000", "200"),
        ("1", "0.2"),
        ("37.5", "10"),
        ("0.03", "0.01"),
        ("999999", "200000"),
        ("0", "1"),
    ],
)
def test_nice_step_is_a_round_number(span: str, step: str) -> None:
    assert nice_step(Decimal(span)) == Decimal(step)


def test_one_column_per_settlement_in_deposit_order() -> None:
    report = synthetic_report(
        synthetic_settlement("B", dt.date(2026, 2, 1), {"sales": "10.00"}),
        synthetic_settlement("A", dt.date(2026, 1, 1), {"sales": "20.00", "fee_fba": "-5.00"}),
        synthetic_settlement("E", dt.date(2026, 1, 5), {"sales": "900"}, currency="JPY"),
        synthetic_settlement("H", dt.date(2026, 1, 9), {"sales": "1.00"}, status="hold"),
    )
    columns, per = chart_columns(report, "USD")
    assert per == "settlement"
    assert [c.title for c in columns] == ["Settlement A", "Settlement B"]  # held: nothing booked
    assert columns[0].label == "2026-01-01"
    assert columns[0].groups["fees"] == Decimal("-5.00") and columns[0].deposit == Decimal("15.00")


def test_many_settlements_are_drawn_per_month() -> None:
    settlements = [
        synthetic_settlement(
            f"S{n:03}", dt.date(2026, 1, 1) + dt.timedelta(days=7 * n), {"sales": "10.00"}
        )
        for n in range(MAX_COLUMNS + 1)
    ]
    columns, per = chart_columns(synthetic_report(*settlements), "USD")
    assert per == "month"
    assert [c.label for c in columns][:2] == ["2026-01", "2026-02"]
    assert sum(c.deposit for c in columns) == Decimal("250.00")
    assert columns[0].title == "2026-01: 5 settlement(s)"
    assert columns[0].groups["sales"] == Decimal("50.00")


def test_svg_is_well_formed_with_exact_tooltips() -> None:
    report = synthetic_report(
        synthetic_settlement(
            "A",
            dt.date(2026, 1, 1),
            {"sales": "1234.56", "fee_referral": "-185.18", "refund": "-20.00"},
        )
    )
    columns, _ = chart_columns(report, "USD")
    svg = bar_chart_svg(columns, "USD", title="Where each USD payout went")
    titles = [title_of(r) for r in rects(svg) if title_of(r)]
    assert titles == [
        "Settlement A, Sales: 1,234.56 USD",
        "Settlement A, Refunds: -20.00 USD",
        "Settlement A, Fees: -185.18 USD",
        "Settlement A, paid to bank: 1,029.38 USD",
    ]


def test_bars_are_drawn_to_scale_above_and_below_zero() -> None:
    report = synthetic_report(
        synthetic_settlement("A", dt.date(2026, 1, 1), {"sales": "300.00", "fee_fba": "-100.00"})
    )
    columns, _ = chart_columns(report, "USD")
    drawn = {
        title_of(r).split(", ")[1].split(":")[0]: r
        for r in rects(bar_chart_svg(columns, "USD", title="t"))
        if title_of(r)
    }
    height = {name: Decimal(r.get("height")) for name, r in drawn.items()}
    top = {name: Decimal(r.get("y")) for name, r in drawn.items()}
    # Sales 300 up, fees 100 down, 200 paid: heights in the ratio 3 : 1 : 2.
    assert abs(height["Sales"] - 3 * height["Fees"]) <= Decimal("0.03")
    assert abs(height["paid to bank"] - 2 * height["Fees"]) <= Decimal("0.03")
    # Sales stand on the zero line, where the fees hang from and the deposit stands.
    zero = top["Sales"] + height["Sales"]
    assert top["Fees"] == zero and top["paid to bank"] + height["paid to bank"] == zero
    assert drawn["Sales"].get("fill") == COLOURS["sales"]


def test_a_charge_is_drawn_below_zero() -> None:
    report = synthetic_report(
        synthetic_settlement("C", dt.date(2026, 1, 1), {"subscription": "-39.99"})
    )
    columns, _ = chart_columns(report, "USD")
    svg = bar_chart_svg(columns, "USD", title="t")
    paid = next(r for r in rects(svg) if "paid to bank" in title_of(r))
    fees = next(r for r in rects(svg) if "Fees" in title_of(r))
    assert paid.get("y") == fees.get("y") and paid.get("height") == fees.get("height")
    assert "-39.99 USD" in title_of(paid)


def test_labels_and_titles_are_escaped() -> None:
    report = synthetic_report(
        synthetic_settlement("<b>&", dt.date(2026, 1, 1), {"sales": "1.00"}, flow="a&b")
    )
    columns, _ = chart_columns(report, "USD")
    svg = str(bar_chart_svg(columns, "USD", title="Payouts <USD> & more"))
    assert "<b>&" not in svg and "&lt;b&gt;&amp;" in svg
    assert ET.fromstring(svg).find(f"{SVG}title").text == "Payouts <USD> & more"


def test_an_empty_chart_still_has_an_axis() -> None:
    svg = bar_chart_svg([], "EUR", title="nothing booked")
    root = ET.fromstring(str(svg))
    assert root.tag == f"{SVG}svg"
    assert [r for r in rects(svg) if title_of(r)] == []
    assert any(t.text == "0" for t in root.iter(f"{SVG}text"))
