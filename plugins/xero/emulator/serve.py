"""Serve the Xero emulator on a loopback port, with everything a client needs to connect.

One port serves identity and API alike (the paths differ: ``/connect/token``,
``/identity/connect/authorize``, ``/connections``, ``/api.xro/2.0/...``), so a third-party
client is pointed at it by swapping the three Xero base URLs for the one printed here.

A lost response (chaos ``LOSE_RESPONSE`` or ``TIMEOUT``) cannot be a client-side timeout over a
real socket; the server drops the connection instead, which a client sees as a disconnect
without a response: the same "did it arrive?" doubt.
"""

from __future__ import annotations

from typing import Any

from ml_connector.core.emulation import Chaos, Clock, LoopbackServer, serve
from ml_connector.plugins.xero.emulator.app import API_PREFIX, XeroEmulator

DEMO_REDIRECT_URI = "http://127.0.0.1/callback"


def serve_emulator(
    seed: int = 0,
    port: int = 0,
    *,
    clock: Clock | None = None,
    chaos: Chaos | None = None,
    rate_multiplier: int = 1,
) -> tuple[LoopbackServer, dict[str, Any]]:
    """Start a seeded emulator on ``127.0.0.1:port`` (0 picks a free port).

    ``info`` holds ``url`` (the API base, ``.../api.xro/2.0``), ``identity_url`` (the token
    endpoint), ``authorize_url``, ``connections_url``, ``client_id``, ``client_secret``,
    ``tenant_id`` and a ready ``refresh_token`` for non-interactive use. The emulator itself is
    ``info["emulator"]`` for in-process inspection (it is not JSON; drop it before printing).
    """
    emulator = XeroEmulator(seed=seed, clock=clock, chaos=chaos, rate_multiplier=rate_multiplier)
    server = serve(emulator.handle, port=port)
    tokens = emulator.issue_tokens()
    info: dict[str, Any] = {
        "url": f"{server.url}{API_PREFIX}",
        "identity_url": f"{server.url}/connect/token",
        "authorize_url": f"{server.url}/identity/connect/authorize",
        "connections_url": f"{server.url}/connections",
        "client_id": emulator.client.client_id,
        "client_secret": emulator.client.client_secret,
        "tenant_id": emulator.tenant_id,
        "refresh_token": tokens["refresh_token"],
        "redirect_uri": DEMO_REDIRECT_URI,
        "emulator": emulator,
    }
    return server, info
