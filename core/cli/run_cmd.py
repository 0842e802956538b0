"""``ml-connector run``: the embedded scheduler, every flow's jobs at their cadence, until stopped."""

from __future__ import annotations

import typer
from rich.table import Table

from ml_connector.core.cli.app import app, console, reports_errors
from ml_connector.core.cli.options import DB_OPTION
from ml_connector.core.database import open_database
from ml_connector.core.emulation.clock import SystemClock
from ml_connector.core.jobs import default_runners
from ml_connector.core.scheduler import FAILED, JobRun, Scheduler
from ml_connector.core.vault import open_vault, redacted_logs


def _print_runs(runs: list[JobRun]) -> None:
    table = Table(show_header=True, header_style="bold")
    for column in ("finished", "flow", "job", "status", "result"):
        table.add_column(column, overflow="fold")
    for run in runs:
        style = "red" if run.status == FAILED else ""
        table.add_row(
            run.finished_at.strftime("%Y-%m-%d %H:%M:%SZ"),
            run.flow,
            run.kind,
            f"[{style}]{run.status}[/]" if style else run.status,
            run.error or run.summary,
        )
    console.print(table)


@app.command()
@reports_errors
def run(
    db: str | None = DB_OPTION,
    once: bool = typer.Option(
        False, "--once", help="Run the jobs due now, then exit (for cron or a systemd timer)."
    ),
    max_idle: float = typer.Option(
        60.0,
        "--max-idle",
        help="Longest sleep between passes, in seconds (new flows are seen then).",
    ),
) -> None:
    """Run every enabled flow's jobs at their cadence until SIGTERM or Ctrl-C.

    One process on the embedded SQLite database; a job of a flow never overlaps another job of
    the same flow, and a job in progress finishes before the scheduler stops.
    """
    database = open_database(db)
    vault = open_vault()
    scheduler = Scheduler(database, SystemClock(), default_runners(), vault=vault)
    with redacted_logs(scheduler.known_secrets):
        if once:
            runs = scheduler.run_due()
            if runs:
                _print_runs(runs)
            else:
                console.print("No job is due.")
            if any(r.status == FAILED for r in runs):
                raise typer.Exit(1)
            return
        scheduler.install_signal_handlers()
        console.print(
            f"Scheduler running ({', '.join(sorted(scheduler.runners))}); "
            "SIGTERM or Ctrl-C stops it.",
            highlight=False,
        )
        scheduler.run(max_idle_seconds=max_idle, on_runs=_print_runs)
    console.print("Scheduler stopped.")
