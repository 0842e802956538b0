"""Command-line interface. Importing the command modules registers their commands on ``app``."""

from __future__ import annotations

from ml_connector.core.cli import (  # noqa: F401  (importing registers the commands)
    amazon_cmd,
    auth_cmd,
    demo_cmd,
    emulate_cmd,
    flows_cmd,
    ingest_cmd,
    operate_cmds,
    prices_cmd,
    reconcile_cmd,
    rollback_cmd,
    run_cmd,
    sync_cmd,
    targets_cmd,
    vault_cmd,
    worker_cmd,
)
from ml_connector.core.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
