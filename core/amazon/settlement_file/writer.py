"""Writing settlements back out as V2 or V1 flat files, in the style the reader expects.

The writers are the reader's inverse: what they write reads back into equal records (the
round-trip tests hold them to it), with these documented limits of the formats themselves:

* V2 has Amazon's 23 columns, which carry no promotion id, so ``promotion_id`` is not written;
  ``posted-date-time`` carries whole seconds in UTC.
* V1 has one ``posted-date`` column: it gets ``posted_at`` (ISO 8601 with offset) when a line has
  one, else ``posted_date``; so a line comes back with ``posted_at``'s own date as its posted date.
  Only the amount-types of :data:`~.layouts.V1_AMOUNT_COLUMNS` have a V1 column, and the untyped
  ``misc-fee-amount`` and ``other-amount`` columns can only carry a description equal to the
  transaction-type; any other line is refused with an :class:`InputError` rather than written
  with something lost.

Rows are written as they come; nothing is accumulated beyond the V1 row being assembled.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from ml_connector.core.amazon.settlement_file.formats import (
    amount_cell,
    day_first_for,
    posted_date_cell,
    require_aware,
    utc_timestamp_cell,
)
from ml_connector.core.amazon.settlement_file.layouts import (
    SUMMARY_COLUMNS,
    V1_COLUMN_FOR_AMOUNT_TYPE,
    V1_COLUMNS,
    V2_COLUMNS,
    V1AmountColumn,
)
from ml_connector.ledger.errors import InputError
from ml_connector.ledger.money import format_amount
from ml_connector.ledger.settlement import SettlementHeader, SettlementLine


class _Settlement:
    """The settlement id and currency every written line must share."""

    def __init__(self, header: SettlementHeader | None) -> None:
        self.settlement_id = header.settlement_id if header is not None else None
        self.currency = header.currency if header is not None else None

    def admit(self, line: SettlementLine) -> None:
        if self.settlement_id is None:
            self.settlement_id, self.currency = line.settlement_id, line.currency
        for field, want, got in (
            ("settlement_id", self.settlement_id, line.settlement_id),
            ("currency", self.currency, line.currency),
        ):
            if got != want:
                raise InputError(
                    f"line does not belong to settlement {self.settlement_id} in {self.currency}",
                    source=line.source or None,
                    line=line.line_no,
                    field=field,
                    value=got,
                )


def _summary_cells(header: SettlementHeader, total: str) -> list[str]:
    return [
        header.settlement_id,
        require_aware(header.start, "start").isoformat(),
        require_aware(header.end, "end").isoformat(),
        require_aware(header.deposit_date, "deposit_date").isoformat(),
        total,
        header.currency,
    ]


def _write_row(stream: TextIO, cells: list[str], line: SettlementLine | None) -> None:
    row = "\t".join(cells)
    if row.count("\t") != len(cells) - 1 or "\n" in row or "\r" in row:
        bad = next(c for c in cells if "\t" in c or "\n" in c or "\r" in c)
        raise InputError(
            "a tab or line break inside a value cannot be written to a flat file",
            source=(line.source or None) if line is not None else None,
            line=line.line_no if line is not None else None,
            value=bad,
        )
    stream.write(row)
    stream.write("\n")


def write_settlement_v2(
    header: SettlementHeader | None,
    lines: Iterable[SettlementLine],
    stream: TextIO,
    *,
    decimal_comma: bool = False,
) -> None:
    """Write a V2 settlement flat file: column header, summary row (if ``header``), one row per line.

    ``decimal_comma`` writes amounts as ``95,00`` and posted dates as ``DD.MM.YYYY``, as the
    EU marketplaces do; otherwise posted dates are ``DD/MM/YYYY`` where the currency's
    marketplaces write day-first, else Amazon's ``MM/DD/YY``.
    """
    settlement = _Settlement(header)
    _write_row(stream, list(V2_COLUMNS), None)
    blank_transaction = [""] * (len(V2_COLUMNS) - len(SUMMARY_COLUMNS))
    if header is not None:
        total = amount_cell(header.total_amount, header.currency, decimal_comma)
        _write_row(stream, _summary_cells(header, total) + blank_transaction, None)
    day_first: bool | None = None
    for line in lines:
        settlement.admit(line)
        if day_first is None:
            day_first = day_first_for(line.currency)
        posted_date = (
            posted_date_cell(line.posted_date, decimal_comma=decimal_comma, day_first=day_first)
            if line.posted_date is not None
            else ""
        )
        cells = [
            line.settlement_id,
            "",
            "",
            "",
            "",
            line.currency,
            line.transaction_type,
            line.order_id,
            line.merchant_order_id,
            line.adjustment_id,
            line.shipment_id,
            line.marketplace,
            line.amount_type,
            line.amount_description,
            amount_cell(line.amount, line.currency, decimal_comma),
            line.fulfillment_id,
            posted_date,
            utc_timestamp_cell(line.posted_at, "posted_at") if line.posted_at is not None else "",
            line.order_item_code,
            line.merchant_order_item_id,
            line.merchant_adjustment_item_id,
            line.sku,
            str(line.quantity) if line.quantity is not None else "",
        ]
        _write_row(stream, cells, line)


_V1_INDEX = {name: position for position, name in enumerate(V1_COLUMNS)}
_V1_POSITION = {
    spec.amount_type: position for position, spec in enumerate(V1_COLUMN_FOR_AMOUNT_TYPE.values())
}


def _v1_row_key(line: SettlementLine) -> tuple[object, ...]:
    """What a V1 row says once for all its amounts; lines sharing it may share a row."""
    return (
        line.transaction_type,
        line.order_id,
        line.merchant_order_id,
        line.adjustment_id,
        line.shipment_id,
        line.marketplace,
        line.fulfillment_id,
        line.posted_date,
        line.posted_at,
        line.order_item_code,
        line.merchant_order_item_id,
        line.merchant_adjustment_item_id,
        line.sku,
        line.quantity,
    )


def _v1_column(line: SettlementLine) -> V1AmountColumn:
    spec = V1_COLUMN_FOR_AMOUNT_TYPE.get(line.amount_type)
    if spec is None:
        raise InputError(
            "this amount-type has no V1 column (V1 knows "
            + ", ".join(V1_COLUMN_FOR_AMOUNT_TYPE)
            + ")",
            source=line.source or None,
            line=line.line_no,
            field="amount_type",
            value=line.amount_type,
        )
    if spec.description_column is None and line.amount_description != line.transaction_type:
        raise InputError(
            f"V1's {spec.amount_column} column has no description of its own: the "
            "amount-description must equal the transaction-type",
            source=line.source or None,
            line=line.line_no,
            field="amount_description",
            value=line.amount_description,
        )
    return spec


class _V1Row:
    """A V1 row being assembled from consecutive lines with the same row key."""

    def __init__(self, line: SettlementLine) -> None:
        self.key = _v1_row_key(line)
        self.first = line
        self.last_position = -1
        cells = [""] * len(V1_COLUMNS)
        cells[0] = line.settlement_id
        cells[5] = line.currency
        for name, value in (
            ("transaction-type", line.transaction_type),
            ("order-id", line.order_id),
            ("merchant-order-id", line.merchant_order_id),
            ("adjustment-id", line.adjustment_id),
            ("shipment-id", line.shipment_id),
            ("marketplace-name", line.marketplace),
            ("fulfillment-id", line.fulfillment_id),
            ("order-item-code", line.order_item_code),
            ("merchant-order-item-id", line.merchant_order_item_id),
            ("merchant-adjustment-item-id", line.merchant_adjustment_item_id),
            ("sku", line.sku),
        ):
            cells[_V1_INDEX[name]] = value
        if line.posted_at is not None:
            cells[_V1_INDEX["posted-date"]] = require_aware(line.posted_at, "posted_at").isoformat()
        elif line.posted_date is not None:
            cells[_V1_INDEX["posted-date"]] = line.posted_date.isoformat()
        if line.quantity is not None:
            cells[_V1_INDEX["quantity-purchased"]] = str(line.quantity)
        self.cells = cells

    def takes(self, line: SettlementLine, spec: V1AmountColumn) -> bool:
        # Only later columns join a row, so reading the row back gives the lines in this order.
        return _V1_POSITION[spec.amount_type] > self.last_position and _v1_row_key(line) == self.key

    def add(self, line: SettlementLine, spec: V1AmountColumn) -> None:
        self.last_position = _V1_POSITION[spec.amount_type]
        self.cells[_V1_INDEX[spec.amount_column]] = format_amount(line.amount, line.currency)
        if spec.description_column is not None:
            self.cells[_V1_INDEX[spec.description_column]] = line.amount_description
        if spec.amount_type == "Promotion":
            self.cells[_V1_INDEX["promotion-id"]] = line.promotion_id


def write_settlement_v1(
    header: SettlementHeader | None,
    lines: Iterable[SettlementLine],
    stream: TextIO,
) -> None:
    """Write a V1 (36-column) settlement flat file, grouping consecutive lines back into rows.

    Consecutive lines that agree on everything but their amount share a row while each takes a
    later amount column than the one before. Amounts use a decimal point and dates ISO 8601, the
    unambiguous forms. Lines V1 cannot represent are refused (see the module docstring).
    """
    settlement = _Settlement(header)
    _write_row(stream, list(V1_COLUMNS), None)
    if header is not None:
        total = format_amount(header.total_amount, header.currency)
        blank = [""] * (len(V1_COLUMNS) - len(SUMMARY_COLUMNS))
        _write_row(stream, _summary_cells(header, total) + blank, None)
    row: _V1Row | None = None
    for line in lines:
        settlement.admit(line)
        spec = _v1_column(line)
        if row is None or not row.takes(line, spec):
            if row is not None:
                _write_row(stream, row.cells, row.first)
            row = _V1Row(line)
        row.add(line, spec)
    if row is not None:
        _write_row(stream, row.cells, row.first)
