"""The reconciliation as one self-contained HTML page a bookkeeper can open, keep or print.

One file: the CSS is inline and the charts are inline SVG (:mod:`.chart`), so the page needs no
network, no script and no other file. The template (``templates/report.html.j2``) is rendered
with autoescaping on: settlement ids, reasons and target error texts are data, never markup.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from ml_connector.core.reports.chart import bar_chart_svg, chart_columns
from ml_connector.core.reports.reconcile import (
    GROUP_LABELS,
    GROUP_NAMES,
    FlowReconciliation,
)
from ml_connector.core.reports.terminal import (
    amount_text,
    documents_text,
    period_text,
    status_label,
)

TEMPLATE = "report.html.j2"

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,  # a misspelt name in the template fails, never renders ""
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters["amount"] = amount_text


def render_html(report: FlowReconciliation) -> str:
    """The report as a complete HTML document (a string)."""
    charts = []
    for currency in report.currencies:
        columns, per = chart_columns(report, currency)
        if not columns:
            continue
        title = f"Where each {currency} payout went, per {per}"
        charts.append(
            {
                "currency": currency,
                "title": title,
                "per": per,
                "svg": bar_chart_svg(columns, currency, title=title),
                "not_drawn": sum(
                    1 for s in report if s.currency == currency and s.reconciliation is None
                ),
            }
        )
    return _environment.get_template(TEMPLATE).render(
        report=report,
        charts=charts,
        group_names=GROUP_NAMES,
        group_labels=GROUP_LABELS,
        status_label=status_label,
        period_text=period_text,
        documents_text=documents_text,
    )


def write_html(report: FlowReconciliation, path: Path) -> None:
    """Write :func:`render_html` to ``path`` (UTF-8), replacing the file whole."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(render_html(report), encoding="utf-8")
    partial.replace(path)
