"""``ml-connector prices push``: the target's changed item prices, set on the Amazon listings."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from ml_connector.core.cli.app import app, console, reports_errors
from ml_connector.core.cli.options import DB_OPTION, JSON_OPTION
from ml_connector.core.database import open_database
from ml_connector.core.emulation.clock import SystemClock
from ml_connector.core.flows import AMAZON, get_flow
from ml_connector.core.jobs import amazon_client, default_http
from ml_connector.core.jsoncodec import decimal_strings
from ml_connector.core.plugins import get_target, make_manager
from ml_connector.core.prices import PriceAction, PriceReport, push_prices
from ml_connector.core.scheduler import JobContext
from ml_connector.core.vault import open_vault

prices_app = typer.Typer(
    help="Prices back to Amazon: item prices changed in the target, set on the listings.",
    no_args_is_help=True,
)
app.add_typer(prices_app, name="prices")

_STYLE = {PriceAction.ACCEPTED: "green", PriceAction.REFUSED: "red", PriceAction.ERROR: "red"}


def _print(report: PriceReport) -> None:
    shown = [r for r in report.results if r.action != PriceAction.UNCHANGED]
    title = f"Prices {'planned' if report.dry_run else 'pushed'} for flow {report.flow}"
    table = Table(title=title)
    for column in ("SKU", "marketplace", "item", "price", "result", "message"):
        table.add_column(column, overflow="fold")
    for result in shown:
        style = _STYLE.get(result.action)
        action = f"[{style}]{result.action}[/]" if style else str(result.action)
        table.add_row(
            result.sku,
            result.marketplace,
            result.item_code,
            f"{result.amount} {result.currency}",
            action,
            result.message,
        )
    if shown:
        console.print(table)
    counts = ", ".join(f"{report.count(a)} {a}" for a in PriceAction if report.count(a))
    console.print(
        f"{report.read} item price(s) read from {report.target}"
        + (f" (changed since {report.since.isoformat()})" if report.since else "")
        + f"; {counts or 'no listing concerned'}"
        + (
            f"; items mapped to no SKU: {', '.join(report.unmapped_items)}"
            if report.unmapped_items
            else ""
        ),
        highlight=False,
    )
    if report.count(PriceAction.BASELINE):
        console.print(
            "First run: the current prices are recorded as the baseline and nothing was sent; "
            "from now on a price changed in the target is set on Amazon.",
            highlight=False,
        )
    if report.dry_run:
        console.print("Dry run: nothing was sent and nothing was recorded.", highlight=False)


@prices_app.command("push")
@reports_errors
def push(
    flow: str = typer.Option(..., "--flow", help="The flow whose target prices to push."),
    db: str | None = DB_OPTION,
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Read the target's prices and show what would be sent; send nothing.",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Set on Amazon every item price changed in the flow's target since the last run.

    Exits 1 when Amazon refused a price or a listing could not be reached (see 'ml-connector
    alerts'); a refused price is not sent again until it changes in the target.
    """
    database = open_database(db)
    with database.engine.connect() as conn:
        chosen = get_flow(conn, flow)
    target = get_target(make_manager(), chosen.target)
    clock = SystemClock()
    if not target.implements("item_prices"):
        report = PriceReport(chosen.name, target.name, supported=False, dry_run=dry_run)
    else:
        context = JobContext(
            database=database, flow=chosen, kind="prices", clock=clock, vault=open_vault()
        )
        with default_http(AMAZON) as amazon_http, default_http(chosen.target) as target_http:
            session = target.connect(
                credentials=context.credentials(chosen.target), http=target_http, clock=clock
            )
            report = push_prices(
                database.engine,
                flow=chosen,
                target=target,
                session=session,
                amazon=amazon_client(context, amazon_http),
                clock=clock,
                dry_run=dry_run,
            )
    if as_json:
        print(json.dumps(decimal_strings(report.to_dict()), indent=2))
    elif not report.supported:
        console.print(f"{target.info.title} provides no item prices: nothing to push.")
    else:
        _print(report)
    if not report.ok:
        raise typer.Exit(1)
