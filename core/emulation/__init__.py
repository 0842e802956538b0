"""Shared plumbing of the emulators: a clock that tests can drive, and loopback serving.

An emulator is a stateful object with a ``handle(request: httpx.Request) -> httpx.Response``
method. In-process it is used through ``httpx.MockTransport(emulator.handle)``; on a port it is
served by :func:`~ml_connector.core.emulation.server.serve`. One handler, two ways to reach it.
"""

from ml_connector.core.emulation.chaos import Chaos, Fault
from ml_connector.core.emulation.clock import Clock, FakeClock, SystemClock
from ml_connector.core.emulation.server import LoopbackServer, serve

__all__ = ["Chaos", "Fault", "Clock", "FakeClock", "LoopbackServer", "SystemClock", "serve"]
