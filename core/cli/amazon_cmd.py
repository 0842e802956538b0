"""``ml-connector amazon pull`` and ``ml-connector amazon backfill``: Amazon into the books.

``pull`` books every settlement report Amazon lists (the last 90 days) that is newer than the
flow's watermark and stores the orders changed since the last run; ``backfill --since DATE``
books older settlements from the Finances API. Both talk either to Amazon, with the connection
given as options (secrets from the environment), or with ``--emulator SEED`` to the in-process
SP-API emulator on a simulated clock, as the demo does: every rate limit is honoured, waiting
costs nothing. The work itself is :mod:`ml_connector.core.amazon.pull` and
:mod:`ml_connector.core.amazon.backfill`; this module only connects, shows progress and reports.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from ml_connector.core.amazon.backfill import BackfillResult, backfill
from ml_connector.core.amazon.client import SpApiClient
from ml_connector.core.amazon.lwa import LWA_TOKEN_URL, LwaCredentials
from ml_connector.core.amazon.pull import (
    COVERED,
    OrderPull,
    SettlementPull,
    pull_orders,
    pull_settlements,
)
from ml_connector.core.amazon.regions import REGIONS, common_region
from ml_connector.core.booking import ALREADY_BOOKED, BOOKED, HOLD, UNMAPPED
from ml_connector.core.cli.app import app, console, err_console, reports_errors
from ml_connector.core.cli.options import DB_OPTION, JSON_OPTION
from ml_connector.core.database import Database, open_database
from ml_connector.core.emulation.clock import Clock, FakeClock, SystemClock
from ml_connector.core.errors import ConfigError
from ml_connector.core.flows import find_flow
from ml_connector.core.jobs import amazon_client
from ml_connector.core.scheduler import JobContext
from ml_connector.core.secrets import Secret
from ml_connector.core.vault import open_vault
from ml_connector.ledger.marketplaces import by_code, by_id
from ml_connector.ledger.posting import Mode
from ml_connector.ledger.rules import RuleTable, default_rules, load_rules

amazon_app = typer.Typer(
    name="amazon",
    help="Amazon Seller Central: pull settlements and orders, backfill older settlements.",
    no_args_is_help=True,
)
app.add_typer(amazon_app, name="amazon")

FLOW_REQUIRED = typer.Option(..., "--flow", help="The flow whose books and watermarks to use.")
EMULATOR = typer.Option(
    None,
    "--emulator",
    metavar="SEED",
    help="Pull from the in-process SP-API emulator with this seed (simulated clock).",
)
EMULATOR_ORDERS = typer.Option(
    200, "--emulator-orders", help="With --emulator: orders of the generated seller."
)
ENDPOINT = typer.Option(
    None,
    "--endpoint",
    help="SP-API base URL (default: the region of --marketplace, else North America).",
)
LWA_URL = typer.Option(LWA_TOKEN_URL, "--lwa-url", help="Login with Amazon token endpoint.")
CLIENT_ID = typer.Option(
    None, "--client-id", envvar="ML_CONNECTOR_AMAZON_CLIENT_ID", help="LWA client id."
)
CLIENT_SECRET = typer.Option(
    None,
    "--client-secret",
    envvar="ML_CONNECTOR_AMAZON_CLIENT_SECRET",
    help="LWA client secret (give it through the environment variable).",
    show_default=False,
)
REFRESH_TOKEN = typer.Option(
    None,
    "--refresh-token",
    envvar="ML_CONNECTOR_AMAZON_REFRESH_TOKEN",
    help="The seller's LWA refresh token (give it through the environment variable).",
    show_default=False,
)
SELLER_ID = typer.Option(
    None,
    "--seller-id",
    envvar="ML_CONNECTOR_AMAZON_SELLER_ID",
    help="Merchant token; recorded for the flow, not needed to read settlements or orders.",
)
MARKETPLACE = typer.Option(
    [],
    "--marketplace",
    help="Marketplace code or id for orders (repeatable; default: every marketplace of the seller).",
)
MODE = typer.Option("summary", "--mode", help="Posting mode: summary or per-order.")
RULES = typer.Option(
    None, "--rules", help="Posting rules (TOML) instead of the defaults.", exists=True
)


@dataclass
class Connection:
    client: SpApiClient
    clock: Clock
    marketplace_ids: list[str] | None
    source: str


def _marketplace_ids(values: list[str]) -> list[str]:
    ids = []
    for value in values:
        marketplace = by_code(value.upper()) if len(value) <= 3 else by_id(value)
        ids.append(marketplace.marketplace_id)
    return ids


@contextmanager
def _connect(
    *,
    database: Database,
    flow: str,
    emulator_seed: int | None,
    emulator_orders: int,
    endpoint: str | None,
    lwa_url: str,
    client_id: str | None,
    client_secret: str | None,
    refresh_token: str | None,
    marketplaces: list[str],
) -> Iterator[Connection]:
    """An SP-API client for the emulator or for Amazon, closed afterwards."""
    ids = _marketplace_ids(marketplaces) if marketplaces else None
    if emulator_seed is not None:
        from ml_connector.core.amazon.emulator import AmazonEmulator

        clock: Clock = FakeClock(time.time())
        emulator = AmazonEmulator(seed=emulator_seed, orders=emulator_orders, clock=clock)
        app_credentials = emulator.credentials
        credentials = LwaCredentials(
            app_credentials.client_id,
            Secret(app_credentials.client_secret),
            Secret(app_credentials.refresh_token),
        )
        with httpx.Client(transport=httpx.MockTransport(emulator.handle)) as http:
            yield Connection(
                SpApiClient(
                    base_url=REGIONS["NA"].production_url,
                    credentials=credentials,
                    http=http,
                    clock=clock,
                    seed=emulator_seed,
                ),
                clock,
                ids or emulator.marketplace_ids,
                f"the SP-API emulator (seed {emulator_seed})",
            )
        return
    if not (client_id or client_secret or refresh_token):
        with database.engine.connect() as conn:
            stored = find_flow(conn, flow)
        if stored is not None:
            # The flow's own connection: its region, marketplaces and vault credentials.
            clock = SystemClock()
            context = JobContext(database, stored, "orders", clock, open_vault())
            with httpx.Client(timeout=60) as http:
                client = amazon_client(context, http)
                yield Connection(
                    client,
                    clock,
                    ids or list(stored.marketplaces),
                    f"Amazon, as flow {stored.name} is connected",
                )
            return
    missing = [
        name
        for name, value in (
            ("--client-id", client_id),
            ("--client-secret / ML_CONNECTOR_AMAZON_CLIENT_SECRET", client_secret),
            ("--refresh-token / ML_CONNECTOR_AMAZON_REFRESH_TOKEN", refresh_token),
        )
        if not value
    ]
    if missing:
        raise typer.BadParameter(
            f"flow {flow!r} is not stored ('ml-connector flows add'); give --emulator SEED, "
            f"or the Amazon connection: missing {', '.join(missing)}"
        )
    assert client_id and client_secret and refresh_token  # checked just above
    base_url = endpoint or (
        common_region(ids).production_url if ids else REGIONS["NA"].production_url
    )
    clock = SystemClock()
    with httpx.Client(timeout=60) as http:
        yield Connection(
            SpApiClient(
                base_url=base_url,
                credentials=LwaCredentials(client_id, Secret(client_secret), Secret(refresh_token)),
                http=http,
                clock=clock,
                lwa_url=lwa_url,
            ),
            clock,
            ids,
            base_url,
        )


def _rules(path: Path | None) -> RuleTable:
    if path is None:
        return default_rules()
    return RuleTable(load_rules(path.read_text(encoding="utf-8"), source=str(path)))


def _mode(mode: str) -> Mode:
    if mode == "summary":
        return "summary"
    if mode == "per-order":
        return "per-order"
    raise typer.BadParameter("must be summary or per-order", param_hint="--mode")


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """A rich progress bar per stage; the callback the pull functions call."""
    if not enabled:
        yield lambda stage, done, total: None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        transient=False,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def _settlement_summary(result: SettlementPull) -> dict[str, Any]:
    everything = [*result.rebooked, *result.results]
    return {
        "listed": result.listed,
        "booked": sum(1 for r in everything if r.status == BOOKED),
        "covered_by_backfill": sum(1 for r in everything if r.status == COVERED),
        "on_hold": sum(1 for r in everything if r.status == HOLD),
        "unmapped": sum(1 for r in everything if r.status == UNMAPPED),
        "already_booked": sum(1 for r in everything if r.status == ALREADY_BOOKED)
        + result.skipped_before_watermark,
        "rebooked_from_raw_store": len(result.rebooked),
        "token_restarts": result.restarts,
        "waiting": [
            {"settlement_id": r.settlement_id, "status": r.status, "reason": r.reason}
            for r in everything
            if r.status in (HOLD, UNMAPPED)
        ],
    }


def _order_summary(result: OrderPull) -> dict[str, Any]:
    return {
        "seen": result.seen,
        "stored": result.stored,
        "windows": result.windows,
        "token_restarts": result.restarts,
        "watermark": result.watermark,
    }


def _print_table(title: str, rows: dict[str, Any]) -> None:
    table = Table(title=title)
    table.add_column("")
    table.add_column("count", justify="right")
    for key, value in rows.items():
        if isinstance(value, int | str) and key != "waiting":
            table.add_row(key.replace("_", " "), str(value))
    console.print(table)


def _print_waiting(waiting: list[dict[str, Any]]) -> None:
    for item in waiting:
        console.print(
            f"[yellow]settlement {item['settlement_id']} {item['status']}:[/] {item['reason']}",
            highlight=False,
        )
    if waiting:
        console.print("See 'ml-connector alerts'; they are booked by a later run once fixed.")


@amazon_app.command("pull")
@reports_errors
def pull_command(
    flow: str = FLOW_REQUIRED,
    db: str | None = DB_OPTION,
    emulator: int | None = EMULATOR,
    emulator_orders: int = EMULATOR_ORDERS,
    endpoint: str | None = ENDPOINT,
    lwa_url: str = LWA_URL,
    client_id: str | None = CLIENT_ID,
    client_secret: str | None = CLIENT_SECRET,
    refresh_token: str | None = REFRESH_TOKEN,
    seller_id: str | None = SELLER_ID,
    marketplace: list[str] = MARKETPLACE,
    mode: str = MODE,
    rules: Path | None = RULES,
    since: dt.datetime | None = typer.Option(
        None,
        "--since",
        formats=["%Y-%m-%d"],
        help="First run only: settlements created since (UTC).",
    ),
    skip_orders: bool = typer.Option(False, "--skip-orders", help="Settlements only."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Book new settlement reports and store changed orders, resuming where the last run stopped."""
    mode = _mode(mode)
    table = _rules(rules)
    database = open_database(db)
    with (
        _connect(
            database=database,
            flow=flow,
            emulator_seed=emulator,
            emulator_orders=emulator_orders,
            endpoint=endpoint,
            lwa_url=lwa_url,
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            marketplaces=marketplace,
        ) as connection,
        _progress(not as_json) as progress,
    ):
        settled = pull_settlements(
            database,
            connection.client,
            flow=flow,
            rules=table,
            mode=mode,
            since=since.replace(tzinfo=dt.UTC) if since else None,
            clock=connection.clock,
            progress=progress,
            marketplace_ids=connection.marketplace_ids or (),
        )
        ordered = (
            None
            if skip_orders
            else pull_orders(
                database,
                connection.client,
                flow=flow,
                clock=connection.clock,
                marketplace_ids=connection.marketplace_ids,
                progress=progress,
            )
        )
    summary: dict[str, Any] = {
        "flow": flow,
        "source": connection.source,
        "settlements": _settlement_summary(settled),
        "orders": _order_summary(ordered) if ordered is not None else None,
    }
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    console.print(f"Pulled flow [bold]{flow}[/] from {connection.source}.", highlight=False)
    _print_table("Settlement reports", summary["settlements"])
    if ordered is not None:
        _print_table("Orders", summary["orders"])
    _print_waiting(summary["settlements"]["waiting"])


def _backfill_summary(result: BackfillResult) -> dict[str, Any]:
    return {
        "groups": result.groups,
        "booked": result.booked,
        "held": result.held,
        "open": result.open,
        "covered_by_report": len(result.covered_by_report),
        "already_booked": result.already_booked,
        "too_old_for_events": len(result.too_old),
        "token_restarts": result.restarts,
        "waiting": [
            {"settlement_id": r.settlement_id, "status": r.status, "reason": r.reason}
            for r in result.results
            if r.status != BOOKED
        ],
    }


@amazon_app.command("backfill")
@reports_errors
def backfill_command(
    flow: str = FLOW_REQUIRED,
    since: dt.datetime = typer.Option(
        ..., "--since", formats=["%Y-%m-%d"], help="Settlement periods started since (UTC)."
    ),
    until: dt.datetime | None = typer.Option(
        None, "--until", formats=["%Y-%m-%d"], help="... and before this day (default: now)."
    ),
    db: str | None = DB_OPTION,
    emulator: int | None = EMULATOR,
    emulator_orders: int = EMULATOR_ORDERS,
    endpoint: str | None = ENDPOINT,
    lwa_url: str = LWA_URL,
    client_id: str | None = CLIENT_ID,
    client_secret: str | None = CLIENT_SECRET,
    refresh_token: str | None = REFRESH_TOKEN,
    seller_id: str | None = SELLER_ID,
    marketplace: list[str] = MARKETPLACE,
    mode: str = MODE,
    rules: Path | None = RULES,
    as_json: bool = JSON_OPTION,
) -> None:
    """Book settlements older than the 90 days of reports, from the Finances API's event groups."""
    booking_mode = _mode(mode)
    table = _rules(rules)
    start = since.replace(tzinfo=dt.UTC)
    end = until.replace(tzinfo=dt.UTC) if until else None
    if end is not None and end <= start:
        raise ConfigError(f"--until {end.date()} must be after --since {start.date()}")
    database = open_database(db)
    with (
        _connect(
            database=database,
            flow=flow,
            emulator_seed=emulator,
            emulator_orders=emulator_orders,
            endpoint=endpoint,
            lwa_url=lwa_url,
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            marketplaces=marketplace,
        ) as connection,
        _progress(not as_json) as progress,
    ):
        result = backfill(
            database,
            connection.client,
            flow=flow,
            since=start,
            until=end,
            rules=table,
            mode=booking_mode,
            clock=connection.clock,
            progress=progress,
        )
    summary: dict[str, Any] = {
        "flow": flow,
        "source": connection.source,
        "backfill": _backfill_summary(result),
    }
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    console.print(
        f"Backfilled flow [bold]{flow}[/] from {connection.source} since {start.date()}.",
        highlight=False,
    )
    _print_table("Financial event groups", summary["backfill"])
    _print_waiting(summary["backfill"]["waiting"])
