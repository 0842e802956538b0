"""Reader behaviour: per-file number and date style, tolerated noise, inputs, streaming, writers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import io
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO, TextIO

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_connector.core.amazon.settlement_file import (
    open_settlement_file,
    write_settlement_v1,
    write_settlement_v2,
)
from ml_connector.core.amazon.settlement_file.formats import (
    AmountParser,
    day_first_for,
    parse_date,
    parse_timestamp,
    sniff_decimal_comma,
)
from ml_connector.core.amazon.settlement_file.layouts import V2_COLUMNS
from ml_connector.ledger.errors import ConnectorError, InputError
from ml_connector.ledger.marketplaces import MARKETPLACES
from ml_connector.ledger.money import from_minor
from ml_connector.ledger.settlement import SettlementHeader, SettlementLine

SAMPLE = Path(__file__).parent / "data" / "settlement_files" / "sample_v2_us.txt"
HEADER_LINE = "\t".join(V2_COLUMNS)


def _lines(source: str | TextIO | BinaryIO) -> list[SettlementLine]:
    with open_settlement_file(source, source="x") as report:
        return list(report)


def _row(amount: str, *, marketplace: str = "", posted: str = "", currency: str = "") -> str:
    cells = dict.fromkeys(V2_COLUMNS, "")
    cells.update(
        {
            "settlement-id": "77",
            "currency": currency,
            "transaction-type": "Order",
            "marketplace-name": marketplace,
            "amount-type": "ItemPrice",
            "amount-description": "Principal",
            "amount": amount,
            "posted-date": posted,
        }
    )
    return "\t".join(cells.values())


def _summary(total: str, currency: str) -> str:
    start = "2024-01-01T00:00:00+00:00"
    return "\t".join(["77", start, start, start, total, currency] + [""] * 17)


def _file(*rows: str) -> io.StringIO:
    return io.StringIO("\n".join([HEADER_LINE, *rows]) + "\n")


# --- the per-file number style -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "comma"),
    [
        ("95,00", "EUR", True),
        ("95.00", "EUR", False),
        ("1.234,56", "EUR", True),
        ("1,234.56", "USD", False),
        ("1.234", "EUR", True),  # three digits after a lone dot in a 2-decimal currency: grouping
        ("1,234", "JPY", False),
        ("1.234.567", "EUR", True),
        ("-0,50", "EUR", True),
        ("1500", "JPY", None),
        ("1,234", "KWD", None),  # three decimals: a lone separator before three digits is either
        ("0", "EUR", None),
    ],
)
def test_sniffing_the_decimal_mark(text: str, currency: str, comma: bool | None) -> None:
    assert sniff_decimal_comma(text, currency) is comma


@given(
    minor=st.integers(-(10**12), 10**12),
    currency=st.sampled_from(["USD", "EUR", "JPY"]),
    comma=st.booleans(),
    grouped=st.booleans(),
)
def test_amounts_read_back_exactly_in_either_style(
    minor: int, currency: str, comma: bool, grouped: bool
) -> None:
    amount = from_minor(minor, currency)
    text = f"{amount:,}" if grouped else str(amount)
    if comma:
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    parsed = AmountParser(currency, comma)(text)
    assert parsed == amount
    assert str(parsed) == str(amount)


def test_an_undecided_file_is_decided_by_its_first_separator_and_then_holds() -> None:
    # EUR alone does not decide (Ireland writes points), nor does a row without marketplace.
    document = _file(*(_row(amount, currency="EUR") for amount in ("5", "12,50", "3.50")))
    with open_settlement_file(document) as report:
        assert report.header is None
        assert report.format.decimal_comma is None
        lines = iter(report)
        assert next(lines).amount == Decimal("5.00")
        assert next(lines).amount == Decimal("12.50")
        assert report.format.decimal_comma is True
        with pytest.raises(InputError) as raised:
            next(lines)
    assert (raised.value.line, raised.value.column) == (4, "amount")


def test_without_a_summary_the_marketplace_tells_the_currency() -> None:
    with open_settlement_file(_file(_row("1.299,00", marketplace="Amazon.de"))) as report:
        assert (report.header, report.currency, report.settlement_id) == (None, "EUR", "77")
        assert [line.amount for line in report] == [Decimal("1299.00")]


# --- dates -----------------------------------------------------------------------------------


def test_every_currency_s_marketplaces_agree_on_day_first_dates() -> None:
    # The day-first rule reads the style off the currency; that is only sound while they agree.
    for currency in {m.currency for m in MARKETPLACES}:
        styles = {m.day_first for m in MARKETPLACES if m.currency == currency}
        assert len(styles) == 1, currency
        assert day_first_for(currency) == styles.pop()


@pytest.mark.parametrize(
    ("text", "day_first", "expected"),
    [
        ("05/02/24", False, dt.date(2024, 5, 2)),
        ("05/02/24", True, dt.date(2024, 2, 5)),
        ("02.05.2024", False, dt.date(2024, 5, 2)),  # dots are day-first everywhere
        ("25/12/2023", True, dt.date(2023, 12, 25)),
        ("2024/05/02", True, dt.date(2024, 5, 2)),
        ("2024-05-02", False, dt.date(2024, 5, 2)),
        ("5/2/24", False, dt.date(2024, 5, 2)),
    ],
)
def test_dates(text: str, day_first: bool, expected: dt.date) -> None:
    assert parse_date(text, day_first) == expected


@pytest.mark.parametrize("text", ["13/45/26", "02/30/24", "2024-13-01", "1/2", "aa/bb/cc", ""])
def test_impossible_dates(text: str) -> None:
    with pytest.raises(InputError):
        parse_date(text, False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "2003-10-03T16:00:00-07:00",
            dt.datetime(2003, 10, 3, 16, tzinfo=dt.timezone(dt.timedelta(hours=-7))),
        ),
        ("2021-01-31 13:45:00 UTC", dt.datetime(2021, 1, 31, 13, 45, tzinfo=dt.UTC)),
        ("31.01.2021 13:45:00 UTC", dt.datetime(2021, 1, 31, 13, 45, tzinfo=dt.UTC)),
        ("2021-01-31", dt.datetime(2021, 1, 31, tzinfo=dt.UTC)),
        ("2021-01-31T13:45:00Z", dt.datetime(2021, 1, 31, 13, 45, tzinfo=dt.UTC)),
    ],
)
def test_timestamps(text: str, expected: dt.datetime) -> None:
    moment = parse_timestamp(text, True)
    assert moment == expected
    assert moment.utcoffset() == expected.utcoffset()


# --- tolerated noise and kinds of input ------------------------------------------------------


def _sample_lines() -> list[SettlementLine]:
    with open_settlement_file(SAMPLE, source="x") as report:
        return list(report)


def test_crlf_bom_and_trailing_spaces_change_nothing() -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    noisy = "\ufeff" + "".join(
        line.replace("\tAmazon.com\t", "\tAmazon.com  \t") + " \r\n" for line in text.splitlines()
    )
    assert _lines(io.BytesIO(noisy.encode("utf-8"))) == _sample_lines()


def test_blank_lines_are_skipped_and_counted() -> None:
    rows = SAMPLE.read_text(encoding="utf-8").splitlines()
    spaced = "\n".join([rows[0], "", *rows[1:3], "   ", *rows[3:]]) + "\n\n"
    got = _lines(io.StringIO(spaced))
    want = _sample_lines()
    assert [line.line_no for line in got[:1]] == [4]  # header, blank, summary, then the line
    assert [line.line_no for line in got[1:]] == [w.line_no + 2 for w in want[1:]]
    assert [dataclasses.replace(g, line_no=0) for g in got] == [
        dataclasses.replace(w, line_no=0) for w in want
    ]


class _OneWayStream(io.RawIOBase):
    """A byte stream that can only be read forward, like an HTTP download."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        return self._data.readinto(buffer)


def test_gzip_is_recognised_by_its_magic_bytes_even_in_a_one_way_stream() -> None:
    packed = gzip.compress(SAMPLE.read_bytes())
    assert _lines(io.BufferedReader(_OneWayStream(packed))) == _sample_lines()
    assert _lines(io.BytesIO(packed)) == _sample_lines()


def test_a_path_a_text_stream_and_a_byte_stream_read_alike(tmp_path: Path) -> None:
    assert _lines(io.StringIO(SAMPLE.read_text(encoding="utf-8"))) == _sample_lines()
    assert _lines(io.BytesIO(SAMPLE.read_bytes())) == _sample_lines()
    packed = tmp_path / "report.gz"
    packed.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    assert _lines(str(packed)) == _sample_lines()


def test_the_caller_s_stream_is_left_open() -> None:
    stream = io.BytesIO(SAMPLE.read_bytes())
    with open_settlement_file(stream) as report:
        list(report)
    assert not stream.closed


def test_lines_are_read_on_demand() -> None:
    rows = SAMPLE.read_text(encoding="utf-8").splitlines()
    text = "\n".join(rows[:2] + rows[2:] * 400) + "\n"
    stream = io.StringIO(text)
    with open_settlement_file(stream) as report:
        next(iter(report))
        assert stream.tell() < len(text) // 100  # the rest of the file is still unread


def test_a_settlement_file_is_read_once() -> None:
    with open_settlement_file(SAMPLE) as report:
        list(report)
        with pytest.raises(ConnectorError):
            iter(report)


def test_header_names_are_read_without_case_or_spaces() -> None:
    header = "\t".join(f" {name.upper()} " for name in V2_COLUMNS)
    document = "\n".join([header, _summary("95.00", "USD"), _row("95.00")]) + "\n"
    assert [line.amount for line in _lines(io.StringIO(document))] == [Decimal("95.00")]


# --- writers ---------------------------------------------------------------------------------

UTC_START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
HEADER = SettlementHeader("77", UTC_START, UTC_START, UTC_START, Decimal("1.00"), "USD")


def _line(**changes: object) -> SettlementLine:
    line = SettlementLine("77", 3, "Order", "ItemPrice", "Principal", Decimal("1.00"), "USD")
    return dataclasses.replace(line, **changes)


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (_line(sku="A\tB"), None),
        (_line(settlement_id="78"), "settlement_id"),
        (_line(posted_at=dt.datetime(2024, 1, 1, 12)), "posted_at"),
    ],
)
def test_writers_refuse_what_would_not_read_back(line: SettlementLine, field: str | None) -> None:
    for write in (write_settlement_v2, write_settlement_v1):
        with pytest.raises(InputError) as raised:
            write(HEADER, [line], io.StringIO())
        assert raised.value.field == field


def test_a_naive_settlement_date_is_refused() -> None:
    naive = dataclasses.replace(HEADER, start=dt.datetime(2024, 1, 1))
    with pytest.raises(InputError) as raised:
        write_settlement_v2(naive, [], io.StringIO())
    assert raised.value.field == "start"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (_line(amount_type="Cost of Advertising"), "amount_type"),
        (_line(amount_type="other-amount", amount_description="Storage Fee"), "amount_description"),
    ],
)
def test_v1_refuses_lines_it_has_no_column_for(line: SettlementLine, field: str) -> None:
    with pytest.raises(InputError) as raised:
        write_settlement_v1(HEADER, [line], io.StringIO())
    assert raised.value.field == field


def test_v1_groups_consecutive_lines_of_one_row_while_columns_move_right() -> None:
    lines = [
        _line(amount_type="ItemPrice", amount_description="Principal"),
        _line(amount_type="ItemFees", amount_description="Commission", amount=Decimal("-0.15")),
        _line(amount_type="ItemFees", amount_description="FBAFee", amount=Decimal("-0.30")),
        _line(amount_type="ItemPrice", amount_description="Shipping", sku="OTHER"),
    ]
    stream = io.StringIO()
    write_settlement_v1(None, lines, stream)
    rows = stream.getvalue().splitlines()
    assert len(rows) == 1 + 3  # header; price+commission; the second fee; the other sku
    got = _lines(io.StringIO(stream.getvalue()))
    assert [line.line_no for line in got] == [2, 2, 3, 4]
    assert [dataclasses.replace(g, line_no=3, source="") for g in got] == lines


def test_v2_writes_one_row_per_line_after_the_summary() -> None:
    stream = io.StringIO()
    lines = [_line(), _line(amount=Decimal("-0.50"))]
    write_settlement_v2(HEADER, lines, stream, decimal_comma=True)
    rows = stream.getvalue().splitlines()
    assert rows[0] == HEADER_LINE
    assert rows[1].split("\t")[4:6] == ["1,00", "USD"]
    assert [row.split("\t")[14] for row in rows[2:]] == ["1,00", "-0,50"]


def test_the_file_s_own_evidence_outranks_the_marketplace_convention() -> None:
    # A German settlement written with decimal points (as the V1 writer does) reads as written.
    document = _file(_row("0", marketplace="Amazon.de"), _row("12.50", marketplace="Amazon.de"))
    assert [line.amount for line in _lines(document)] == [Decimal("0.00"), Decimal("12.50")]


def test_the_convention_breaks_the_tie_only_for_an_ambiguous_amount() -> None:
    assert AmountParser("KWD", None, convention=False)("1,234") == Decimal("1234.000")
    assert AmountParser("KWD", None, convention=True)("1,234") == Decimal("1.234")
    with pytest.raises(InputError):
        AmountParser("KWD", None, convention=None)("1,234")
