"""``ml-connector emulate NAME``: serve an emulator on a loopback port until interrupted.

The first line printed is one JSON object with the emulator's base URL and the credentials of its
generated account, so any client, ours or someone else's, can be pointed at it.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer

from ml_connector.core.cli.app import app, reports_errors
from ml_connector.core.emulation import Chaos, SystemClock, serve
from ml_connector.core.errors import ConfigError
from ml_connector.core.flows import mapping_to_dict
from ml_connector.core.plugins import get_target, make_manager


def _absolute(info: dict[str, object], base_url: str) -> dict[str, object]:
    return {
        k: (base_url + v if isinstance(v, str) and v.startswith("/") else v)
        for k, v in info.items()
    }


def _multiplier(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal(0)
    if not value.is_finite() or value <= 0:
        raise ConfigError(f"--rate-multiplier must be a positive number, got {text!r}")
    return value


def _write_mapping(path: Path, mapping: dict[str, dict[str, str]]) -> None:
    try:
        path.write_text(json.dumps(mapping, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--mapping-out {path}: {exc.strerror or type(exc).__name__}") from None


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
    mapping_out: Path | None = typer.Option(
        None,
        "--mapping-out",
        help="Targets only: write the emulated organisation's mapping (its own account codes, "
        "items, contacts, taxes) to this JSON file, for 'ml-connector flows add --mapping'.",
    ),
    rate_multiplier: str = typer.Option(
        "1",
        "--rate-multiplier",
        help="Amazon only: scale every SP-API usage plan (default 1: Amazon's own rates, "
        "under which a first pull of two years of orders takes about half an hour; 100 makes "
        "it seconds). Clients follow the x-amzn-RateLimit-Limit header the emulator sends.",
    ),
) -> None:
    """Serve an emulator (Amazon's SP-API or a target's API) on a loopback port."""
    multiplier = _multiplier(rate_multiplier)
    if name == "amazon":
        if mapping_out is not None:
            raise ConfigError("--mapping-out applies to a target's emulator, not Amazon's")
        from ml_connector.core.amazon.emulator import serve_emulator

        server, info = serve_emulator(
            seed=seed, orders=orders, port=port, rate_multiplier=multiplier
        )
    else:
        if multiplier != 1:
            raise ConfigError("--rate-multiplier applies to the Amazon emulator only")
        target = get_target(make_manager(), name)
        emulated = target.emulator(seed=seed, clock=SystemClock(), chaos=Chaos.off())
        if mapping_out is not None:
            _write_mapping(mapping_out, mapping_to_dict(emulated.mapping))
        server = serve(emulated.handle, port=port)
        info = _absolute({"target": name, "url": "/", **emulated.info}, server.url)
    print(json.dumps(info), flush=True)
    try:
        _wait_for_interrupt()
    finally:
        server.close()
