"""Amazon settlement flat files (V2 and the older V1), read as a stream and written back.

Reading::

    with open_settlement_file("settlement.txt.gz") as report:
        report.header          # SettlementHeader from the summary row, or None if it is missing
        for line in report:    # SettlementLine per amount, one pass, constant memory
            ...

The layout is told apart by the column header line: ``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2``
(23 columns, one amount per row, optionally a 24th ``promotion-id``) or the V1 flat file (36
columns; each non-empty amount column of a row becomes one line, see :mod:`.layouts` for the
mapping). Input may be a path or a stream, bytes or text, plain or gzip (sniffed by its magic
number), UTF-8 with or without a BOM; CRLF line ends, blank lines and spaces around cells are
tolerated. Quotes have no special meaning: Amazon's flat files are unquoted.

Per-file style (full rules in :mod:`.formats`): the decimal mark is read off the summary row's
total, else off the first amount showing a separator (the marketplace's convention breaking the
tie only for an ambiguous one), and then holds for every cell; slashed dates are day-first
when the currency's marketplaces write day-first dates (GBP, EUR, ...), month-first
(``MM/DD/YY``) otherwise; dotted dates are always day-first, ISO dates year-first.

Errors: a malformed row raises :class:`~ml_connector.ledger.errors.InputError` with the file
(``source``), the physical line number, the column name and the value: an amount like
``12.3.4``, a date like ``13/45/26``, a row with the wrong number of columns, an unknown header,
a row of another settlement. A missing summary row is not an error (``header`` is None).
"""

from ml_connector.core.amazon.settlement_file.formats import FileFormat
from ml_connector.core.amazon.settlement_file.layouts import (
    V1_AMOUNT_COLUMNS,
    V1_COLUMNS,
    V2_COLUMNS,
    Layout,
)
from ml_connector.core.amazon.settlement_file.reader import SettlementFile, open_settlement_file
from ml_connector.core.amazon.settlement_file.writer import write_settlement_v1, write_settlement_v2

__all__ = [
    "V1_AMOUNT_COLUMNS",
    "V1_COLUMNS",
    "V2_COLUMNS",
    "FileFormat",
    "Layout",
    "SettlementFile",
    "open_settlement_file",
    "write_settlement_v1",
    "write_settlement_v2",
]
