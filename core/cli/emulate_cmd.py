"""``ml-connector emulate NAME``: serve an emulator on a loopback port until interrupted.

The first line printed is one JSON object with the emulator's base URL and the credentials of its
generated account, so any client, ours or someone else's, can be pointed at it.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading

import typer

from ml_connector.core.cli.app import app, reports_errors
from ml_connector.core.emulation import Chaos, SystemClock, serve
from ml_connector.core.plugins import get_target, make_manager


def _absolute(info: dict[str, object], base_url: str) -> dict[str, object]:
    return {
        k: (base_url + v if isinstance(v, str) and v.startswith("/") else v)
        for k, v in info.items()
    }


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()


@app.command()
@reports_errors
def emulate(
    name: str = typer.Argument(
        ..., help="amazon, or an installed target (see 'ml-connector targets')."
    ),
    port: int = typer.Option(0, "--port", help="Port on 127.0.0.1 (0 picks a free one)."),
    seed: int = typer.Option(1, "--seed", help="Seed of the generated account."),
    orders: int = typer.Option(
        200, "--orders", help="Amazon only: orders of the generated seller."
    ),
) -> None:
    """Serve an emulator (Amazon's SP-API or a target's API) on a loopback port."""
    if name == "amazon":
        from ml_connector.core.amazon.emulator import serve_emulator

        server, info = serve_emulator(seed=seed, orders=orders, port=port)
    else:
        target = get_target(make_manager(), name)
        emulated = target.emulator(seed=seed, clock=SystemClock(), chaos=Chaos.off())
        server = serve(emulated.handle, port=port)
        info = _absolute({"target": name, "url": "/", **emulated.info}, server.url)
    print(json.dumps(info), flush=True)
    try:
        _wait_for_interrupt()
    finally:
        server.close()
