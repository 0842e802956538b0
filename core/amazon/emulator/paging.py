"""Opaque page tokens that remember the query they continue and expire with the clock.

Amazon's next-page tokens are opaque and do not live forever; a client that sleeps too long
between pages must restart its listing. Tokens here last :data:`TOKEN_LIFETIME_SECONDS` of the
emulator's clock, then answer 400 ``InvalidInput`` naming the token, so restart logic can be
tested.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ml_connector.core.amazon.emulator.wire import invalid_input
from ml_connector.core.emulation.clock import Clock

TOKEN_LIFETIME_SECONDS = 600


@dataclass(frozen=True)
class Continuation:
    """Where the next page starts: the operation, its query and the offset into its results."""

    operation: str
    query: Mapping[str, Any]
    offset: int
    issued_at: float


class PageTokens:
    def __init__(self, clock: Clock, lifetime_seconds: int = TOKEN_LIFETIME_SECONDS) -> None:
        self._clock = clock
        self._lifetime = lifetime_seconds
        self._pending: dict[str, Continuation] = {}
        self._lock = threading.Lock()

    def issue(self, operation: str, query: Mapping[str, Any], offset: int) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._pending[token] = Continuation(operation, dict(query), offset, self._clock.now())
        return token

    def redeem(self, operation: str, token: str, parameter: str) -> Continuation:
        """The continuation behind ``token``; a 400 when unknown, expired or for another call."""
        with self._lock:
            found = self._pending.get(token)
        if found is None or found.operation != operation:
            raise invalid_input(f"Invalid {parameter}: the token is not recognised.")
        if self._clock.now() - found.issued_at > self._lifetime:
            raise invalid_input(
                f"Invalid {parameter}: the token has expired. Restart the listing without it."
            )
        return found
