"""``ml-connector demo``: the main job, end to end, on SQLite and the built-in emulators."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ml_connector.core import jsoncodec
from ml_connector.core.cli.app import app, console, reports_errors
from ml_connector.core.demo import DemoOptions, DemoReport, default_demo_database, run_demo
from ml_connector.core.plugins import make_manager, target_names
from ml_connector.core.reports import print_reconciliation, write_html


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {rest:02d}s" if hours else f"{minutes}m {rest:02d}s"


def _targets_table(report: DemoReport) -> Table:
    table = Table(title="Posted to the accounting targets (counted in each emulator)")
    for column in ("target", "docs", "posted", "doubt", "failed", "dups", "missing", "calls"):
        table.add_column(column, justify="left" if column == "target" else "right")
    table.add_column("kills", justify="right")
    for run in report.targets:
        style = "" if run.ok else "red"
        table.add_row(
            run.title,
            str(run.documents),
            str(run.posted),
            str(run.in_doubt),
            str(run.failed),
            str(run.duplicates),
            str(run.missing),
            str(run.api_calls),
            str(run.kills),
            style=style,
        )
    return table


@app.command()
@reports_errors
def demo(
    orders: int = typer.Option(1000, min=1, help="Orders the generated seller has."),
    months: int = typer.Option(2, min=1, max=24, help="Months of history to generate."),
    seed: int = typer.Option(1, help="Seed of the generated seller and the emulators."),
    mode: str = typer.Option("summary", help="Posting mode: summary or per-order."),
    targets: str = typer.Option(
        "", "--targets", help="Comma-separated targets to post to (default: every installed one)."
    ),
    chaos: bool = typer.Option(
        False,
        "--chaos",
        help="Emulators throttle, fail, time out and lose responses; the push is killed and "
        "resumed at random points. The counts must still show no duplicate and nothing missing.",
    ),
    folder: Path = typer.Option(
        Path("ml-connector-demo"), "--dir", help="Folder for the demo's books and reports."
    ),
    record: Path | None = typer.Option(
        None, "--record", help="Write every request sent to a target under DIR/<target>/."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Post nothing: write the requests each target would receive."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="With --dry-run: the folder for the requests (DIR/<target>/)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """Pull a generated seller from the Amazon emulator, book, reconcile and post to every target.

    Everything runs on this machine: SQLite and the built-in emulators, with simulated time.
    Exits 1 when a settlement does not reconcile or a document is duplicated or missing.
    """
    if mode not in ("summary", "per-order"):
        raise typer.BadParameter("must be summary or per-order", param_hint="--mode")
    if dry_run and out is None:
        raise typer.BadParameter("--dry-run needs --out DIR for the requests", param_hint="--out")
    chosen = tuple(name.strip() for name in targets.split(",") if name.strip())
    known = target_names(make_manager())
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise typer.BadParameter(
            f"unknown target(s) {', '.join(unknown)}; installed: {', '.join(known)}",
            param_hint="--targets",
        )
    options = DemoOptions(
        orders=orders,
        months=months,
        seed=seed,
        mode=mode,
        targets=chosen,
        chaos=chaos,
        db_url=default_demo_database(folder),
        record=record,
        dry_run=out if dry_run else None,
    )
    with Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=as_json,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            task = tasks[stage]
            if total is not None:
                bar.update(task, total=total, completed=done)
            else:
                bar.advance(task, done)

        report = run_demo(options, progress)

    html = folder / "reconciliation.html"
    write_html(report.reconciliation, html)
    outcome = jsoncodec.dumps(report.to_json(), indent=2)
    (folder / "outcome.json").write_text(outcome + "\n", encoding="utf-8")
    if as_json:
        typer.echo(outcome)
    else:
        print_reconciliation(report.reconciliation, console)
        if report.targets:
            console.print(_targets_table(report))
        for written in report.dry_runs:
            console.print(
                f"{written.target}: dry run wrote {written.requests} request(s) for "
                f"{written.documents} document(s) to {written.directory}; nothing was posted."
            )
        console.print(
            f"Amazon: {report.pull.listed} settlement reports, {report.pull.booked} booked, "
            f"{report.amazon_calls} SP-API calls. Simulated time against the real services' "
            f"published limits: {_duration(report.simulated_seconds)}."
        )
        console.print(f"Report: {html}   Books: {report.database_url}")
        if not report.ok:
            console.print("[red]Something did not reconcile or post: see above.[/]")
        elif report.targets:
            console.print(
                "[green]Every settlement reconciles; every document is in its target once.[/]"
            )
        else:  # a dry run posts nothing, so there is nothing to count in the emulators
            console.print("[green]Every settlement reconciles; nothing was posted (dry run).[/]")
    if not report.ok:
        raise typer.Exit(1)
