"""Serve a Wave emulator on a loopback port, with everything a client needs to connect."""

from __future__ import annotations

from typing import Any

from ml_connector.core.emulation import Chaos, LoopbackServer, serve
from ml_connector.core.emulation.clock import Clock
from ml_connector.plugins.wave.emulator.app import (
    AUTHORIZE_PATH,
    GRAPHQL_PATH,
    TOKEN_PATH,
    WaveEmulator,
)
from ml_connector.plugins.wave.emulator.oauth import REGISTERED_REDIRECT_URI


def serve_wave(emulator: WaveEmulator, *, port: int = 0) -> tuple[LoopbackServer, dict[str, Any]]:
    """Serve ``emulator`` on 127.0.0.1:``port`` (0 picks one); return the server and its info.

    ``info`` is JSON-ready: ``url`` (the GraphQL endpoint), ``token_url``, ``authorize_url``,
    ``redirect_uri``, ``client_id``, ``client_secret``, ``business_id``, and a ready
    ``access_token`` (valid about 2 h) with its ``refresh_token``. It holds secrets on purpose:
    it is what ``ml-connector emulate wave`` prints for a local client; do not log it.
    """
    server = serve(emulator.handle, port=port)
    tokens = emulator.issue_tokens()
    info = {
        "url": server.url + GRAPHQL_PATH,
        "token_url": server.url + TOKEN_PATH,
        "authorize_url": server.url + AUTHORIZE_PATH,
        "redirect_uri": REGISTERED_REDIRECT_URI,
        "client_id": emulator.oauth.client_id,
        "client_secret": emulator.oauth.client_secret,
        "business_id": emulator.business_id,
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
    }
    return server, info


def serve_emulator(
    seed: int = 0,
    port: int = 0,
    *,
    chaos: Chaos | None = None,
    clock: Clock | None = None,
    external_id_dedup: bool = False,
) -> tuple[LoopbackServer, dict[str, Any]]:
    """A fresh seeded :class:`WaveEmulator` served on a loopback port (see :func:`serve_wave`)."""
    emulator = WaveEmulator(
        seed=seed, clock=clock, chaos=chaos, external_id_dedup=external_id_dedup
    )
    return serve_wave(emulator, port=port)
