"""The reconciliation in the terminal: rich tables a bookkeeper reads top to bottom.

First one row per settlement (period, deposit, what the books moved to the bank, the difference,
status, documents); then where each payout went (sales, refunds, fees, reserves, other); then
totals per currency; last, every settlement that needs a person, with the reason and what to do.
"""

from __future__ import annotations

from decimal import Decimal

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ml_connector.core.booking import BOOKED, HOLD, UNMAPPED
from ml_connector.core.reports.reconcile import (
    GROUP_LABELS,
    GROUP_NAMES,
    FlowReconciliation,
    SettlementReport,
)
from ml_connector.ledger.money import require_exact


def status_label(settlement: SettlementReport) -> str:
    """The status in a few words: ``reconciled``, ``on hold``, ``does not reconcile``..."""
    if settlement.status == HOLD:
        return "on hold"
    if settlement.status == UNMAPPED:
        return "unmapped lines"
    if settlement.status != BOOKED:
        return settlement.status.replace("_", " ")
    if not settlement.balanced:
        return "does not reconcile"
    if not settlement.reconciles:
        return "order findings"
    return "reconciled"


def amount_text(amount: Decimal | None, currency: str | None) -> str:
    """A table cell's amount: ``1,234.56`` (the currency has its own column); ``?`` if unknown."""
    if amount is None or currency is None:
        return "?"
    return f"{require_exact(amount, currency):,}"


def period_text(settlement: SettlementReport, *, sep: str = " to ") -> str:
    """The settlement's period, ``2026-08-02 to 2026-08-16`` (``?`` when unknown)."""
    if settlement.start is None or settlement.end is None:
        return "?"
    return f"{settlement.start.isoformat()}{sep}{settlement.end.isoformat()}"


def documents_text(settlement: SettlementReport) -> str:
    """``12/12 posted``, ``10/12 posted, 1 failed, 1 in doubt``, or ``-`` when none rendered."""
    summary = settlement.outbox
    if summary is None:
        return "-"
    parts = [f"{summary['posted']}/{summary.total} posted"]
    for state, words in (("failed", "failed"), ("in_doubt", "in doubt"), ("undone", "undone")):
        if summary[state]:
            parts.append(f"{summary[state]} {words}")
    return ", ".join(parts)


def _status_cell(settlement: SettlementReport) -> Text:
    label = status_label(settlement)
    style = "green" if settlement.reconciles else "bold red"
    if settlement.status == BOOKED and settlement.balanced and not settlement.reconciles:
        style = "yellow"
    return Text(label, style=style)


def settlements_table(report: FlowReconciliation) -> Table:
    many_flows = len(report.flows) > 1
    with_documents = any(s.outbox is not None for s in report)
    table = Table(
        title="Settlements",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
    )
    if many_flows:
        table.add_column("flow")
    # Ids, dates, amounts and statuses never wrap or shorten: a bookkeeper copies them.
    table.add_column("settlement", no_wrap=True)
    table.add_column("period", no_wrap=True)
    table.add_column("cur", no_wrap=True)
    table.add_column("deposit", justify="right", no_wrap=True)
    table.add_column("booked", justify="right", no_wrap=True)
    table.add_column("difference", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    if with_documents:
        table.add_column("documents")
    for s in report:
        cells = [
            s.settlement_id,
            period_text(s, sep="\n"),
            s.currency or "?",
            amount_text(s.deposit, s.currency),
            amount_text(s.booked_total, s.currency),
            amount_text(s.difference, s.currency),
        ]
        table.add_row(
            *([s.flow] if many_flows else []),
            *cells,
            _status_cell(s),
            *([documents_text(s)] if with_documents else []),
        )
    return table


def payouts_table(report: FlowReconciliation) -> Table | None:
    """Where each booked payout went, by group of categories; None when nothing is booked."""
    booked = [s for s in report if s.reconciliation is not None]
    if not booked:
        return None
    table = Table(title="Where each payout went", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("settlement", no_wrap=True)
    table.add_column("cur", no_wrap=True)
    for name in GROUP_NAMES:
        table.add_column(GROUP_LABELS[name].lower(), justify="right", no_wrap=True)
    table.add_column("paid to bank", justify="right", no_wrap=True)
    for s in booked:
        groups = s.groups
        table.add_row(
            s.settlement_id,
            s.currency or "?",
            *(amount_text(groups[name], s.currency) for name in GROUP_NAMES),
            amount_text(s.booked_total, s.currency),
        )
    return table


def totals_table(report: FlowReconciliation) -> Table:
    table = Table(title="Totals per currency", title_justify="left", box=box.SIMPLE_HEAD)
    for column, justify in (
        ("cur", "left"),
        ("settlements", "right"),
        ("by status", "left"),
        ("deposits", "right"),
        ("booked", "right"),
        ("not in the books", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for cur, totals in report.totals.items():
        deposits = amount_text(totals.deposits, cur)
        if totals.unknown_deposits:
            deposits += f" (+{totals.unknown_deposits} unknown)"
        table.add_row(
            cur,
            str(totals.settlements),
            ", ".join(f"{n} {status}" for status, n in totals.by_status.items()),
            deposits,
            amount_text(totals.booked, cur),
            amount_text(totals.difference, cur),
        )
    return table


def breakdown_table(settlement: SettlementReport) -> Table | None:
    """Every category of one booked settlement, as the ledger shows it."""
    rec = settlement.reconciliation
    if rec is None:
        return None
    table = Table(
        title=f"Settlement {settlement.settlement_id} by category",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        min_width=48,  # wide enough that the title stays on one line
    )
    table.add_column("category")
    table.add_column(rec.currency, justify="right")
    for category, amount in rec.breakdown.items():
        table.add_row(category, amount_text(amount, rec.currency))
    return table


def print_reconciliation(
    report: FlowReconciliation, console: Console, *, details: bool = False
) -> None:
    """Print the whole report; ``details`` adds each booked settlement's category breakdown."""
    if not report.settlements:
        scope = f"flow {report.flow}" if report.flow else "any flow"
        console.print(f"No settlements booked, held or unmapped for {scope} yet.")
        return
    console.print(settlements_table(report))
    payouts = payouts_table(report)
    if payouts is not None:
        console.print(payouts)
    console.print(totals_table(report))
    if details:
        for s in report:
            table = breakdown_table(s)
            if table is not None:
                console.print(table)
    for s in report.problems:
        console.print()
        console.print(
            Text.assemble(
                (f"Settlement {s.settlement_id}", "bold"),
                f" ({s.flow}): ",
                (status_label(s), "bold red"),
            )
        )
        for issue in s.issues:
            console.print(f"  {issue}", highlight=False, markup=False)
        if s.action:
            console.print(Text.assemble("  ", ("What to do: ", "bold"), s.action))
    for s in report.document_problems:
        console.print()
        console.print(Text.assemble((f"Documents of settlement {s.settlement_id}", "bold"), ":"))
        for issue in s.document_issues:
            console.print(f"  {issue}", highlight=False, markup=False)
    console.print()
    total = len(report.settlements)
    if report.ok:
        console.print(f"[green]All {total} settlement(s) reconcile.[/]")
    else:
        console.print(
            f"[bold red]{len(report.problems)} of {total} settlement(s) need attention.[/]"
        )
