"""Command-line interface. Importing the command modules registers their commands on ``app``."""

from __future__ import annotations

from ml_connector.core.cli import targets_cmd  # noqa: F401  (registers commands)
from ml_connector.core.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
