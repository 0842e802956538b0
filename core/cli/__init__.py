"""Command-line interface. Importing the command modules registers their commands on ``app``."""

from __future__ import annotations

from ml_connector.core.cli import (  # noqa: F401  (importing registers the commands)
    emulate_cmd,
    flows_cmd,
    operate_cmds,
    reconcile_cmd,
    rollback_cmd,
    targets_cmd,
    vault_cmd,
)
    demo_cmd,
    emulate_cmd,
    flows_cmd,
    operate_cmds,
    run_cmd,
    reconcile_cmd,
    rollback_cmd,
    targets_cmd,
    vault_cmd,
)
from ml_connector.core.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
