"""``ml-connector auth TARGET --flow NAME``: connect a flow's target organisation with OAuth 2.

The app's ``client_id`` and ``client_secret`` must already be stored for the flow (``flows add
--credential xero.client_id=...``). The command opens the target's sign-in page, receives the
answer on a loopback address, and stores the refresh token encrypted in the vault. No code or
token is ever printed.
"""

from __future__ import annotations

import webbrowser

import httpx
import typer

from ml_connector.core.cli.app import app, console, reports_errors
from ml_connector.core.cli.options import DB_OPTION
from ml_connector.core.database import open_database
from ml_connector.core.emulation.clock import SystemClock, utcnow
from ml_connector.core.errors import ConfigError
from ml_connector.core.flows import get_flow
from ml_connector.core.oauth import (
    CALLBACK_PATH,
    DEFAULT_PORT,
    DEFAULT_TIMEOUT_SECONDS,
    LOOPBACK_HOST,
    OAuthClient,
    authorize,
)
from ml_connector.core.plugins import get_target, make_manager
from ml_connector.core.vault import open_vault

HTTP_TIMEOUT_SECONDS = 30.0


def _show_url(url: str) -> None:
    console.print("Open this address in a browser and sign in:", highlight=False)
    console.print(url, highlight=False, soft_wrap=True)


def _open_browser(url: str) -> None:
    if not webbrowser.open(url):
        _show_url(url)
    else:
        console.print("A browser window asks you to sign in.", highlight=False)


@app.command()
@reports_errors
def auth(
    target: str = typer.Argument(..., help="The flow's target (see 'ml-connector targets')."),
    flow: str = typer.Option(..., "--flow", help="The flow whose target is connected."),
    db: str | None = DB_OPTION,
    no_browser: bool = typer.Option(
        False, "--no-browser", help="Print the sign-in address instead of opening a browser."
    ),
    port: int = typer.Option(
        DEFAULT_PORT,
        "--port",
        min=0,
        max=65535,
        help=f"Loopback port of the redirect http://{LOOPBACK_HOST}:PORT{CALLBACK_PATH} "
        "(register that address with the app; 0 picks a free port).",
    ),
    timeout: float = typer.Option(
        DEFAULT_TIMEOUT_SECONDS, "--timeout", help="Seconds to wait for the sign-in."
    ),
) -> None:
    """Run the OAuth sign-in for a flow's target and store its tokens encrypted."""
    database = open_database(db)
    vault = open_vault()
    with database.engine.begin() as conn:
        found = get_flow(conn, flow)
        if found.target != target:
            raise ConfigError(
                f"flow {flow!r} posts to {found.target}, not {target}; "
                f"run 'ml-connector auth {found.target} --flow {flow}'"
            )
        stored = vault.load(conn, found.scope(target))
    plugin = get_target(make_manager(), target)
    if not plugin.implements("oauth_client"):
        raise ConfigError(
            f"{plugin.info.title} does not connect with OAuth; store its credentials with "
            f"'ml-connector flows add {flow} --replace --credential {target}.NAME=VALUE'"
        )
    client: OAuthClient = plugin.oauth_client().pointed_at(stored)
    client_id = stored.get("client_id")
    if not client_id:
        raise ConfigError(
            f"flow {flow!r} has no {target}.client_id; store the app's id and secret first: "
            f"'ml-connector flows add {flow} --replace --credential {target}.client_id=... "
            f"--credential {target}.client_secret=env:VARIABLE'"
        )
    with httpx.Client(timeout=HTTP_TIMEOUT_SECONDS) as http:
        grant = authorize(
            client,
            service=target,
            client_id=client_id.reveal(),
            client_secret=stored.get("client_secret"),
            http=http,
            open_browser=_show_url if no_browser else _open_browser,
            port=port,
            timeout=timeout,
        )
    with database.engine.begin() as conn:
        vault.store(
            conn,
            found.scope(target),
            {"refresh_token": grant.refresh_token},
            now=utcnow(SystemClock()),
        )
    console.print(
        f"Flow {flow} is connected to {plugin.info.title}; its refresh token is stored "
        "encrypted in the vault.",
        highlight=False,
    )
