"""Reports on the books: the reconciliation of every settlement, for the terminal, JSON and HTML.

- :func:`reconcile_all` builds a :class:`FlowReconciliation` from the database (read only);
- :func:`print_reconciliation` prints it as rich tables;
- :meth:`FlowReconciliation.to_json` / :meth:`FlowReconciliation.from_json` write and read it
  with exact decimal strings;
- :func:`render_html` / :func:`write_html` make one self-contained page with an SVG chart.
"""

from ml_connector.core.reports.html import render_html, write_html
from ml_connector.core.reports.reconcile import (
    CATEGORY_GROUPS,
    CurrencyTotals,
    DocumentProblem,
    FlowReconciliation,
    OutboxSummary,
    SettlementReport,
    reconcile_all,
)
from ml_connector.core.reports.terminal import print_reconciliation, status_label

__all__ = [
    "CATEGORY_GROUPS",
    "CurrencyTotals",
    "DocumentProblem",
    "FlowReconciliation",
    "OutboxSummary",
    "SettlementReport",
    "print_reconciliation",
    "reconcile_all",
    "render_html",
    "status_label",
    "write_html",
]
