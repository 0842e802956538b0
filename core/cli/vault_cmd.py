"""``ml-connector vault new-key|rotate-key``: the key that encrypts every stored credential."""

from __future__ import annotations

import typer

from ml_connector.core.cli.app import app, console, reports_errors
from ml_connector.core.cli.options import DB_OPTION
from ml_connector.core.database import open_database
from ml_connector.core.emulation.clock import SystemClock, utcnow
from ml_connector.core.vault import KEY_VARIABLE, load_keys, new_key, rotate_key

vault_app = typer.Typer(
    name="vault", help="The key that encrypts stored credentials.", no_args_is_help=True
)
app.add_typer(vault_app, name="vault")


@vault_app.command("new-key")
@reports_errors
def new_key_cmd() -> None:
    """Print a fresh key for ML_CONNECTOR_KEY (share it with every machine of one database)."""
    print(new_key().decode("ascii"))


@vault_app.command("rotate-key")
@reports_errors
def rotate_key_cmd(db: str | None = DB_OPTION) -> None:
    """Re-encrypt every stored credential under a new key. Stop 'run' and workers first.

    With a key file, a new key is made, every credential re-encrypted, and the old key retired.
    With ML_CONNECTOR_KEY, set it to 'NEW,OLD' (from 'vault new-key'), run this, then drop OLD.
    """
    keys = load_keys(create=False)
    database = open_database(db)
    done = rotate_key(database.engine, keys, now=utcnow(SystemClock()))
    console.print(
        f"{done.rotated} credential(s) re-encrypted under the newest key of {done.source}."
    )
    if done.source == KEY_VARIABLE:
        if len(keys.keys) > 1:
            console.print(
                f"Now remove the old key(s) from {KEY_VARIABLE}: keep only its first key."
            )
    else:
        console.print(f"{done.retired} old key(s) retired from {done.source}.")
