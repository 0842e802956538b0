"""``ml-connector sync``: pull, book, render and push a flow now; ``--dry-run`` sends nothing.

``--rebook SETTLEMENT_ID`` first books a rolled-back settlement again from its stored report
(:func:`ml_connector.core.rollback.rebook_settlement`, a new revision on new entry ids), so this
sync re-posts it: the way back after ``ml-connector rollback``.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ml_connector.core.booking import ALREADY_BOOKED, BOOKED
from ml_connector.core.cli.app import app, console, reports_errors
from ml_connector.core.cli.options import DB_OPTION
from ml_connector.core.database import open_database
from ml_connector.core.dryrun import dry_run
from ml_connector.core.emulation.clock import SystemClock, utcnow
from ml_connector.core.errors import ConfigError
from ml_connector.core.flows import Flow, get_flow, list_flows
from ml_connector.core.jobs import default_runners
from ml_connector.core.plugins import get_target, make_manager
from ml_connector.core.rollback import rebook_settlement
from ml_connector.core.scheduler import FAILED, JobRun, Scheduler, run_job
from ml_connector.core.vault import open_vault, redacted_logs
from ml_connector.ledger.rules import default_rules

# A sync now is the scheduler's settlements job then its sync job, under the same per-flow lease.
JOBS = ("settlements", "sync")
# Outcomes of booking a rolled-back settlement again after which the sync has documents to post.
REBOOKED = frozenset({BOOKED, ALREADY_BOOKED})


def _flows(db_flows: list[Flow]) -> list[Flow]:
    if not db_flows:
        raise ConfigError("no flows yet: add one with 'ml-connector flows add'")
    return db_flows


def _runs_table(runs: list[JobRun]) -> Table:
    table = Table(title="Sync")
    for column in ("flow", "job", "status", "result"):
        table.add_column(column, overflow="fold")
    for run in runs:
        table.add_row(
            run.flow,
            run.kind,
            f"[red]{run.status}[/]" if run.status == FAILED else run.status,
            run.error or run.summary,
        )
    return table


@app.command()
@reports_errors
def sync(
    flow: str | None = typer.Option(None, "--flow", help="Only this flow (default: every flow)."),
    db: str | None = DB_OPTION,
    dry: bool = typer.Option(
        False,
        "--dry-run",
        help="Send nothing: write every request the target would receive, one JSON file per "
        "request under OUT/<target>/, in send order, secrets redacted.",
    ),
    out: Path | None = typer.Option(None, "--out", help="Folder for the --dry-run requests."),
    rebook: list[str] = typer.Option(
        [],
        "--rebook",
        metavar="SETTLEMENT_ID",
        help="First book this rolled-back settlement again from its stored report, so this "
        "sync re-posts it (repeatable; needs --flow).",
    ),
) -> None:
    """Pull new settlements, book them, render and push every document to the flow's target.

    Exits 1 when a job failed; 'ml-connector alerts' says what needs a person.
    """
    if dry and out is None:
        raise typer.BadParameter("--dry-run needs --out DIR", param_hint="--out")
    if rebook and flow is None:
        raise typer.BadParameter("--rebook needs --flow NAME", param_hint="--flow")
    if rebook and dry:
        raise typer.BadParameter(
            "--rebook books into the database; a --dry-run changes nothing", param_hint="--rebook"
        )
    database = open_database(db)
    with database.engine.connect() as conn:
        chosen = _flows(list_flows(conn)) if flow is None else [get_flow(conn, flow)]
    held = False
    for settlement_id in rebook:
        assert flow is not None
        booked = rebook_settlement(
            database,
            flow=flow,
            settlement_id=settlement_id,
            rules=default_rules(),
            now=utcnow(SystemClock()),
        )
        if booked.status in REBOOKED:
            console.print(
                f"Settlement {settlement_id} is booked again; this sync posts it.", highlight=False
            )
        else:  # held or unmapped: nothing to post until a person acts (see 'alerts')
            held = True
            console.print(
                f"[red]Settlement {settlement_id} was not booked again: {booked.status}"
                f"{': ' + booked.reason if booked.reason else ''}[/] (see 'ml-connector alerts')",
                highlight=False,
            )
    if dry:
        assert out is not None
        manager = make_manager()
        for each in chosen:
            target = get_target(manager, each.target)
            with console.status(f"{each.name}: planning the requests for {target.info.title}"):
                planned = dry_run(
                    database,
                    flow=each.name,
                    target=target,
                    mapping=each.mapping,
                    mode=each.mode,
                    out=out,
                    clock=SystemClock(),
                )
            console.print(
                f"{each.name}: {planned.requests} request(s) for {planned.documents} document(s) "
                f"written to {planned.directory} ({planned.already_posted} already posted); "
                "nothing was sent."
            )
        return
    vault = open_vault()
    runners = default_runners()
    clock = SystemClock()
    runs: list[JobRun] = []
    # A remote service may echo a secret back in an error someone logs: mask them all.
    with redacted_logs(Scheduler(database, clock, runners, vault=vault).known_secrets):
        for each in chosen:
            for kind in JOBS:
                with console.status(f"{each.name}: {kind}"):
                    runs.append(
                        run_job(database, each.name, kind, runners[kind], clock, vault=vault)
                    )
    console.print(_runs_table(runs))
    if held or any(run.status == FAILED for run in runs):
        raise typer.Exit(1)
