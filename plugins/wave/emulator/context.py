"""What every resolver gets as ``info.context``: the state, the time, and the caller."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ml_connector.core.emulation.clock import Clock, utcnow
from ml_connector.plugins.wave.emulator.state import WaveState


@dataclass
class RequestContext:
    """One request's view of the emulator; ``external_id_dedup`` is the emulator's switch."""

    state: WaveState
    clock: Clock
    external_id_dedup: bool = False

    def now(self) -> dt.datetime:
        return utcnow(self.clock)

    def today(self) -> dt.date:
        return self.now().date()
