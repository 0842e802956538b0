"""Serve the emulated SP-API on a loopback port, for the demo and third-party clients."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ml_connector.core.amazon.emulator.app import AmazonEmulator
from ml_connector.core.amazon.emulator.lwa import TOKEN_PATH
from ml_connector.core.emulation.chaos import Chaos
from ml_connector.core.emulation.clock import Clock
from ml_connector.core.emulation.server import LoopbackServer, serve


def serve_emulator(
    seed: int,
    orders: int,
    port: int = 0,
    *,
    clock: Clock | None = None,
    chaos: Chaos | None = None,
    rate_multiplier: Decimal | int | str = 1,
) -> tuple[LoopbackServer, dict[str, Any]]:
    """Start an :class:`AmazonEmulator` on ``127.0.0.1:port`` (0 picks a free port).

    Returns the running server and what a client needs to use it: ``url`` (the SP-API base,
    which also serves report documents), ``lwa_url`` (the token endpoint), ``client_id``,
    ``client_secret``, ``refresh_token``, ``seller_id`` and ``marketplace_ids``. The credentials
    are the emulator's own, made up from the seed, and are meant to be printed.
    """
    emulator = AmazonEmulator(
        seed=seed, orders=orders, clock=clock, chaos=chaos, rate_multiplier=rate_multiplier
    )
    server = serve(emulator.handle, port=port)
    credentials = emulator.credentials
    info: dict[str, Any] = {
        "url": server.url,
        "lwa_url": server.url + TOKEN_PATH,
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
        "refresh_token": credentials.refresh_token,
        "seller_id": credentials.seller_id,
        "marketplace_ids": emulator.marketplace_ids,
    }
    return server, info
