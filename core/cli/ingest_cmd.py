"""``ml-connector ingest-settlement FILE... --flow NAME``: book downloaded settlement files.

The path a user takes before connecting the API, and for history older than the API keeps:
each file (V2 or V1 flat file, gzip or plain) is booked whole or not at all by
:func:`ml_connector.core.booking.book_settlement_document`, streaming, with a progress bar. A
table (or ``--json``) says per file what happened; the exit code is 1 when any file is on hold,
has lines no rule covers, or cannot be read (the message names the file, line and reason).
Booking the same file again changes nothing (``already-booked``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from ml_connector.core import jsoncodec
from ml_connector.core.booking import BOOKED, BookingResult, book_settlement_document
from ml_connector.core.cli.app import app, console, err_console, reports_errors
from ml_connector.core.cli.options import DB_OPTION, JSON_OPTION
from ml_connector.core.database import Database, open_database
from ml_connector.core.errors import ConfigError
from ml_connector.core.flows import MODES, find_flow
from ml_connector.core.reports import reconcile_all
from ml_connector.ledger.errors import ConnectorError
from ml_connector.ledger.rules import RuleTable, default_rules, load_rules

_NOT_BOOKED = ("hold", "unmapped")


# Settlements booked from files before any flow is connected live in their own flow.
DEFAULT_FLOW = "files"


def _rules(path: Path | None) -> RuleTable:
    """The default rules, with the rules of ``path`` (TOML) in front of them."""
    rules = default_rules()
    if path is None:
        return rules
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the rules file {path}: {exc.strerror}") from None
    return rules.with_overrides(load_rules(text, source=str(path)))


def _table(results: list[tuple[Path, BookingResult | str]]) -> Table:
    table = Table(title="Settlement files")
    for column in ("file", "settlement", "status", "entries", "reason"):
        table.add_column(column, overflow="fold")
    for path, result in results:
        if isinstance(result, str):
            table.add_row(path.name, "", "[red]error[/]", "", result)
            continue
        style = (
            "green" if result.status == BOOKED else "red" if result.status in _NOT_BOOKED else ""
        )
        status = f"[{style}]{result.status}[/]" if style else result.status
        table.add_row(
            path.name, result.settlement_id, status, str(result.entries_written), result.reason
        )
    return table


def _as_json(
    database: Database, flow: str, path: Path, result: BookingResult | str
) -> dict[str, object]:
    """Per settlement, what ``reconcile --json`` says of it, plus the booking's outcome."""
    if isinstance(result, str):
        return {"file": str(path), "status": "error", "reason": result, "entries": 0}
    reports = reconcile_all(database, flow=flow, settlement_id=result.settlement_id)
    data: dict[str, object] = reports.settlements[0].to_dict() if reports.settlements else {}
    data.update(
        {
            "file": str(path),
            "settlement_id": result.settlement_id,
            "status": result.status,
            "reason": result.reason,
            "entries": result.entries_written,
        }
    )
    return data


@app.command("ingest-settlement")
@reports_errors
def ingest_settlement(
    files: list[Path] = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="Settlement flat files (V2 or V1)."
    ),
    flow: str = typer.Option(
        DEFAULT_FLOW,
        "--flow",
        help="The flow the settlements belong to (default: 'files', for books kept from files).",
    ),
    mode: str | None = typer.Option(
        None,
        "--mode",
        help="summary (one entry per settlement) or per-order (an invoice entry per order); "
        "default: the flow's, else summary.",
    ),
    split_by_month: bool | None = typer.Option(
        None,
        "--split-by-month/--no-split-by-month",
        help="Cut a settlement that crosses a month end into one entry per month "
        "(default: the flow's, else no).",
    ),
    rules_file: Path | None = typer.Option(
        None, "--rules", metavar="FILE.toml", help="Posting rules to put before the defaults."
    ),
    db: str | None = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Book settlement report files into the ledger, each whole or not at all.

    Exit code 1 when any file is on hold, has unmapped lines or cannot be read.
    """
    database = open_database(db)
    with database.engine.begin() as conn:
        configured = find_flow(conn, flow)
    mode = mode or (configured.mode if configured else "summary")
    if mode not in MODES:
        raise typer.BadParameter(f"use one of {', '.join(MODES)}", param_hint="--mode")
    if split_by_month is None:
        split_by_month = configured.split_by_month if configured else False
    rules = _rules(rules_file)
    results: list[tuple[Path, BookingResult | str]] = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=as_json,
    ) as progress:
        for path in files:
            task = progress.add_task(path.name, total=path.stat().st_size)

            def report(
                phase: str, done: int, total: int, task: TaskID = task, name: str = path.name
            ) -> None:
                progress.update(task, description=f"{name}: {phase}", completed=done, total=total)

            try:
                result = book_settlement_document(
                    database.ledger,
                    flow=flow,
                    document=path,
                    source=path.name,
                    rules=rules,
                    mode=mode,
                    split_by_month=split_by_month,
                    now=dt.datetime.now(dt.UTC),
                    progress=report,
                )
            except ConnectorError as exc:
                # The file books nothing; say why and go on with the next one.
                results.append((path, str(exc)))
            else:
                results.append((path, result))
            progress.remove_task(task)
    if as_json:
        print(
            jsoncodec.dumps(
                [_as_json(database, flow, path, result) for path, result in results], indent=2
            )
        )
    else:
        console.print(_table(results))
    failed = [
        path for path, result in results if isinstance(result, str) or result.status in _NOT_BOOKED
    ]
    if failed:
        raise typer.Exit(1)
