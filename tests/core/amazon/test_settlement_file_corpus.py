"""The malformed-input corpus: each file fails with an InputError at a known line and column.

Every file in ``data/settlement_files/malformed`` is a small settlement written by hand with one
fault; the table below says where the reader must report it.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from ml_connector.core.amazon.settlement_file import open_settlement_file
from ml_connector.ledger.errors import InputError, MoneyError

CORPUS = Path(__file__).parent / "data" / "settlement_files" / "malformed"


class Fault(NamedTuple):
    file: str
    line: int | None
    column: str | None
    value: object  # the value the error repeats; ... when only its presence matters
    reason: str  # a fragment of the message


FAULTS = (
    Fault("amount_with_two_points.txt", 4, "amount", "12.3.4", "not an amount"),
    Fault("posted_date_impossible.txt", 3, "posted-date", "13/45/26", "not a valid date"),
    Fault("row_with_22_columns.txt", 5, None, ..., "row has 22 columns"),
    Fault("unknown_header.txt", 1, None, ..., "not a settlement flat-file header"),
    Fault("row_of_another_settlement.txt", 6, "settlement-id", "5550002", "another settlement"),
    Fault("posted_time_hour_25.txt", 4, "posted-date-time", "2024-06-03 25:00:00 UTC", "timestamp"),
    Fault("posted_time_without_zone.txt", 3, "posted-date-time", "2024-06-03 10:00:00", "zone"),
    Fault("quantity_not_whole.txt", 5, "quantity-purchased", "1.5", "quantity"),
    Fault("comma_in_a_point_file.txt", 3, "amount", "20,00", "decimal point"),
    Fault("three_decimals_in_usd.txt", 4, "amount", "-3.005", "decimals"),
    Fault("point_in_a_comma_file.txt", 4, "amount", "-3.50", "decimal comma"),
    Fault("second_summary_row.txt", 5, "transaction-type", "", "second summary row"),
    Fault("empty_amount_type.txt", 4, "amount-type", "", "always names its amount"),
    Fault("empty_amount.txt", 5, "amount", "", "empty amount"),
    Fault(
        "summary_start_date_feb_30.txt",
        2,
        "settlement-start-date",
        "2024-02-30T00:00:00+00:00",
        "not a valid timestamp",
    ),
    Fault("summary_unknown_currency.txt", 2, "currency", "XYZ", "minor unit"),
    Fault("row_in_another_currency.txt", 4, "currency", "CAD", "differs"),
    # GBP marketplaces write day-first dates, so 06/25/2024 is month 25, not a second guess.
    Fault("gbp_date_month_first.txt", 4, "posted-date", "06/25/2024", "day-first"),
    Fault("not_utf8.txt", 4, None, ..., "not valid UTF-8"),
    Fault("header_only.txt", None, None, None, "no rows"),
    Fault("empty.txt", None, None, None, "no column header"),
    Fault("gzip_bad_amount.txt.gz", 5, "amount", "abc", "not an amount"),
    Fault("no_summary_no_currency.txt", 2, "currency", "", "currency is unknown"),
    Fault("settlement_id_not_numeric.txt", 2, "settlement-id", "SETT-1", "digits"),
    Fault("v1_price_without_type.txt", 4, "price-type", "", "its type is empty"),
    Fault("v1_fee_amount_two_minus.txt", 3, "item-related-fee-amount", "--3.00", "not an amount"),
)


def test_the_table_covers_the_whole_corpus() -> None:
    assert sorted(path.name for path in CORPUS.iterdir()) == sorted(f.file for f in FAULTS)


@pytest.mark.parametrize("fault", FAULTS, ids=[f.file for f in FAULTS])
def test_a_malformed_file_fails_at_its_fault(fault: Fault) -> None:
    with (
        pytest.raises(InputError) as raised,
        open_settlement_file(CORPUS / fault.file, source=fault.file) as report,
    ):
        list(report)
    error = raised.value
    assert error.source == fault.file
    assert error.line == fault.line
    assert error.column == fault.column
    if fault.value is not ...:
        assert error.value == fault.value
    assert fault.reason in str(error)
    assert fault.file in str(error)  # the message itself names the file


def test_money_faults_keep_their_kind() -> None:
    with (
        pytest.raises(MoneyError),
        open_settlement_file(CORPUS / "three_decimals_in_usd.txt") as report,
    ):
        list(report)


def test_rows_before_the_fault_are_delivered_first() -> None:
    # Streaming: the good rows before a bad one are yielded before the error is raised.
    got = []
    with (
        pytest.raises(InputError),
        open_settlement_file(CORPUS / "row_of_another_settlement.txt") as report,
    ):
        for line in report:
            got.append(line.line_no)
    assert got == [3, 4, 5]
