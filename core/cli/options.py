"""Options shared by many commands."""

from __future__ import annotations

import typer

DB_OPTION = typer.Option(
    None,
    "--db",
    envvar="ML_CONNECTOR_DB",
    help="Database URL (default: SQLite file in the user's data directory; postgresql+psycopg://... for PostgreSQL).",
)
JSON_OPTION = typer.Option(
    False, "--json", help="Print the result as JSON (money as decimal strings)."
)
FLOW_OPTION = typer.Option(None, "--flow", help="Only this flow.")
