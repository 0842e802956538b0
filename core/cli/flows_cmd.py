"""``ml-connector flows add|list|show|remove|load``: declare and inspect flows.

Credentials go straight into the encrypted vault and are never printed: ``flows show`` lists
their names only. On the command line a credential is ``SERVICE.NAME=VALUE`` where VALUE may be
``env:VARIABLE`` or ``file:PATH``, so the secret itself need not appear in shell history.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from sqlalchemy import Connection, select

from ml_connector.core import flows as flow_store
from ml_connector.core import jsoncodec
from ml_connector.core.cli.app import app, console, reports_errors
from ml_connector.core.cli.options import DB_OPTION, JSON_OPTION
from ml_connector.core.database import open_database
from ml_connector.core.emulation.clock import SystemClock, utcnow
from ml_connector.core.errors import ConfigError
from ml_connector.core.flows import Flow
from ml_connector.core.plugins import get_target, make_manager
from ml_connector.core.schema import FlowJob
from ml_connector.core.secrets import Secret
from ml_connector.core.vault import open_vault

flows_app = typer.Typer(
    name="flows",
    help="Flows: an Amazon seller account joined to a target organisation.",
    no_args_is_help=True,
)
app.add_typer(flows_app, name="flows")

_JOB = FlowJob.__table__  # type: ignore[attr-defined]


def _credential_option(text: str) -> tuple[str, str, Secret]:
    """``amazon.refresh_token=env:VAR`` -> ("amazon", "refresh_token", Secret(...))."""
    key, sep, value = text.partition("=")
    service, dot, name = key.partition(".")
    if not sep or not dot or not service or not name:
        # Without a clean "SERVICE.NAME=" the text may be a pasted secret: never echo it.
        shown = f" {key!r}" if sep and dot else ""
        raise ConfigError(
            f"--credential{shown}: write SERVICE.NAME=VALUE, e.g. amazon.refresh_token=env:AMZ_REFRESH"
        )
    if value.startswith("env:"):
        variable = value[4:]
        found = os.environ.get(variable)
        if not found:
            raise ConfigError(f"--credential {key}: environment variable {variable} is not set")
        return service, name, Secret(found)
    if value.startswith("file:"):
        path = Path(value[5:]).expanduser()
        try:
            return service, name, Secret(path.read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise ConfigError(
                f"--credential {key}: cannot read {path}: {exc.strerror or type(exc).__name__}"
            ) from None
    return service, name, Secret(value)


def _credentials_file(text: str) -> tuple[str, dict[str, Secret], list[str]]:
    """``xero=creds.json``: the string values of a JSON object (what 'emulate' prints will do).

    Values that are not text (a port, a list of marketplaces) are not credentials: they are
    skipped and named.
    """
    service, sep, filename = text.partition("=")
    if not sep or not service or not filename:
        raise ConfigError(f"--credentials-file {text!r}: write SERVICE=FILE.json")
    path = Path(filename).expanduser()
    try:
        data = jsoncodec.loads(path.read_bytes())
    except OSError as exc:
        raise ConfigError(
            f"--credentials-file {service}: cannot read {path}: {exc.strerror or type(exc).__name__}"
        ) from None
    except ValueError:
        raise ConfigError(f"--credentials-file {service}: {path} is not JSON") from None
    if isinstance(data, dict) and isinstance(data.get("credentials"), dict):
        data = data["credentials"]
    if not isinstance(data, dict):
        raise ConfigError(f"--credentials-file {service}: {path} must hold a JSON object")
    values = {str(k): Secret(v) for k, v in data.items() if isinstance(v, str)}
    skipped = sorted(str(k) for k, v in data.items() if not isinstance(v, str))
    return service, values, skipped


def _read_mapping(path: Path, flow: str) -> dict[str, object]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"--mapping {path}: {exc.strerror or type(exc).__name__}") from None
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(raw.decode("utf-8"), parse_float=Decimal)
        else:
            data = jsoncodec.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"--mapping {path}: cannot parse: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"--mapping {path}: must hold a table of sections")
    return data


def _check_target(flow: Flow) -> None:
    """The target must be installed and support the flow's posting mode."""
    target = get_target(make_manager(), flow.target)
    if flow.mode not in target.info.modes:
        raise ConfigError(
            f"flow {flow.name!r}: mode: {target.info.title} supports {', '.join(target.info.modes)}, "
            f"not {flow.mode!r}"
        )


@flows_app.command("add")
@reports_errors
def add(
    name: str = typer.Argument(..., help="Flow name (lower-case letters, digits, '.', '_', '-')."),
    target: str = typer.Option(
        ..., "--target", help="Installed target (see 'ml-connector targets')."
    ),
    seller_id: str = typer.Option(..., "--seller-id", help="The Amazon seller (merchant) id."),
    marketplaces: list[str] = typer.Option(
        ..., "--marketplace", "-m", help="Marketplace code or id; repeat for more (one region)."
    ),
    region: str | None = typer.Option(
        None, "--region", help="NA, EU or FE (implied by the marketplaces)."
    ),
    mode: str = typer.Option("summary", "--mode", help="summary or per-order."),
    split_by_month: bool = typer.Option(
        False, "--split-by-month", help="Split settlements that span two months at month end."
    ),
    home_currency: str | None = typer.Option(
        None, "--home-currency", help="The target organisation's base currency."
    ),
    mapping: Path | None = typer.Option(
        None,
        "--mapping",
        help="Mapping file (.toml or .json: accounts, items, contacts, taxes, tracking, options).",
    ),
    schedule: list[str] = typer.Option(
        [], "--schedule", help="JOB=DURATION, e.g. orders=30m or settlements=off; repeat."
    ),
    credential: list[str] = typer.Option(
        [],
        "--credential",
        help="SERVICE.NAME=VALUE (VALUE may be env:VAR or file:PATH); SERVICE is amazon or the target.",
    ),
    credentials_file: list[str] = typer.Option(
        [], "--credentials-file", help="SERVICE=FILE.json holding name: value pairs."
    ),
    disabled: bool = typer.Option(False, "--disabled", help="Add it paused: 'run' skips it."),
    replace: bool = typer.Option(False, "--replace", help="Update the flow if it exists."),
    db: str | None = DB_OPTION,
) -> None:
    """Add a flow and store its credentials, encrypted."""
    cadences: dict[str, object] = {}
    for item in schedule:
        kind, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--schedule {item!r}: write JOB=DURATION, e.g. orders=1h")
        cadences[kind.strip()] = value.strip()
    flow = flow_store.make_flow(
        name,
        target=target,
        seller_id=seller_id,
        marketplaces=marketplaces,
        region=region,
        mapping=_read_mapping(mapping, name) if mapping else None,
        mode=mode,
        split_by_month=split_by_month,
        home_currency=home_currency,
        schedule=cadences or None,
        enabled=not disabled,
    )
    _check_target(flow)
    credentials: dict[str, dict[str, Secret]] = {}
    skipped: list[str] = []
    for item in credentials_file:
        service, values, not_text = _credentials_file(item)
        credentials.setdefault(service, {}).update(values)
        skipped.extend(f"{service}.{name}" for name in not_text)
    for item in credential:
        service, key, secret = _credential_option(item)
        credentials.setdefault(service, {})[key] = secret
    database = open_database(db)
    vault = open_vault() if credentials else None
    now = utcnow(SystemClock())
    with database.engine.begin() as conn:
        new = flow_store.save_flow(conn, flow, now=now, replace=replace)
        if vault is not None:
            flow_store.store_credentials(conn, vault, flow, credentials, now=now)
    stored = sum(len(v) for v in credentials.values())
    console.print(
        f"Flow {flow.name} {'added' if new else 'updated'}: {flow.target}, "
        f"{', '.join(flow.marketplace_codes())} ({flow.region}), {flow.mode}; "
        f"{stored} credential(s) stored encrypted."
    )
    if skipped:
        console.print(f"Skipped values that are not text: {', '.join(skipped)}.")


def _jobs(conn: Connection, name: str) -> dict[str, Any]:
    rows = conn.execute(select(_JOB).where(_JOB.c.flow == name))
    return {row.kind: row for row in rows}


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ") if value is not None else "-"


def _cadence(seconds: int) -> str:
    if not seconds:
        return "off"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@flows_app.command("list")
@reports_errors
def list_(db: str | None = DB_OPTION, as_json: bool = JSON_OPTION) -> None:
    """List the flows."""
    database = open_database(db)
    with database.engine.begin() as conn:
        found = flow_store.list_flows(conn)
        jobs = {flow.name: _jobs(conn, flow.name) for flow in found}
    if as_json:
        print(json.dumps([flow.to_dict() for flow in found], indent=2))
        return
    if not found:
        console.print(
            "No flows yet; add one with 'ml-connector flows add' or 'flows load FILE.toml'."
        )
        return
    table = Table(title="Flows")
    for column in ("name", "target", "seller", "marketplaces", "mode", "state", "last run"):
        table.add_column(column)
    for flow in found:
        runs = [row for row in jobs[flow.name].values() if row.last_started_at is not None]
        last = max((row.last_started_at for row in runs), default=None)
        failing = [row.kind for row in runs if row.last_status == "failed"]
        state = (
            "paused"
            if not flow.enabled
            else ("failing: " + ", ".join(failing) if failing else "active")
        )
        table.add_row(
            flow.name,
            flow.target,
            flow.seller_id,
            f"{', '.join(flow.marketplace_codes())} ({flow.region})",
            flow.mode,
            state,
            _when(last),
        )
    console.print(table)


@flows_app.command("show")
@reports_errors
def show(
    name: str = typer.Argument(..., help="Flow name."),
    db: str | None = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a flow: settings, mapping, schedule, watermarks and which credentials are stored."""
    database = open_database(db)
    with database.engine.begin() as conn:
        flow = flow_store.get_flow(conn, name)
        stored = flow_store.credential_names(conn, flow)
        marks = flow_store.watermarks(conn, name)
        jobs = _jobs(conn, name)
    if as_json:
        data = flow.to_dict()
        data["credentials"] = stored
        data["watermarks"] = {
            s: {"value": v, "updated_at": _when(at)} for s, (v, at) in marks.items()
        }
        data["jobs"] = {
            kind: {
                "every_seconds": flow.cadence(kind),
                "next_due_at": _when(row.next_due_at) if (row := jobs.get(kind)) else "-",
                "last_status": row.last_status if row else "",
                "last_error": row.last_error if row else "",
            }
            for kind in flow_store.JOB_KINDS
        }
        print(json.dumps(data, indent=2))
        return
    console.print(f"[bold]{flow.name}[/]  {'enabled' if flow.enabled else 'paused'}")
    console.print(f"  target          {flow.target}")
    console.print(f"  seller          {flow.seller_id}")
    console.print(f"  marketplaces    {', '.join(flow.marketplace_codes())} (region {flow.region})")
    console.print(
        f"  mode            {flow.mode}{', split by month' if flow.split_by_month else ''}"
    )
    console.print(f"  home currency   {flow.home_currency}")
    for service, names in stored.items():
        listed = ", ".join(names) if names else "[yellow]none stored[/]"
        console.print(f"  credentials     {service}: {listed}  [dim](encrypted; never shown)[/]")
    schedule = Table(title="Schedule", title_justify="left")
    for column in ("job", "every", "next due", "last status", "last error"):
        schedule.add_column(column, overflow="fold")
    for kind in flow_store.JOB_KINDS:
        row = jobs.get(kind)
        schedule.add_row(
            kind,
            _cadence(flow.cadence(kind)),
            _when(row.next_due_at) if row else "now",
            (row.last_status or "-") if row else "never ran",
            row.last_error if row else "",
        )
    console.print(schedule)
    if marks:
        table = Table(title="Watermarks", title_justify="left")
        for column in ("stream", "value", "updated"):
            table.add_column(column)
        for stream, (value, at) in marks.items():
            table.add_row(stream, value, _when(at))
        console.print(table)
    mapping = flow_store.mapping_to_dict(flow.mapping)
    table = Table(title="Mapping", title_justify="left")
    for column in ("section", "canonical", "target"):
        table.add_column(column, overflow="fold")
    for section, entries in mapping.items():
        for key, value in entries.items():
            table.add_row(section, key, value)
    if table.row_count:
        console.print(table)
    else:
        console.print(
            "  mapping         [yellow]empty[/]: every reference will be reported unmapped"
        )


@flows_app.command("remove")
@reports_errors
def remove(
    name: str = typer.Argument(..., help="Flow name."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    db: str | None = DB_OPTION,
) -> None:
    """Remove a flow and its stored credentials (what it booked and posted stays)."""
    database = open_database(db)
    with database.engine.begin() as conn:
        flow_store.get_flow(conn, name)
    if not yes:
        typer.confirm(f"Remove flow {name} and its stored credentials?", abort=True)
    with database.engine.begin() as conn:
        flow_store.remove_flow(conn, name)
    console.print(f"Flow {name} removed; its ledger entries, raw records and audit trail stay.")


@flows_app.command("load")
@reports_errors
def load(
    path: Path = typer.Argument(..., help="TOML file declaring [flows.NAME] tables."),
    db: str | None = DB_OPTION,
) -> None:
    """Add or update every flow a TOML file declares, with its credentials, all or nothing."""
    declarations = flow_store.read_flows_file(path)
    for declaration in declarations:
        _check_target(declaration.flow)
    database = open_database(db)
    vault = open_vault()
    with database.engine.begin() as conn:
        added, updated = flow_store.apply_declarations(
            conn, vault, declarations, now=utcnow(SystemClock())
        )
    console.print(
        f"{len(added)} flow(s) added{': ' + ', '.join(added) if added else ''}; "
        f"{len(updated)} updated{': ' + ', '.join(updated) if updated else ''}."
    )
