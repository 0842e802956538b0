"""``ml-connector targets``: the installed targets and what each can do."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from ml_connector.core.cli.app import app, console, reports_errors
from ml_connector.core.plugins import get_target, make_manager, target_names


@app.command()
@reports_errors
def targets(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List installed accounting targets with their capabilities."""
    pm = make_manager()
    infos = [get_target(pm, name).info for name in target_names(pm)]
    if as_json:
        console.print_json(
            json.dumps(
                {
                    info.name: {
                        "title": info.title,
                        "wire": info.wire,
                        "batch_size": info.batch_size,
                        "dedup": {k: v.value for k, v in info.dedup.items()},
                        "documents": list(info.documents),
                        "modes": list(info.modes),
                        "rate_limits": {
                            "per_second": info.rate_limits.per_second,
                            "per_minute": info.rate_limits.per_minute,
                            "per_day": info.rate_limits.per_day,
                            "concurrent": info.rate_limits.concurrent,
                        },
                    }
                    for info in infos
                }
            )
        )
        return
    table = Table(title="Installed targets")
    for column in ("name", "title", "wire", "batch", "documents", "dedup", "rate limits"):
        table.add_column(column)
    for info in infos:
        limits = info.rate_limits
        limit_text = ", ".join(
            f"{value}/{unit}"
            for value, unit in (
                (limits.per_second, "s"),
                (limits.per_minute, "min"),
                (limits.per_day, "day"),
            )
            if value
        )
        if limits.concurrent:
            limit_text += f", {limits.concurrent} concurrent"
        table.add_row(
            info.name,
            info.title,
            info.wire,
            str(info.batch_size),
            ", ".join(info.documents),
            ", ".join(f"{k}: {v.value}" for k, v in info.dedup.items()),
            limit_text or "not published",
        )
    console.print(table)
