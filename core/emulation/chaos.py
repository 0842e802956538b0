"""Injected faults for emulators: the failures a real service throws at a client.

An emulator asks :meth:`Chaos.draw` once per request and acts out the fault in its own wire
format: a 429 with the service's own headers, a 5xx, a timeout before the request is applied, an
access token that expires early, or the nastiest one, a response lost *after* the write was
applied (the client sees a timeout, the service kept the object). Faults are drawn from a seeded
random generator, so a failing chaos run can be replayed exactly.

Probabilities are whole numbers per thousand requests, which keeps chaos settings exact and
readable in a flow's TOML.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field

import httpx


class Fault(enum.Enum):
    THROTTLE = "throttle"  # answer 429 as the service does
    SERVER_ERROR = "server_error"  # answer 500/503 without applying anything
    TIMEOUT = "timeout"  # raise a timeout before the request reaches the service's state
    EXPIRE_TOKEN = (
        "expire_token"  # the caller's access token expires now; answer as the service does
    )
    LOSE_RESPONSE = "lose_response"  # apply the request, then lose the response (raise a timeout)


@dataclass
class Chaos:
    """A seeded fault plan: ``per_mille[fault]`` is that fault's chance per request, in ‰."""

    seed: int = 0
    per_mille: dict[Fault, int] = field(default_factory=dict)
    writes_only: frozenset[Fault] = frozenset({Fault.LOSE_RESPONSE})
    injected: dict[Fault, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        total = sum(self.per_mille.values())
        if any(v < 0 for v in self.per_mille.values()) or total > 1000:
            raise ValueError("chaos per-mille values must be >= 0 and sum to at most 1000")
        self._random = random.Random(self.seed)

    @classmethod
    def off(cls) -> Chaos:
        return cls()

    @classmethod
    def default(cls, seed: int = 0) -> Chaos:
        """The demo's ``--chaos`` mix: roughly one request in six meets a fault."""
        return cls(
            seed=seed,
            per_mille={
                Fault.THROTTLE: 60,
                Fault.SERVER_ERROR: 30,
                Fault.TIMEOUT: 20,
                Fault.EXPIRE_TOKEN: 20,
                Fault.LOSE_RESPONSE: 40,
            },
        )

    @property
    def enabled(self) -> bool:
        return any(self.per_mille.values())

    def draw(self, request: httpx.Request, *, is_write: bool | None = None) -> Fault | None:
        """The fault to act out for ``request``, or None to serve it normally.

        ``is_write`` defaults to "the method is not GET/HEAD"; GraphQL emulators pass it, since
        every GraphQL call is a POST. Faults that only make sense for writes are skipped on reads.
        """
        if not self.enabled:
            return None
        if is_write is None:
            is_write = request.method not in ("GET", "HEAD")
        roll = self._random.randrange(1000)
        threshold = 0
        for fault, chance in self.per_mille.items():
            threshold += chance
            if roll < threshold:
                if fault in self.writes_only and not is_write:
                    return None
                self.injected[fault] = self.injected.get(fault, 0) + 1
                return fault
        return None


def timeout(request: httpx.Request) -> httpx.ReadTimeout:
    """The exception a client sees when the response never arrives."""
    return httpx.ReadTimeout("emulated timeout: no response received", request=request)
