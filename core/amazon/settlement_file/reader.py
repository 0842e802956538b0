"""The streaming settlement reader: one pass over the rows, constant memory.

Opening a file reads its column header and its first data row eagerly (the summary row, when
present, is that row), so the settlement id, the currency and the file's number and date style
are known before iteration; every other row is parsed as it is reached and dropped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from types import TracebackType
from typing import BinaryIO, TextIO, TypeVar

from ml_connector.core.amazon.settlement_file.formats import (
    SMALL_QUANTITIES,
    AmountParser,
    FileFormat,
    day_first_for,
    decimal_comma_for,
    decimal_comma_of_site,
    parse_date,
    parse_posted,
    parse_quantity,
    parse_timestamp,
)
from ml_connector.core.amazon.settlement_file.layouts import (
    V1_AMOUNT_COLUMNS,
    V1_COLUMNS,
    V2_COLUMNS,
    Layout,
    layout_of,
)
from ml_connector.core.amazon.settlement_file.streams import TextSource
from ml_connector.ledger.errors import ConnectorError, InputError, MoneyError
from ml_connector.ledger.marketplaces import by_site
from ml_connector.ledger.money import minor_units
from ml_connector.ledger.settlement import SettlementHeader, SettlementLine, line_from_values

# Positions shared by both layouts (their first twelve columns are the same).
SETTLEMENT_ID, START, END, DEPOSIT, TOTAL, CURRENCY, TRANSACTION_TYPE = range(7)
MARKETPLACE = 11
_MAX_SETTLEMENT_ID_DIGITS = 20
T = TypeVar("T")


class SettlementFile:
    """One settlement flat file (V1 or V2), read once, row by row.

    ``header`` is the summary row, or None when the file has none (the posting layer then holds
    the settlement). Iterating yields a :class:`SettlementLine` per amount, in file order, each
    with the physical line it came from; a malformed row raises :class:`InputError` naming the
    file, the line, the column and the value. Use as a context manager, or call :meth:`close`.
    """

    layout: Layout
    header: SettlementHeader | None
    settlement_id: str
    currency: str
    source: str

    def __init__(self, text: TextSource, source: str) -> None:
        self.source = source
        self._text = text
        self._lines = iter(text.text)
        self._line_no = 0  # physical lines read so far
        self._consumed = False
        header_line, header_text = self._next_row() or self._fail_empty("no column header line")
        self.layout, self._width = layout_of(_split(header_text), source=source, line=header_line)
        first = self._next_row() or self._fail_empty("a column header but no rows")
        number, cells = first[0], _split(first[1])
        self._check_width(number, cells)
        self.header = None
        self._pending: tuple[int, str] | None = first
        if _is_summary(cells):
            self._pending = None
            self._read_summary(number, cells)
        else:
            self._adopt_first_row(number, cells)
        self._amounts = AmountParser(self.currency, self._decimal_comma, self._convention)
        self._day_first = day_first_for(self.currency)

    # --- opening -----------------------------------------------------------------------------

    def _fail_empty(self, what: str) -> tuple[int, str]:
        raise InputError(f"not a settlement file: {what}", source=self.source)

    def _next_row(self) -> tuple[int, str] | None:
        for line in self._lines:
            self._line_no += 1
            if not line.isascii():
                line = self._text.clean(line, self._line_no, self.source)
            line = line.rstrip("\r\n")
            if line and not line.isspace():
                return self._line_no, line
        return None

    def _check_width(self, number: int, cells: list[str]) -> None:
        if len(cells) != self._width:
            raise InputError(
                f"row has {len(cells)} columns where the {self.layout.upper()} header has "
                f"{self._width}",
                source=self.source,
                line=number,
                value="\t".join(cells)[:200],
            )

    def _read_summary(self, number: int, cells: list[str]) -> None:
        self.settlement_id = self._settlement_id(number, cells[SETTLEMENT_ID])
        self.currency = self._currency(number, cells[CURRENCY])
        day_first = day_first_for(self.currency)
        total_text = cells[TOTAL]
        self._convention = decimal_comma_for(self.currency)
        parse_total = AmountParser(self.currency, None, self._convention)
        total = self._located(number, "total-amount", total_text, parse_total)
        self._decimal_comma = parse_total.decimal_comma
        self.header = SettlementHeader(
            settlement_id=self.settlement_id,
            start=self._located(
                number, "settlement-start-date", cells[START], parse_timestamp, day_first
            ),
            end=self._located(
                number, "settlement-end-date", cells[END], parse_timestamp, day_first
            ),
            deposit_date=self._located(
                number, "deposit-date", cells[DEPOSIT], parse_timestamp, day_first
            ),
            total_amount=total,
            currency=self.currency,
            source=self.source,
        )

    def _adopt_first_row(self, number: int, cells: list[str]) -> None:
        """Settlement id, currency and decimal mark of a file without a summary row."""
        self.settlement_id = self._settlement_id(number, cells[SETTLEMENT_ID])
        marketplace = by_site(cells[MARKETPLACE])
        if cells[CURRENCY]:
            self.currency = self._currency(number, cells[CURRENCY])
        elif marketplace is not None:
            self.currency = marketplace.currency
        else:
            raise InputError(
                "no summary row, and the first row names neither a currency nor a known "
                "marketplace, so the settlement's currency is unknown",
                source=self.source,
                line=number,
                column="currency",
                value=cells[CURRENCY],
            )
        self._decimal_comma = None  # the first amount showing a separator decides
        self._convention = decimal_comma_for(self.currency)
        if self._convention is None:
            self._convention = decimal_comma_of_site(cells[MARKETPLACE])

    def _settlement_id(self, number: int, text: str) -> str:
        if not (text.isascii() and text.isdigit() and len(text) <= _MAX_SETTLEMENT_ID_DIGITS):
            raise InputError(
                "settlement-id must be 1 to 20 digits",
                source=self.source,
                line=number,
                column="settlement-id",
                value=text,
            )
        return text

    def _currency(self, number: int, text: str) -> str:
        try:
            minor_units(text)
        except MoneyError as error:
            raise InputError(
                error.reason, source=self.source, line=number, column="currency", value=text
            ) from None
        return text

    def _located(
        self, number: int, column: str, text: str, parse: Callable[..., T], *args: object
    ) -> T:
        """``parse(text, *args)``, with any error it raises located at this line and column."""
        try:
            return parse(text, *args)
        except InputError as error:
            raise self._error(error, number, column, text) from None

    def _error(self, error: InputError, number: int, column: str, text: str) -> InputError:
        kind = MoneyError if isinstance(error, MoneyError) else InputError
        return kind(error.reason, source=self.source, line=number, column=column, value=text)

    # --- the file's style --------------------------------------------------------------------

    @property
    def format(self) -> FileFormat:
        """The number and date style the file is read with (decimal mark None while undecided)."""
        return FileFormat(self.currency, self._amounts.decimal_comma, self._day_first)

    # --- reading -----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[SettlementLine]:
        if self._consumed:
            raise ConnectorError(f"{self.source}: a settlement file is read in one pass, once")
        self._consumed = True
        return self._v2_lines() if self.layout == "v2" else self._v1_lines()

    def _numbered_lines(self) -> Iterator[tuple[int, str]]:
        """(physical line number, text) of the lines left to read, the pending first row first."""
        pending = [self._pending] if self._pending is not None else []
        self._pending = None
        return itertools.chain(pending, enumerate(self._lines, self._line_no + 1))

    def _data_rows(self) -> Iterator[tuple[int, list[str]]]:
        """The remaining data rows as (physical line number, cells), blank lines skipped."""
        width, source, clean = self._width, self.source, self._text.clean
        for number, line in self._numbered_lines():
            if not line.isascii():
                line = clean(line, number, source)
            line = line.rstrip("\r\n")
            if not line or line.isspace():
                continue
            cells = _split(line)
            if len(cells) != width:
                self._check_width(number, cells)
            yield number, cells

    def _v2_lines(self) -> Iterator[SettlementLine]:
        # The hot loop of the reader: locals instead of attributes, the last posted date and
        # time remembered (an order's rows repeat them), records built positionally.
        settlement, currency, source = self.settlement_id, self.currency, self.source
        amounts, day_first = self._amounts, self._day_first
        point_shape = amounts.point_shape or _never
        quantities = SMALL_QUANTITIES
        with_promotion = self._width > len(V2_COLUMNS)
        width, clean = self._width, self._text.clean
        date_text, date_value = "", None
        moment_text, moment_value = "", None
        # The same row loop as _data_rows, inlined: a generator hop per row is measurable here.
        for number, line in self._numbered_lines():
            if not line.isascii():
                line = clean(line, number, source)
            line = line.rstrip("\r\n")
            if not line or line.isspace():
                continue
            cells = _split(line)
            if len(cells) != width:
                self._check_width(number, cells)
            promotion_id = cells.pop() if with_promotion else ""
            (
                settlement_id,
                _start,
                _end,
                _deposit,
                _total,
                row_currency,
                transaction_type,
                order_id,
                merchant_order_id,
                adjustment_id,
                shipment_id,
                marketplace,
                amount_type,
                amount_description,
                amount_text,
                fulfillment_id,
                posted_date_text,
                posted_at_text,
                order_item_code,
                merchant_order_item_id,
                merchant_adjustment_item_id,
                sku,
                quantity_text,
            ) = cells
            if (
                settlement_id != settlement
                or (row_currency and row_currency != currency)
                or not transaction_type
                or not amount_type
                or not amount_description
            ):
                self._reject_row(number, cells)
            column, text = "amount", amount_text
            try:
                amount = Decimal(amount_text) if point_shape(amount_text) else amounts(amount_text)
                if posted_date_text != date_text:
                    column, text = "posted-date", posted_date_text
                    date_value = parse_date(text, day_first) if text else None
                    date_text = text
                if posted_at_text != moment_text:
                    column, text = "posted-date-time", posted_at_text
                    moment_value = parse_timestamp(text, day_first) if text else None
                    moment_text = text
                quantity = quantities.get(quantity_text)
                if quantity is None and quantity_text:
                    column, text = "quantity-purchased", quantity_text
                    quantity = parse_quantity(quantity_text)
            except InputError as error:
                raise self._error(error, number, column, text) from None
            yield line_from_values(
                (
                    settlement,
                    number,
                    transaction_type,
                    amount_type,
                    amount_description,
                    amount,
                    currency,
                    marketplace,
                    order_id,
                    merchant_order_id,
                    adjustment_id,
                    shipment_id,
                    fulfillment_id,
                    date_value,
                    moment_value,
                    order_item_code,
                    merchant_order_item_id,
                    merchant_adjustment_item_id,
                    sku,
                    quantity,
                    promotion_id,
                    source,
                )
            )

    def _reject_row(self, number: int, cells: list[str]) -> None:
        """Raise the error of a V2 row that failed the cheap checks of the hot loop."""
        self._check_row(
            number, cells, cells[SETTLEMENT_ID], cells[CURRENCY], cells[TRANSACTION_TYPE]
        )
        column = "amount-type" if not cells[_V2_AMOUNT_TYPE] else "amount-description"
        raise InputError(
            "empty, but a V2 row always names its amount",
            source=self.source,
            line=number,
            column=column,
            value="",
        )

    def _check_row(
        self,
        number: int,
        cells: list[str],
        settlement_id: str,
        currency: str,
        transaction_type: str,
    ) -> None:
        if settlement_id != self.settlement_id:
            raise InputError(
                f"row belongs to another settlement than the file's {self.settlement_id}",
                source=self.source,
                line=number,
                column="settlement-id",
                value=settlement_id,
            )
        if currency and currency != self.currency:
            raise InputError(
                f"row currency differs from the settlement's {self.currency}",
                source=self.source,
                line=number,
                column="currency",
                value=currency,
            )
        if not transaction_type:
            reason = (
                "a second summary row: only the first data row may be the summary"
                if _is_summary(cells)
                else "empty transaction-type"
            )
            raise InputError(
                reason, source=self.source, line=number, column="transaction-type", value=""
            )

    def _v1_lines(self) -> Iterator[SettlementLine]:
        for number, cells in self._data_rows():
            yield from self._v1_row(number, cells)

    def _v1_row(self, number: int, cells: list[str]) -> list[SettlementLine]:
        transaction_type = cells[TRANSACTION_TYPE]
        self._check_row(number, cells, cells[SETTLEMENT_ID], cells[CURRENCY], transaction_type)
        column, text = "posted-date", cells[_V1_POSTED_DATE]
        try:
            posted_date, posted_at = parse_posted(text, self._day_first) if text else (None, None)
            column, text = "quantity-purchased", cells[_V1_QUANTITY]
            quantity = parse_quantity(text) if text else None
        except InputError as error:
            raise self._error(error, number, column, text) from None
        lines: list[SettlementLine] = []
        for spec, amount_index, description_index in _V1_AMOUNTS:
            amount_text = cells[amount_index]
            if not amount_text:
                continue
            amount = self._located(number, spec.amount_column, amount_text, self._amounts)
            description = cells[description_index] if description_index is not None else ""
            if not description:
                if spec.typed:
                    raise InputError(
                        f"{spec.amount_column} is set but its type is empty",
                        source=self.source,
                        line=number,
                        column=spec.description_column,
                        value="",
                    )
                description = transaction_type
            lines.append(
                self._v1_line(
                    number,
                    cells,
                    (spec.amount_type, description, amount),
                    quantity,
                    posted_date,
                    posted_at,
                )
            )
        return lines

    def _v1_line(
        self,
        number: int,
        cells: list[str],
        what: tuple[str, str, Decimal],
        quantity: int | None,
        posted_date: dt.date | None,
        posted_at: dt.datetime | None,
    ) -> SettlementLine:
        amount_type, description, amount = what
        return SettlementLine(
            settlement_id=self.settlement_id,
            line_no=number,
            transaction_type=cells[TRANSACTION_TYPE],
            amount_type=amount_type,
            amount_description=description,
            amount=amount,
            currency=self.currency,
            marketplace=cells[MARKETPLACE],
            order_id=cells[7],
            merchant_order_id=cells[8],
            adjustment_id=cells[9],
            shipment_id=cells[10],
            fulfillment_id=cells[_V1_INDEX["fulfillment-id"]],
            posted_date=posted_date,
            posted_at=posted_at,
            order_item_code=cells[_V1_INDEX["order-item-code"]],
            merchant_order_item_id=cells[_V1_INDEX["merchant-order-item-id"]],
            merchant_adjustment_item_id=cells[_V1_INDEX["merchant-adjustment-item-id"]],
            sku=cells[_V1_INDEX["sku"]],
            quantity=quantity,
            promotion_id=cells[_V1_PROMOTION_ID] if amount_type == "Promotion" else "",
            source=self.source,
        )

    # --- closing -----------------------------------------------------------------------------

    def close(self) -> None:
        """Release what the reader opened; a stream the caller passed in stays open."""
        self._text.close()

    def __enter__(self) -> SettlementFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        # getattr: the repr may be asked for while opening fails, before all are known.
        known = ("source", "layout", "settlement_id", "currency")
        fields = ", ".join(f"{name}={getattr(self, name, None)!r}" for name in known)
        return f"SettlementFile({fields})"


_V2_AMOUNT_TYPE = V2_COLUMNS.index("amount-type")
_V1_INDEX = {name: position for position, name in enumerate(V1_COLUMNS)}
_V1_POSTED_DATE = _V1_INDEX["posted-date"]
_V1_QUANTITY = _V1_INDEX["quantity-purchased"]
_V1_PROMOTION_ID = _V1_INDEX["promotion-id"]
_V1_AMOUNTS = tuple((c, c.amount_index, c.description_index) for c in V1_AMOUNT_COLUMNS)


def _never(text: str) -> None:
    """The fast-path test of a file without one: no cell takes it."""
    return None


def _split(line: str) -> list[str]:
    """A line's cells; surrounding spaces are dropped, only paying for that when there are any."""
    cells = line.split("\t")
    if " \t" in line or "\t " in line or line[:1] == " " or line[-1:] == " ":
        return [cell.strip() for cell in cells]
    return cells


def _is_summary(cells: list[str]) -> bool:
    """The summary row: total-amount set, every transaction column blank."""
    return bool(cells[TOTAL]) and not any(cells[TRANSACTION_TYPE:])


def open_settlement_file(
    path_or_stream: str | os.PathLike[str] | TextIO | BinaryIO,
    *,
    source: str | None = None,
) -> SettlementFile:
    """Open a settlement flat file (V1 or V2, plain or gzip, path or stream) for reading.

    ``source`` names the file in errors and on every record (default: the path, or the
    stream's name). Reads the column header and the first data row now; raises
    :class:`InputError` if they are not a settlement file's.
    """
    text = TextSource(path_or_stream)
    try:
        return SettlementFile(text, source or text.name or "<stream>")
    except BaseException:
        text.close()
        raise


# The V2 hot loop builds records positionally, which is only right in this field order.
_LINE_FIELDS = (
    "settlement_id",
    "line_no",
    "transaction_type",
    "amount_type",
    "amount_description",
    "amount",
    "currency",
    "marketplace",
    "order_id",
    "merchant_order_id",
    "adjustment_id",
    "shipment_id",
    "fulfillment_id",
    "posted_date",
    "posted_at",
    "order_item_code",
    "merchant_order_item_id",
    "merchant_adjustment_item_id",
    "sku",
    "quantity",
    "promotion_id",
    "source",
)
if tuple(f.name for f in dataclasses.fields(SettlementLine)) != _LINE_FIELDS:
    raise ImportError(
        "SettlementLine's fields changed order; update the positional construction in "
        f"{__name__}._v2_lines and _LINE_FIELDS"
    )
