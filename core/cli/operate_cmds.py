"""``alerts``, ``replay`` and ``audit``: what a person does after a sync asked for attention."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from ml_connector.core import audit as audit_trail
from ml_connector.core import outbox
from ml_connector.core.alerts import list_alerts
from ml_connector.core.cli.app import app, console, reports_errors
from ml_connector.core.cli.options import DB_OPTION, FLOW_OPTION, JSON_OPTION
from ml_connector.core.database import open_database
from ml_connector.core.emulation.clock import SystemClock, utcnow
from ml_connector.core.errors import ConfigError
from ml_connector.core.jsoncodec import decimal_strings


@app.command()
@reports_errors
def alerts(
    db: str | None = DB_OPTION,
    flow: str | None = FLOW_OPTION,
    include_resolved: bool = typer.Option(False, "--all", help="Include resolved alerts."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List what needs a person: unmapped lines, holds, refused documents, documents in doubt."""
    database = open_database(db)
    with database.engine.begin() as conn:
        found = list_alerts(conn, flow=flow, include_resolved=include_resolved)
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "id": a.id,
                        "flow": a.flow,
                        "kind": a.kind,
                        "key": a.key,
                        "message": a.message,
                        "details": a.details,
                        "created_at": a.created_at.isoformat(),
                        "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
                    }
                    for a in found
                ],
                indent=2,
            )
        )
        return
    if not found:
        console.print("No open alerts.")
        return
    table = Table(title="Alerts", show_lines=True)
    for column in ("flow", "kind", "about", "what to do"):
        table.add_column(column, overflow="fold")
    for alert in found:
        table.add_row(alert.flow, alert.kind, alert.key, alert.message)
    console.print(table)


@app.command()
@reports_errors
def replay(
    db: str | None = DB_OPTION,
    flow: str | None = FLOW_OPTION,
    ids: list[str] = typer.Option(
        [], "--id", help="Document key(s) to replay (default: every failed document)."
    ),
    confirm: str | None = typer.Option(
        None,
        "--confirm",
        metavar="TARGET_ID",
        help="An in-doubt document IS in the target, with this id.",
    ),
    resend: bool = typer.Option(
        False, "--resend", help="An in-doubt document is NOT in the target: send it again."
    ),
) -> None:
    """Queue failed documents again after the cause was fixed, or settle documents held in doubt."""
    if confirm and resend:
        raise ConfigError("--confirm and --resend exclude each other")
    if (confirm or resend) and len(ids) != 1:
        raise ConfigError(
            "--confirm and --resend take exactly one --id (look at the document in the target first)"
        )
    database = open_database(db)
    now = utcnow(SystemClock())
    with database.engine.begin() as conn:
        if confirm or resend:
            changed = outbox.settle_in_doubt(
                conn, ids[0], target_id=confirm, resend=resend, now=now
            )
        else:
            changed = outbox.replay_failed(conn, flow=flow, keys=ids or None, now=now)
    console.print(f"{changed} document(s) queued or settled; run 'ml-connector sync' to push them.")


@app.command()
@reports_errors
def audit(
    amazon_id: str = typer.Argument(..., help="An Amazon order id or settlement id."),
    db: str | None = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The whole life of an order or settlement: raw source, entries, documents, every push attempt."""
    database = open_database(db)
    trail = audit_trail.trail_for(database, amazon_id)
    if as_json:
        print(json.dumps(decimal_strings(trail.to_dict()), indent=2, default=str))
        return
    audit_trail.print_trail(trail, console)
