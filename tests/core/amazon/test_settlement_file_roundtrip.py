"""Round trips: settlements written as V2 and V1 flat files read back field by field equal.

Generated in USD (decimal point, month-first dates), EUR with decimal commas (Amazon.de), EUR
with a decimal point (Amazon.ie), GBP (day-first slashed dates) and JPY (no decimals).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ml_connector.core.amazon.settlement_file import (
    open_settlement_file,
    write_settlement_v1,
    write_settlement_v2,
)
from ml_connector.core.amazon.settlement_file.layouts import V1_AMOUNT_COLUMNS
from ml_connector.ledger.money import from_minor
from ml_connector.ledger.settlement import SettlementHeader, SettlementLine

# (currency, marketplace-name, decimal comma in V2)
MARKETS = (
    ("USD", "Amazon.com", False),
    ("EUR", "Amazon.de", True),
    ("EUR", "Amazon.ie", False),
    ("GBP", "Amazon.co.uk", False),
    ("JPY", "Amazon.co.jp", False),
)
SOURCE = "generated.txt"

# Cell text: letters, digits, punctuation Amazon ids use, spaces inside, some non-ASCII.
_ALPHABET = st.sampled_from("abcXYZ0189-_. /#éüß日本")
text = st.text(_ALPHABET, max_size=12).map(str.strip)
required_text = text.filter(bool)
moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 2),
    max_value=dt.datetime(2099, 12, 30),
    timezones=st.just(dt.UTC),
).map(lambda moment: moment.replace(microsecond=0))
offsets = st.sampled_from(
    [dt.UTC, dt.timezone(dt.timedelta(hours=-7)), dt.timezone(dt.timedelta(hours=9))]
)
dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31))
settlement_ids = st.integers(min_value=1, max_value=10**20 - 1).map(str)


@st.composite
def header_of(
    draw: st.DrawFn, settlement_id: str, currency: str, total: Decimal
) -> SettlementHeader:
    start = draw(moments).astimezone(draw(offsets))
    return SettlementHeader(
        settlement_id=settlement_id,
        start=start,
        end=start + dt.timedelta(days=14),
        deposit_date=start + dt.timedelta(days=16, microseconds=draw(st.integers(0, 999_999))),
        total_amount=total,
        currency=currency,
        source=SOURCE,
    )


@st.composite
def line_of(
    draw: st.DrawFn, settlement_id: str, currency: str, site: str, *, v1: bool
) -> SettlementLine:
    transaction_type = draw(required_text)
    if v1:
        spec = draw(st.sampled_from(V1_AMOUNT_COLUMNS))
        amount_type = spec.amount_type
        # V1's untyped columns take their description from the transaction-type.
        description = transaction_type if spec.description_column is None else draw(required_text)
    else:
        amount_type, description = draw(required_text), draw(required_text)
    posted_at = draw(st.none() | moments)
    if v1 and posted_at is not None:
        posted_date: dt.date | None = posted_at.date()  # V1 has one posted-date column
    else:
        posted_date = draw(st.none() | dates)
    return SettlementLine(
        settlement_id=settlement_id,
        line_no=0,
        transaction_type=transaction_type,
        amount_type=amount_type,
        amount_description=description,
        amount=from_minor(draw(st.integers(-(10**9), 10**9)), currency),
        currency=currency,
        marketplace=draw(st.sampled_from([site, ""])),
        order_id=draw(text),
        merchant_order_id=draw(text),
        adjustment_id=draw(text),
        shipment_id=draw(text),
        fulfillment_id=draw(st.sampled_from(["AFN", "MFN", ""])),
        posted_date=posted_date,
        posted_at=posted_at,
        order_item_code=draw(text),
        merchant_order_item_id=draw(text),
        merchant_adjustment_item_id=draw(text),
        sku=draw(text),
        quantity=draw(st.none() | st.integers(-5, 5000)),
        promotion_id=draw(text) if amount_type == "Promotion" else "",
        source=SOURCE,
    )


@st.composite
def settlements(
    draw: st.DrawFn, *, v1: bool
) -> tuple[SettlementHeader | None, list[SettlementLine], bool]:
    currency, site, decimal_comma = draw(st.sampled_from(MARKETS))
    settlement_id = draw(settlement_ids)
    lines = draw(st.lists(line_of(settlement_id, currency, site, v1=v1), min_size=1, max_size=15))
    total = sum((line.amount for line in lines), from_minor(0, currency))
    header = draw(st.none() | header_of(settlement_id, currency, total))
    return header, lines, decimal_comma


def _read(document: str) -> tuple[SettlementHeader | None, list[SettlementLine], str, str]:
    with open_settlement_file(io.BytesIO(document.encode("utf-8")), source=SOURCE) as report:
        return report.header, list(report), report.settlement_id, report.currency


def _assert_same_line(got: SettlementLine, want: SettlementLine) -> None:
    assert got == want
    assert str(got.amount) == str(want.amount)  # quantized to the currency, not just equal


@given(settlements(v1=False))
def test_v2_written_then_read_gives_the_same_records(
    generated: tuple[SettlementHeader | None, list[SettlementLine], bool],
) -> None:
    header, lines, decimal_comma = generated
    stream = io.StringIO()
    write_settlement_v2(header, lines, stream, decimal_comma=decimal_comma)

    got_header, got_lines, settlement_id, currency = _read(stream.getvalue())

    assert got_header == header
    assert (settlement_id, currency) == (lines[0].settlement_id, lines[0].currency)
    first_line = 3 if header is not None else 2  # after the column header (and the summary)
    assert len(got_lines) == len(lines)
    for position, (got, want) in enumerate(zip(got_lines, lines, strict=True)):
        # V2's 23 columns carry no promotion id.
        expected = dataclasses.replace(want, line_no=first_line + position, promotion_id="")
        _assert_same_line(got, expected)


@given(settlements(v1=True))
def test_v1_written_then_read_gives_the_same_records(
    generated: tuple[SettlementHeader | None, list[SettlementLine], bool],
) -> None:
    header, lines, _ = generated
    stream = io.StringIO()
    write_settlement_v1(header, lines, stream)

    got_header, got_lines, _, _ = _read(stream.getvalue())

    assert got_header == header
    assert len(got_lines) == len(lines)
    for got, want in zip(got_lines, lines, strict=True):
        _assert_same_line(got, dataclasses.replace(want, line_no=got.line_no))
    # Lines come from rows in file order; several lines may share a row (and its line number).
    numbers = [line.line_no for line in got_lines]
    assert numbers == sorted(numbers)
    assert numbers[0] == (3 if header is not None else 2)
    physical_rows = stream.getvalue().count("\n") - (2 if header is not None else 1)
    assert len(set(numbers)) == physical_rows


@given(settlements(v1=True))
def test_a_v1_file_and_its_v2_twin_give_the_same_lines(
    generated: tuple[SettlementHeader | None, list[SettlementLine], bool],
) -> None:
    header, lines, decimal_comma = generated
    v1, v2 = io.StringIO(), io.StringIO()
    write_settlement_v1(header, lines, v1)
    write_settlement_v2(header, lines, v2, decimal_comma=decimal_comma)

    _, from_v1, _, _ = _read(v1.getvalue())
    _, from_v2, _, _ = _read(v2.getvalue())

    def comparable(line: SettlementLine) -> SettlementLine:
        return dataclasses.replace(line, line_no=0, promotion_id="")

    assert [comparable(line) for line in from_v1] == [comparable(line) for line in from_v2]
