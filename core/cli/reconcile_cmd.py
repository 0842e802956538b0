"""``ml-connector reconcile``: does every settlement tie out with what Amazon paid?

Prints one row per settlement (and where each payout went), writes the same report as JSON and
as a self-contained HTML page on request, and exits 1 when any settlement does not reconcile,
is on hold or has lines no rule covers (DESIGN.md §6), so a scheduler can alert on it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ml_connector.core.cli.app import app, console, reports_errors
from ml_connector.core.cli.options import DB_OPTION, FLOW_OPTION
from ml_connector.core.database import open_database
from ml_connector.core.errors import ConfigError
from ml_connector.core.reports import print_reconciliation, reconcile_all, write_html

STDOUT = Path("-")


def _write_text(path: Path, text: str, what: str) -> None:
    """Write ``text`` whole (a reader never sees half a report), naming the file on failure."""
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        raise ConfigError(f"cannot write the {what} report to {path}: {exc.strerror}") from None


@app.command()
@reports_errors
def reconcile(
    db: str | None = DB_OPTION,
    flow: str | None = FLOW_OPTION,
    settlement: str | None = typer.Option(
        None, "--settlement", metavar="ID", help="Only this settlement (and show its categories)."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the report as JSON (money as decimal strings), not tables."
    ),
    json_file: Path | None = typer.Option(
        None,
        "--json-file",
        metavar="FILE",
        help="Also write the report as JSON to FILE ('-' is the same as --json).",
    ),
    html_file: Path | None = typer.Option(
        None,
        "--html",
        metavar="FILE",
        help="Also write a self-contained HTML page with a chart of where each payout went.",
    ),
    details: bool = typer.Option(
        False, "--details", help="Print every booked settlement's breakdown by category."
    ),
) -> None:
    """Reconcile every settlement from the ledger: deposit against lines, clearing, bank.

    Exit code 1 when any settlement does not reconcile, is on hold or has unmapped lines.
    """
    database = open_database(db)
    report = reconcile_all(database, flow=flow, settlement_id=settlement)
    if settlement is not None and not report.settlements:
        scope = f" in flow {flow}" if flow else ""
        raise ConfigError(f"no settlement {settlement}{scope} has been booked, held or unmapped")
    if as_json:
        json_file = STDOUT
    if json_file == STDOUT:
        sys.stdout.write(report.to_json() + "\n")
    else:
        print_reconciliation(report, console, details=details or settlement is not None)
        if json_file is not None:
            _write_text(json_file, report.to_json() + "\n", "JSON")
            console.print(f"JSON report written to {json_file}", highlight=False)
    if html_file is not None:
        try:
            write_html(report, html_file)
        except OSError as exc:
            raise ConfigError(
                f"cannot write the HTML report to {html_file}: {exc.strerror}"
            ) from None
        if json_file != STDOUT:
            console.print(f"HTML report written to {html_file}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)
