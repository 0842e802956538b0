"""Fixtures for the SP-API emulator tests: a fake clock, an emulator and a checked session."""

from __future__ import annotations

import pytest
from emulator_session import START, Session

from ml_connector.core.amazon.emulator import AmazonEmulator
from ml_connector.core.emulation import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def emulator(clock: FakeClock) -> AmazonEmulator:
    return AmazonEmulator(seed=7, orders=150, clock=clock, rate_multiplier=10_000)


@pytest.fixture
def session(emulator: AmazonEmulator, clock: FakeClock) -> Session:
    return Session(emulator, clock, tick=0.01)
