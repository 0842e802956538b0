"""An emulator of Wave's public GraphQL API and its OAuth endpoints, built from the schema.

``WaveEmulator(seed=, clock=, chaos=, external_id_dedup=)`` is a stateful ``handle(request)``
for ``httpx.MockTransport``; ``serve_emulator(seed, port)`` puts one on a loopback port.
Module map: ``schema`` (SDL + scalars), ``state``/``seed`` (what it holds and starts with),
``views``/``listing`` (GraphQL shapes, paging), ``resolvers`` (root fields), ``*_mutations``,
``invoicing``/``transactions`` (business rules), ``oauth``, ``app`` (HTTP and chaos), ``serve``.
"""

from ml_connector.plugins.wave.emulator.app import (
    AUTHORIZE_PATH,
    GRAPHQL_PATH,
    TOKEN_PATH,
    WaveEmulator,
)
from ml_connector.plugins.wave.emulator.oauth import ACCESS_TOKEN_SECONDS, TokenPair
from ml_connector.plugins.wave.emulator.serve import serve_emulator, serve_wave
from ml_connector.plugins.wave.emulator.state import WaveState

__all__ = [
    "ACCESS_TOKEN_SECONDS",
    "AUTHORIZE_PATH",
    "GRAPHQL_PATH",
    "TOKEN_PATH",
    "TokenPair",
    "WaveEmulator",
    "WaveState",
    "serve_emulator",
    "serve_wave",
]
