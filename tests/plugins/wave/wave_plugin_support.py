"""Helpers for the Wave plugin's tests: booked entries of generated sellers, a connected client."""

from __future__ import annotations

import httpx

import ml_connector.plugins.wave as wave
from ml_connector.core.amazon.emulator import generate_seller
from ml_connector.core.credentials import Credentials
from ml_connector.core.emulation import Chaos, FakeClock
from ml_connector.core.targets import EmulatedTarget, RenderContext
from ml_connector.ledger.entries import JournalEntry
from ml_connector.ledger.posting import book_settlement
from ml_connector.ledger.rules import default_rules
from ml_connector.plugins.wave.client import WaveClient


def booked(seed: int, mode: str, orders: int = 20) -> list[list[JournalEntry]]:
    """The entries of each settlement of a generated seller, booked by the default rules."""
    seller = generate_seller(seed=seed, orders=orders)
    rules = default_rules()
    return [
        list(book_settlement(header, lines, rules, mode=mode).entries)  # type: ignore[arg-type]
        for header, lines in seller.settlements
    ]


def context(mode: str) -> RenderContext:
    return RenderContext(flow="shop", target="wave", mode=mode)


def connected(
    *,
    seed: int = 3,
    chaos: Chaos | None = None,
    clock: FakeClock | None = None,
    dedup: bool = False,
) -> tuple[EmulatedTarget, WaveClient, list[httpx.Request]]:
    """An emulated business and a client on it; the list collects every request sent."""
    clock = clock or FakeClock()
    target = wave.emulated_target(
        seed=seed, clock=clock, chaos=chaos or Chaos.off(), external_id_dedup=dedup
    )
    sent: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return target.handle(request)

    http = httpx.Client(transport=httpx.MockTransport(handle))
    client = wave.connect(credentials=Credentials(target.credentials), http=http, clock=clock)
    return target, client, sent
