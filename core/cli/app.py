"""The ``ml-connector`` command: one Typer app, commands in modules named for what they do.

Exit codes follow DESIGN.md §6: 0 done, 1 something failed or did not reconcile (the output says
what), 2 the command was used wrongly.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

from ml_connector.ledger.errors import ConnectorError

app = typer.Typer(
    name="ml-connector",
    help="Amazon Seller Central to accounting, through a double-entry ledger that ties out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# No emoji codes: account names such as "Assets:Bank:AmazonPayouts" hold ":bank:", which rich
# would print as a bank emoji.
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)

P = ParamSpec("P")
R = TypeVar("R")


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a deliberate ``ConnectorError`` into one clear line on stderr and exit code 1.

    The wrapper keeps ``func``'s signature (``functools.wraps``), which is what Typer reads.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ConnectorError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
            raise typer.Exit(1) from None

    return wrapper


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every API call."),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
