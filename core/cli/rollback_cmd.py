"""``ml-connector rollback SETTLEMENT_ID --flow NAME``: take a posted settlement back out.

The work is :func:`ml_connector.core.rollback.rollback_settlement`; this module finds the target,
opens a session on it with the flow's credentials from the vault (as ``sync`` does, so a refreshed
token is saved before it is used) and prints what was done. ``--emulator SEED`` talks to the
target's in-process emulator instead: the emulator of that seed is made once per process and
shared (:func:`shared_emulator`), so a demo or a test that synced against it can roll back what
it posted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import typer
from rich.table import Table

from ml_connector.core import outbox
from ml_connector.core.cli.app import app, console, err_console, reports_errors
from ml_connector.core.cli.options import DB_OPTION, JSON_OPTION
from ml_connector.core.credentials import Credentials
from ml_connector.core.database import Database, open_database
from ml_connector.core.emulation import Chaos, Clock, SystemClock
from ml_connector.core.emulation.clock import utcnow
from ml_connector.core.errors import ConfigError
from ml_connector.core.flows import get_flow
from ml_connector.core.jobs import default_http
from ml_connector.core.plugins import Target, get_target, make_manager
from ml_connector.core.rollback import RollbackError, RollbackReport, rollback_settlement
from ml_connector.core.targets import EmulatedTarget
from ml_connector.core.vault import open_vault, redacted_logs

_EMULATORS: dict[tuple[str, int], EmulatedTarget] = {}


def shared_emulator(target: Target, seed: int, clock: Clock) -> EmulatedTarget:
    """The in-process emulator of ``target`` for ``seed``, made on first use."""
    key = (target.name, seed)
    if key not in _EMULATORS:
        _EMULATORS[key] = target.emulator(seed=seed, clock=clock, chaos=Chaos.off())
    return _EMULATORS[key]


def _target_of(database: Database, flow: str, name: str | None) -> Target:
    if name is None:
        with database.engine.begin() as conn:
            names = sorted({row.target for row in outbox.entries(conn, flow=flow)})
        if len(names) != 1:
            raise ConfigError(
                f"flow {flow!r} has posted to {', '.join(names) or 'no target'}; "
                "name the target with --target"
            )
        name = names[0]
    return get_target(make_manager(), name)


@contextmanager
def _session(
    database: Database, flow: str, plugin: Target, emulator: int | None, clock: Clock
) -> Iterator[object]:
    """A session on the flow's target: its emulator of ``emulator`` seed, or the flow's own."""
    if emulator is not None:
        emulated = shared_emulator(plugin, emulator, clock)
        with httpx.Client(transport=httpx.MockTransport(emulated.handle), timeout=30) as http:
            yield plugin.connect(
                credentials=Credentials(emulated.credentials), http=http, clock=clock
            )
        return
    vault = open_vault()
    with database.engine.begin() as conn:
        found = get_flow(conn, flow)
    if found.target != plugin.name:
        raise ConfigError(
            f"flow {flow!r} posts to {found.target}, not {plugin.name}; its credentials are "
            f"for {found.target}"
        )
    credentials = vault.credentials(
        database.engine, found.scope(plugin.name), now=lambda: utcnow(clock)
    )
    # A target may echo a secret back in an error someone logs: mask them.
    with redacted_logs(credentials.secrets), default_http(plugin.name) as http:
        yield plugin.connect(credentials=credentials, http=http, clock=clock)


def _print(report: RollbackReport, title: str) -> None:
    steps = Table(title=f"Settlement {report.settlement_id} in {title}")
    for column in ("document", "kind", "target id", "done"):
        steps.add_column(column, overflow="fold")
    for step in report.undone:
        done = "undone now" if step.outcome == "created" else "was already undone"
        steps.add_row(step.key, step.kind, step.target_id or "", done)
    for step in report.cancelled:
        steps.add_row(step.key, step.kind, "", "never posted: cancelled")
    if report.undone or report.cancelled:
        console.print(steps)
    if report.already_undone:
        console.print(f"{report.already_undone} document(s) had been undone by an earlier run.")


@app.command()
@reports_errors
def rollback(
    settlement_id: str = typer.Argument(..., help="The Amazon settlement id to roll back."),
    flow: str = typer.Option(..., "--flow", help="The flow that posted it."),
    target: str | None = typer.Option(
        None, "--target", help="The flow's target (default: the one it posted to)."
    ),
    db: str | None = DB_OPTION,
    emulator: int | None = typer.Option(
        None,
        "--emulator",
        metavar="SEED",
        help="Use this process's in-process emulator of the target (demo, tests).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Undo a posted settlement in the target (void, delete or credit note) and reverse its entries.

    Safe to run again: a rollback that stopped half-way continues where it stopped. Afterwards
    the settlement is ready to be re-posted (after fixing the mapping):
    'ml-connector sync --flow NAME --rebook SETTLEMENT_ID'.
    """
    database = open_database(db)
    plugin = _target_of(database, flow, target)
    clock = SystemClock()
    with _session(database, flow, plugin, emulator, clock) as session:
        try:
            report = rollback_settlement(
                database,
                flow=flow,
                target=plugin.name,
                settlement_id=settlement_id,
                session=session,
                plugin=plugin,
                clock=clock,
            )
        except RollbackError as exc:
            if as_json:
                print(json.dumps({**exc.report.to_dict(), "error": str(exc)}, indent=2))
            else:
                _print(exc.report, plugin.info.title)
            raise
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        _print(report, plugin.info.title)
    if not report.complete:
        err_console.print(
            f"Settlement {settlement_id} is out of {plugin.info.title} for flow {flow}, but "
            f"flow(s) {', '.join(report.waiting_for)} still have documents of the same ledger "
            f"entries in their target: roll it back there too ('ml-connector rollback "
            f"{settlement_id} --flow NAME'); the ledger is reversed then.",
            highlight=False,
        )
        raise typer.Exit(1)
    if not as_json and not (report.undone or report.cancelled or report.entries_reversed):
        console.print(f"Settlement {settlement_id} was already rolled back; nothing to do.")
    elif not as_json:
        console.print(
            f"Settlement {settlement_id} is rolled back: {report.entries_reversed} ledger "
            f"entr{'y' if report.entries_reversed == 1 else 'ies'} reversed. Fix the mapping if "
            f"needed, then re-post it: 'ml-connector sync --flow {flow} --rebook {settlement_id}'.",
            highlight=False,
        )
