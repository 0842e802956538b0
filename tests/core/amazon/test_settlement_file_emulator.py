"""The SP-API emulator's settlements, written as its report documents are, read back unchanged.

A cross-check on realistic volume: several marketplaces (USD, CAD, GBP, EUR with decimal
commas, JPY), orders, refunds, fees and reserve lines, generated independently of this parser.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

from ml_connector.core.amazon.emulator import AmazonEmulator
from ml_connector.core.amazon.settlement_file import open_settlement_file, write_settlement_v2
from ml_connector.core.emulation import FakeClock


def test_every_emulated_settlement_reads_back_as_generated() -> None:
    clock = FakeClock(dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC))
    emulator = AmazonEmulator(seed=7, orders=150, clock=clock, rate_multiplier=10_000)
    currencies = set()
    for header, lines in emulator.seller.settlements:
        group = next(g for g in emulator.seller.groups if g.settlement_id == header.settlement_id)
        document = io.StringIO()
        write_settlement_v2(header, lines, document, decimal_comma=group.marketplace.decimal_comma)
        raw = io.BytesIO(document.getvalue().encode("utf-8"))

        with open_settlement_file(raw, source=header.source) as report:
            assert report.header == header
            got = list(report)

        # The V2 columns carry no promotion id; everything else, line numbers included, survives.
        assert got == [dataclasses.replace(line, promotion_id="") for line in lines]
        currencies.add(header.currency)
    assert {"USD", "EUR", "JPY", "GBP"} <= currencies
