"""How a settlement file writes numbers and dates, decided once per file, and the cell parsers.

Amazon writes settlement amounts and dates in the marketplace's local style: ``95,00`` with a
decimal comma in most EU marketplaces, ``MM/DD/YY`` posted dates in the US, ``DD.MM.YYYY`` or
``DD/MM/YYYY`` elsewhere. A cell alone can be ambiguous (``1.500``, ``03/04/21``), so the style is
a property of the file (:class:`FileFormat`), decided before the rows are read and then applied
to every cell; a cell that does not fit the file's style is an error, never a second guess.

The rules (the reader's contract, stated once here and repeated in the package docstring):

* **Decimal mark.** Decided by the file's own evidence: the summary row's ``total-amount`` when
  it shows a separator (:func:`sniff_decimal_comma`), else the first amount cell that does; until
  then every amount was a whole number, which reads the same either way. Only when that cell is
  itself ambiguous (``1,234`` in a three-decimal currency) does the marketplace convention break
  the tie: the currency's, when every marketplace settling in it agrees (EUR does not: Ireland
  writes points), else the first row's ``marketplace-name``'s; with neither it is an error.
* **Day or month first.** Dates with dots are always day-first; ``YYYY/MM/DD`` and ISO dates are
  year-first; slashed dates with the year last are day-first when the marketplaces settling in
  the file's currency write day-first dates (they agree for every currency Amazon settles in, see
  ``ml_connector.ledger.marketplaces``), and month-first (Amazon's documented ``MM/DD/YY``)
  otherwise. Two-digit years are 20YY.
* **Time zones.** Timestamps carry an offset (``2003-10-03T16:00:00-07:00``) or a ``UTC``
  suffix (``2021-01-31 13:45:00 UTC``); a bare date means midnight UTC; a time without a zone
  is an error, since guessing it would move money between days.

Parse errors here are :class:`InputError` without a location; the reader adds file, line and
column.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from ml_connector.ledger.errors import InputError, MoneyError
from ml_connector.ledger.marketplaces import MARKETPLACES, by_site
from ml_connector.ledger.money import format_amount, minor_units, parse_amount, quantum

UTC = dt.UTC


@dataclass(frozen=True, slots=True)
class FileFormat:
    """The number and date style of one settlement file.

    ``decimal_comma`` is None while undecided (see :class:`AmountParser`).
    """

    currency: str
    decimal_comma: bool | None
    day_first: bool


def day_first_for(currency: str) -> bool:
    """Whether slashed dates in a settlement in ``currency`` are day-first.

    True when the marketplaces settling in ``currency`` write day-first dates; currencies no
    marketplace settles in follow Amazon's documented month-first ``MM/DD/YY``.
    """
    styles = {m.day_first for m in MARKETPLACES if m.currency == currency}
    return styles == {True}


def decimal_comma_for(currency: str) -> bool | None:
    """The decimal mark every marketplace settling in ``currency`` uses, or None if they differ.

    A currency no marketplace settles in has no convention (None).
    """
    styles = {m.decimal_comma for m in MARKETPLACES if m.currency == currency}
    return styles.pop() if len(styles) == 1 else None


def decimal_comma_of_site(site: str) -> bool | None:
    """The decimal mark of the marketplace a ``marketplace-name`` cell names, None if unknown."""
    marketplace = by_site(site)
    return None if marketplace is None else marketplace.decimal_comma


def sniff_decimal_comma(text: str, currency: str) -> bool | None:
    """Whether the amount ``text`` shows a decimal comma; None when it cannot tell.

    The last separator is the decimal mark when both kinds appear; a separator repeated, or
    followed by exactly three digits in a currency without three decimals, groups thousands. A
    lone separator before three digits in a three-decimal currency cannot tell; nor can no
    separator at all.
    """
    digits = text.strip().lstrip("+-")
    last_comma, last_dot = digits.rfind(","), digits.rfind(".")
    if last_comma < 0 and last_dot < 0:
        return None
    if last_comma >= 0 and last_dot >= 0:
        return last_comma > last_dot
    mark = "," if last_comma >= 0 else "."
    if digits.count(mark) > 1:
        return mark == "."
    if len(digits) - digits.index(mark) - 1 == 3:
        return None if minor_units(currency) == 3 else mark == "."
    return mark == ","


# A whole amount with thousands grouping, in each convention (plain amounts take the fast path).
_GROUPED_POINT = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", re.ASCII)
_GROUPED_COMMA = re.compile(r"[+-]?\d{1,3}([.\u00a0 ]\d{3})+(,\d+)?", re.ASCII)
_PLAIN_POINT = re.compile(r"[+-]?\d+(\.\d+)?", re.ASCII)
_PLAIN_COMMA = re.compile(r"[+-]?\d+(,\d+)?", re.ASCII)


class AmountParser:
    """Parses the amount cells of one file into Decimals exact to the currency's minor unit.

    The decimal mark is fixed per file. When the file did not decide it up front, the first
    cell that shows a separator decides it for the rest of the file; cells before that were
    whole numbers, which read the same either way. ``convention`` (the marketplace's decimal
    comma, or None if unknown) breaks the tie only when that cell is ambiguous.
    """

    __slots__ = ("currency", "decimal_comma", "_convention", "_places", "_quantum", "_plain")

    def __init__(
        self, currency: str, decimal_comma: bool | None, convention: bool | None = None
    ) -> None:
        self.currency = currency
        self._convention = convention
        self._places = minor_units(currency)
        self._quantum = quantum(currency)
        self._decide(decimal_comma)

    def _decide(self, decimal_comma: bool | None) -> None:
        self.decimal_comma = decimal_comma
        # The shape nearly every cell has: optional minus, digits, the file's mark and exactly
        # the currency's decimals. Those go straight to Decimal; anything else is checked first.
        mark = "," if decimal_comma else r"\."
        shape = rf"-?\d+{mark}\d{{{self._places}}}" if self._places else r"-?\d+"
        self._plain = re.compile(shape, re.ASCII).fullmatch if decimal_comma is not None else None

    @property
    def point_shape(self) -> Callable[[str], object] | None:
        """The plain-amount test of a decimal-point file (None otherwise), for inlined fast paths.

        A cell it accepts is exactly ``Decimal(cell)``; every other cell goes through the parser.
        """
        return self._plain if self.decimal_comma is False else None

    def __call__(self, text: str) -> Decimal:
        """The amount ``text`` denotes; :class:`MoneyError` (no location) when it is not one."""
        if self._plain is not None and self._plain(text):
            return Decimal(text.replace(",", ".") if self.decimal_comma else text)
        return self._careful(text)

    def _careful(self, text: str) -> Decimal:
        if self.decimal_comma is None:
            decided = sniff_decimal_comma(text, self.currency)
            if decided is None and ("," in text or "." in text):
                decided = self._convention
                if decided is None:
                    raise MoneyError(
                        "cannot tell whether this amount's separator is a decimal mark, and "
                        "the settlement's marketplace has no known convention",
                        value=text,
                    )
            if decided is None:
                return self._whole(text)
            self._decide(decided)
        grouped, plain = (
            (_GROUPED_COMMA, _PLAIN_COMMA) if self.decimal_comma else (_GROUPED_POINT, _PLAIN_POINT)
        )
        stripped = text.strip()
        if not stripped:
            raise MoneyError("empty amount", value=text)
        if not (plain.fullmatch(stripped) or grouped.fullmatch(stripped)):
            style = "decimal comma (95,00)" if self.decimal_comma else "decimal point (95.00)"
            raise MoneyError(f"not an amount in this file's style, {style}", value=text)
        amount: Decimal = parse_amount(
            stripped, self.currency, decimal_comma=bool(self.decimal_comma)
        )
        return amount.quantize(self._quantum)

    def _whole(self, text: str) -> Decimal:
        stripped = text.strip()
        if not _PLAIN_POINT.fullmatch(stripped):
            raise MoneyError("empty amount" if not stripped else "not an amount", value=text)
        amount: Decimal = parse_amount(stripped, self.currency)
        return amount.quantize(self._quantum)


def _digits(part: str) -> bool:
    return part.isascii() and part.isdigit()


@lru_cache(maxsize=4096)
def parse_date(text: str, day_first: bool) -> dt.date:
    """A calendar date in any of the numeric forms Amazon writes (see the module rules)."""
    if len(text) == 10 and text[4] == "-":
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise InputError("not a valid date", value=text) from None
    mark = "." if "." in text else "/" if "/" in text else "-"
    parts = text.split(mark)
    if len(parts) != 3 or not all(_digits(p) for p in parts):
        raise InputError(
            "not a date (expected e.g. MM/DD/YY, DD.MM.YYYY or YYYY-MM-DD)", value=text
        )
    if len(parts[0]) == 4:
        year, month, day = parts
    elif mark == "." or day_first:
        day, month, year = parts
    else:
        month, day, year = parts
    if len(year) == 2:
        year = "20" + year
    if len(year) != 4 or len(month) > 2 or len(day) > 2:
        raise InputError(
            "not a date (expected e.g. MM/DD/YY, DD.MM.YYYY or YYYY-MM-DD)", value=text
        )
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        order = "day-first" if (mark == "." or day_first) else "month-first"
        raise InputError(f"not a valid date (read {order} in this file)", value=text) from None


@lru_cache(maxsize=4096)
def parse_timestamp(text: str, day_first: bool) -> dt.datetime:
    """An aware datetime from ISO 8601 with offset, ``... UTC``, a numeric date and time, or a date."""
    body, utc = (text[:-4].rstrip(), True) if text.endswith(" UTC") else (text, False)
    if len(body) >= 10 and body[4] == "-":
        try:
            moment = dt.datetime.fromisoformat(body)
        except ValueError:
            raise InputError("not a valid timestamp", value=text) from None
    else:
        date_part, _, time_part = body.partition(" ")
        day = parse_date(date_part, day_first)
        try:
            clock = dt.time.fromisoformat(time_part) if time_part else dt.time()
        except ValueError:
            raise InputError("not a valid time of day", value=text) from None
        moment = dt.datetime.combine(day, clock)
    if moment.tzinfo is not None:
        return moment
    if utc or len(body) == 10:
        return moment.replace(tzinfo=UTC)
    raise InputError("timestamp without a time zone (expected an offset or 'UTC')", value=text)


def parse_posted(text: str, day_first: bool) -> tuple[dt.date, dt.datetime | None]:
    """A V1 ``posted-date``: a date, or a timestamp whose local date is the posted date."""
    if len(text) <= 10:
        return parse_date(text, day_first), None
    moment = parse_timestamp(text, day_first)
    return moment.date(), moment


# Quantities are small; their canonical texts map straight to ints, others are checked.
SMALL_QUANTITIES = {str(n): n for n in range(-100, 1001)}


def parse_quantity(text: str) -> int:
    """A quantity cell as an int (negative allowed for returns)."""
    known = SMALL_QUANTITIES.get(text)
    if known is not None:
        return known
    body = text[1:] if text[:1] == "-" else text
    if not _digits(body):
        raise InputError("not a whole quantity", value=text)
    return int(text)


# --- writing -------------------------------------------------------------------------------


def amount_cell(amount: Decimal, currency: str, decimal_comma: bool) -> str:
    """The amount as the file writes it: ``-12.30``, or ``-12,30`` with a decimal comma."""
    text: str = format_amount(amount, currency)
    return text.replace(".", ",") if decimal_comma else text


def posted_date_cell(day: dt.date, *, decimal_comma: bool, day_first: bool) -> str:
    """A posted date in the file's style; each reads back unambiguously under the rules above."""
    if decimal_comma:
        return f"{day.day:02d}.{day.month:02d}.{day.year:04d}"
    if day_first:
        return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"
    if not 2000 <= day.year <= 2099:
        raise InputError("MM/DD/YY dates can only carry years 2000-2099", value=day.isoformat())
    return f"{day.month:02d}/{day.day:02d}/{day.year % 100:02d}"


def require_aware(moment: dt.datetime, field: str) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError("datetime without a time zone", field=field, value=moment.isoformat())
    return moment


def utc_timestamp_cell(moment: dt.datetime, field: str) -> str:
    """``YYYY-MM-DD HH:MM:SS UTC``, Amazon's posted-date-time (whole seconds)."""
    utc = require_aware(moment, field).astimezone(UTC).replace(tzinfo=None, microsecond=0)
    return f"{utc.isoformat(sep=' ')} UTC"
