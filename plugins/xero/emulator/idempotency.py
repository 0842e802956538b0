"""Xero's ``Idempotency-Key``: a write repeated with the same key is answered, not re-applied.

Xero remembers a key for about 6 minutes, per organisation, together with the request it came
with (method, URL and body). A repeat inside the window gets the stored response; the same key
with a different request is refused; after the window the key is forgotten and the write would
be applied again. Keys longer than 128 characters are refused.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import httpx

from ml_connector.core.emulation import Clock

WINDOW_SECONDS = 6 * 60
MAX_KEY_LENGTH = 128


@dataclass
class _Stored:
    fingerprint: str
    status: int
    headers: list[tuple[str, str]]
    content: bytes
    expires_at: float


def fingerprint(request: httpx.Request) -> str:
    """What makes two requests "the same" for Xero: method, full URL and body."""
    digest = hashlib.sha256()
    for part in (request.method.encode(), str(request.url).encode(), request.content):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class IdempotencyCache:
    def __init__(self, clock: Clock, window_seconds: int = WINDOW_SECONDS) -> None:
        self.clock = clock
        self.window_seconds = window_seconds
        # Insertion order is expiry order (the clock only moves forward), so pruning is cheap.
        self._entries: OrderedDict[tuple[str, str], _Stored] = OrderedDict()

    def lookup(
        self, tenant_id: str, key: str, request: httpx.Request
    ) -> httpx.Response | str | None:
        """The stored response to replay, a refusal message, or None to go ahead."""
        now = self.clock.now()
        stored = self._entries.get((tenant_id, key))
        if stored is None or now >= stored.expires_at:
            self._entries.pop((tenant_id, key), None)
            return None
        if stored.fingerprint != fingerprint(request):
            return (
                f"The Idempotency-Key '{key}' was already used with a different request in the "
                "last few minutes; use a new key for a different request."
            )
        return httpx.Response(stored.status, headers=stored.headers, content=stored.content)

    def remember(
        self, tenant_id: str, key: str, request: httpx.Request, response: httpx.Response
    ) -> None:
        """Keep ``response`` for repeats of ``request`` during the window."""
        now = self.clock.now()
        while self._entries and next(iter(self._entries.values())).expires_at <= now:
            self._entries.popitem(last=False)
        self._entries.pop((tenant_id, key), None)
        self._entries[(tenant_id, key)] = _Stored(
            fingerprint=fingerprint(request),
            status=response.status_code,
            headers=[
                (k, v) for k, v in response.headers.multi_items() if k.lower() == "content-type"
            ],
            content=response.content,
            expires_at=now + self.window_seconds,
        )
