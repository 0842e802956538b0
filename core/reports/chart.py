"""Where each payout went, as an inline SVG bar chart (no script, no external file).

Each column is one settlement (or one month, when a currency has too many settlements to read
one by one). Its stacked bar shows what each group of categories added to the payout (sales
above the zero line) or took from it (fees, refunds, reserves held back below it); the dark bar
beside it is what actually reached the bank, which is the stack's net when the settlement ties
out. One chart per currency: amounts in different currencies are not drawn on one scale.

Geometry is computed in ``Decimal`` like the money it draws (the quality bar forbids floats
anywhere) and written with two decimals, which is far finer than a pixel.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from html import escape

from markupsafe import Markup

from ml_connector.core.reports.reconcile import (
    GROUP_LABELS,
    GROUP_NAMES,
    FlowReconciliation,
    money,
)

#: Above this many booked settlements in one currency the chart shows months instead.
MAX_COLUMNS = 24

COLOURS: Mapping[str, str] = {
    "sales": "#3f8f5f",
    "refunds": "#d0643f",
    "fees": "#d9a22b",
    "reserves": "#5b7fb8",
    "other": "#9a8c98",
    "deposit": "#2c3e73",
}

_LEFT, _RIGHT, _TOP, _BOTTOM = Decimal(88), Decimal(16), Decimal(44), Decimal(84)
_PLOT_HEIGHT = Decimal(240)
_SLOT = Decimal(56)
_MIN_WIDTH = Decimal(640)
_TWO_PLACES = Decimal("0.01")
_NO_DATE = dt.date.min
_STYLE = (
    "<style>text{font:11px system-ui,sans-serif;fill:#374151}.tick,.label{text-anchor:end}"
    ".legend{font-size:12px}.grid{stroke:#e5e7eb;stroke-width:1}.zero{stroke:#374151;stroke-width:1.5}"
    ".unit{text-anchor:middle;font-weight:600}</style>"
)


@dataclass(frozen=True)
class ChartColumn:
    """One column: a label under it, a tooltip, the group amounts and the deposit."""

    label: str
    title: str
    groups: Mapping[str, Decimal]
    deposit: Decimal


def chart_columns(report: FlowReconciliation, currency: str) -> tuple[list[ChartColumn], str]:
    """The columns for ``currency`` and what a column is (``"settlement"`` or ``"month"``).

    Only booked settlements have a breakdown to draw; they come in deposit-date order.
    """
    booked = sorted(
        (s for s in report if s.currency == currency and s.reconciliation is not None),
        key=lambda s: (s.deposit_date or s.end or s.start or _NO_DATE, s.settlement_id),
    )
    if len(booked) <= MAX_COLUMNS:
        return [
            ChartColumn(
                label=s.deposit_date.isoformat() if s.deposit_date else s.settlement_id,
                title=f"Settlement {s.settlement_id}"
                + (f" ({s.flow})" if len(report.flows) > 1 else ""),
                groups=s.groups,
                deposit=s.booked_total,
            )
            for s in booked
        ], "settlement"
    months: dict[str, dict[str, Decimal]] = {}
    deposits: dict[str, Decimal] = {}
    counts: dict[str, int] = {}
    for s in booked:
        day = s.deposit_date or s.end or s.start
        month = day.strftime("%Y-%m") if day else "undated"
        totals = months.setdefault(month, dict.fromkeys(GROUP_NAMES, Decimal(0)))
        for name, amount in s.groups.items():
            totals[name] += amount
        deposits[month] = deposits.get(month, Decimal(0)) + s.booked_total
        counts[month] = counts.get(month, 0) + 1
    return [
        ChartColumn(
            label=month,
            title=f"{month}: {counts[month]} settlement(s)",
            groups=months[month],
            deposit=deposits[month],
        )
        for month in sorted(months)
    ], "month"


def _q(value: Decimal) -> str:
    return str(value.quantize(_TWO_PLACES))


def nice_step(span: Decimal, ticks: int = 5) -> Decimal:
    """A round tick step (1, 2 or 5 times a power of ten) giving about ``ticks`` intervals."""
    if span <= 0:
        return Decimal(1)
    raw = span / ticks
    magnitude = Decimal(1).scaleb(raw.adjusted())
    for multiple in (1, 2, 5, 10):
        if raw <= multiple * magnitude:
            return multiple * magnitude
    return 10 * magnitude  # pragma: no cover - raw < 10 * magnitude by definition of adjusted()


def _axis(columns: Sequence[ChartColumn]) -> tuple[Decimal, Decimal, Decimal]:
    """Axis minimum, maximum and tick step: round numbers enclosing every bar and zero."""
    low = high = Decimal(0)
    for column in columns:
        up = sum((v for v in column.groups.values() if v > 0), Decimal(0))
        down = sum((v for v in column.groups.values() if v < 0), Decimal(0))
        low = min(low, down, column.deposit)
        high = max(high, up, column.deposit)
    step = nice_step(high - low)
    axis_low = (low / step).to_integral_value(rounding=ROUND_FLOOR) * step
    axis_high = (high / step).to_integral_value(rounding=ROUND_CEILING) * step
    if axis_low == axis_high:
        axis_high = axis_low + step
    return axis_low, axis_high, step


def _tick_text(value: Decimal) -> str:
    plain = value.normalize() + 0  # "+ 0" turns a negative zero into zero
    return f"{plain:,f}"


def bar_chart_svg(columns: Sequence[ChartColumn], currency: str, *, title: str) -> Markup:
    """The chart as one ``<svg>`` element, safe to place in an autoescaped template.

    Every rectangle has a ``<title>`` with its exact amount, so hovering (or a screen reader)
    gives the figure the bar stands for.
    """
    count = len(columns)
    width = max(_MIN_WIDTH, _LEFT + _SLOT * count + _RIGHT)
    height = _TOP + _PLOT_HEIGHT + _BOTTOM
    low, high, step = _axis(columns)
    scale = _PLOT_HEIGHT / (high - low)

    def y(value: Decimal) -> Decimal:
        return _TOP + (high - value) * scale

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {_q(width)} {_q(height)}" width="{_q(width)}" height="{_q(height)}" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        _STYLE,
    ]
    # Legend, across the top.
    x = _LEFT
    for key in (*GROUP_NAMES, "deposit"):
        label = GROUP_LABELS.get(key, "Paid to bank")
        out.append(
            f'<rect x="{_q(x)}" y="12" width="12" height="12" fill="{COLOURS[key]}"/>'
            f'<text x="{_q(x + 16)}" y="22" class="legend">{escape(label)}</text>'
        )
        x += Decimal(22) + Decimal(7) * len(label)
    # Grid and axis labels.
    tick = low
    while tick <= high:
        ty = y(tick)
        line_class = "zero" if tick == 0 else "grid"
        out.append(
            f'<line x1="{_q(_LEFT)}" x2="{_q(width - _RIGHT)}" y1="{_q(ty)}" y2="{_q(ty)}" '
            f'class="{line_class}"/>'
            f'<text x="{_q(_LEFT - 6)}" y="{_q(ty + 4)}" class="tick">'
            f"{escape(_tick_text(tick))}</text>"
        )
        tick += step
    out.append(
        f'<text x="14" y="{_q(_TOP + _PLOT_HEIGHT / 2)}" class="unit" '
        f'transform="rotate(-90 14 {_q(_TOP + _PLOT_HEIGHT / 2)})">{escape(currency)}</text>'
    )
    # Columns.
    for index, column in enumerate(columns):
        slot_x = _LEFT + _SLOT * index
        bar_x = slot_x + Decimal(8)
        bar_w = Decimal(26)
        up = down = Decimal(0)
        out.append(f'<g class="column"><title>{escape(column.title)}</title>')
        for key in GROUP_NAMES:
            amount = column.groups.get(key, Decimal(0))
            if amount == 0:
                continue
            if amount > 0:
                top, bottom = up + amount, up
                up = top
            else:
                top, bottom = down, down + amount
                down = bottom
            out.append(
                f'<rect x="{_q(bar_x)}" y="{_q(y(top))}" width="{_q(bar_w)}" '
                f'height="{_q(y(bottom) - y(top))}" fill="{COLOURS[key]}">'
                f"<title>{escape(f'{column.title}, {GROUP_LABELS[key]}: {money(amount, currency)}')}"
                "</title></rect>"
            )
        top, bottom = max(column.deposit, Decimal(0)), min(column.deposit, Decimal(0))
        out.append(
            f'<rect x="{_q(bar_x + bar_w + 2)}" y="{_q(y(top))}" width="12" '
            f'height="{_q(y(bottom) - y(top))}" fill="{COLOURS["deposit"]}">'
            f"<title>{escape(f'{column.title}, paid to bank: {money(column.deposit, currency)}')}"
            "</title></rect>"
        )
        label_x = slot_x + _SLOT / 2
        label_y = _TOP + _PLOT_HEIGHT + 14
        out.append(
            f'<text x="{_q(label_x)}" y="{_q(label_y)}" class="label" '
            f'transform="rotate(-40 {_q(label_x)} {_q(label_y)})">{escape(column.label)}</text>'
            "</g>"
        )
    out.append("</svg>")
    return Markup("".join(out))
