"""``ml-connector worker``: run flow jobs from the PostgreSQL queue (procrastinate).

Start as many as you like, on as many machines as you like, against one database: each flow
runs one job at a time and each due run happens once. SQLite keeps ``ml-connector run``.
"""

from __future__ import annotations

import os
import socket

import typer

from ml_connector.core.cli.app import app, console, reports_errors
from ml_connector.core.cli.options import DB_OPTION
from ml_connector.core.database import open_database
from ml_connector.core.jobs import default_runners
from ml_connector.core.vault import open_vault, redacted_logs
from ml_connector.core.workers import FlowWorkers, apply_schema, procrastinate_conninfo
from ml_connector.ledger.db import default_url


@app.command()
@reports_errors
def worker(
    db: str | None = DB_OPTION,
    concurrency: int = typer.Option(
        1, "--concurrency", min=1, help="Jobs this worker runs at once (different flows)."
    ),
    burst: bool = typer.Option(
        False,
        "--burst",
        help="Queue the jobs due now, run until the queue is empty, then exit (for cron).",
    ),
    name: str | None = typer.Option(
        None, "--name", help="Worker name in the logs (default: host and process id)."
    ),
) -> None:
    """Run flow jobs from the PostgreSQL job queue until SIGTERM or Ctrl-C.

    Applies the queue's schema (procrastinate's tables) on first start. Every worker defers the
    due jobs once a minute (procrastinate keeps that to one deferral per minute in all) and runs
    whatever is queued: a flow never runs two jobs at once, a due run happens exactly once.
    """
    procrastinate_conninfo(db or default_url())  # refuse SQLite before creating anything
    database = open_database(db)
    vault = open_vault()
    workers = FlowWorkers(
        database, default_runners(), vault=vault, concurrency=concurrency, periodic=not burst
    )
    try:
        with redacted_logs(workers.known_secrets):
            if apply_schema(database):
                console.print("Job queue schema (procrastinate) created.")
            if burst:
                deferred = workers.defer_due()
                queued = sum(d.queued for d in deferred)
                console.print(
                    f"{queued} job(s) queued, {len(deferred) - queued} already waiting.",
                    highlight=False,
                )
            console.print(
                f"Worker running ({concurrency} at a time; {', '.join(sorted(workers.runners))})"
                + (
                    "; exits when the queue is empty." if burst else "; SIGTERM or Ctrl-C stops it."
                ),
                highlight=False,
            )
            workers.work(name=name or f"{socket.gethostname()}:{os.getpid()}", burst=burst)
    finally:
        workers.close()
    console.print("Worker stopped.")
