"""Exact money: ``Decimal`` amounts quantized to their currency's minor unit.

Amounts are plain :class:`decimal.Decimal` values paired with an ISO 4217 currency code. There is
no float anywhere on the money path: :func:`parse_amount` refuses floats outright, and every
amount that enters a journal entry must already sit exactly on its currency's minor unit
(:func:`require_exact`). Rounding happens only where a person would round (:func:`quantize`), and
spreading a total over parts never creates or loses a minor unit (:func:`allocate`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

from ml_connector.ledger.errors import MoneyError

# ISO 4217 minor units for every currency an Amazon marketplace settles in, plus the common
# others a target may hold. Source: ISO 4217 list one (the "E" column).
MINOR_UNITS: dict[str, int] = {
    # zero decimals
    "JPY": 0,
    "KRW": 0,
    "CLP": 0,
    "ISK": 0,
    "VND": 0,
    "XAF": 0,
    "XOF": 0,
    "PYG": 0,
    "UGX": 0,
    "HUF": 2,
    # three decimals
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
    "LYD": 3,
    "IQD": 3,
    # two decimals
    "USD": 2,
    "CAD": 2,
    "MXN": 2,
    "BRL": 2,
    "EUR": 2,
    "GBP": 2,
    "SEK": 2,
    "PLN": 2,
    "EGP": 2,
    "TRY": 2,
    "AED": 2,
    "INR": 2,
    "SGD": 2,
    "AUD": 2,
    "SAR": 2,
    "ZAR": 2,
    "CHF": 2,
    "NOK": 2,
    "DKK": 2,
    "CZK": 2,
    "NZD": 2,
    "HKD": 2,
    "CNY": 2,
    "ILS": 2,
    "THB": 2,
    "MYR": 2,
    "PHP": 2,
    "IDR": 2,
    "TWD": 2,
    "RON": 2,
    "BGN": 2,
    "COP": 2,
    "PEN": 2,
    "ARS": 2,
    "NGN": 2,
    "KES": 2,
    "QAR": 2,
    "MAD": 2,
    "PKR": 2,
}

_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
# An optional sign, digits with an optional fractional part: the only shape money text may take.
_PLAIN_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


# Quantizing or scaling in the default context rounds beyond 28 digits and then refuses; money
# needs no rounding at all, so these operations get a context wide enough never to round.
_WIDE = Context(prec=1000)
#: That context, for hot paths that scale exact amounts inline (the store's posting rows).
EXACT_CONTEXT = _WIDE


def minor_units(currency: str) -> int:
    """Number of decimals of ``currency`` (JPY 0, USD 2, KWD 3); unknown codes are an error."""
    try:
        return MINOR_UNITS[currency]
    except (KeyError, TypeError):
        if not isinstance(currency, str) or not _CURRENCY_CODE.match(currency):
            raise MoneyError(
                "not an ISO 4217 currency code", field="currency", value=currency
            ) from None
        raise MoneyError(
            "currency has no known minor unit; add it to MINOR_UNITS",
            field="currency",
            value=currency,
        ) from None


# Quantum per currency, made once: every amount of every line and posting is checked against
# it, and building it (a scaleb per call) was a measurable part of booking a large settlement.
_QUANTA: dict[str, Decimal] = {}


def quantum(currency: str) -> Decimal:
    """The smallest amount of ``currency``: ``Decimal('0.01')`` for USD, ``Decimal('1')`` for JPY."""
    found = _QUANTA.get(currency) if isinstance(currency, str) else None
    if found is None:
        found = Decimal(1).scaleb(-minor_units(currency))
        _QUANTA[currency] = found
    return found


def is_exact(amount: Decimal, currency: str) -> bool:
    """True when ``amount`` is finite and has no digits below the currency's minor unit."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        return False
    q = quantum(currency)
    return amount == amount.quantize(q, context=_WIDE)


def exact_or_none(amount: object, currency: object) -> Decimal | None:
    """``amount`` quantized to ``currency`` when it is a finite Decimal of a known currency
    already on its minor unit, else None (then :func:`require_exact` says what is wrong).

    The hot paths (every line and posting) call this first, so the error's field text is only
    built for an amount that fails.
    """
    if type(currency) is not str:
        return None
    q = _QUANTA.get(currency)
    if q is None:
        if currency not in MINOR_UNITS:
            return None
        q = quantum(currency)
    if type(amount) is Decimal and amount.is_finite():
        exact = amount.quantize(q, context=_WIDE)
        if exact == amount:
            return exact
    return None


def require_exact(amount: object, currency: str, *, field: str = "amount") -> Decimal:
    """Return ``amount`` quantized to ``currency`` if that loses nothing; raise otherwise."""
    # Every line and posting passes here: the common case (a finite Decimal of a known
    # currency already on its minor unit) costs one dict look-up and one quantize.
    q = _QUANTA.get(currency) if type(currency) is str else None
    if q is not None and type(amount) is Decimal and amount.is_finite():
        exact = amount.quantize(q, context=_WIDE)
        if exact == amount:
            return exact
    if isinstance(amount, bool) or not isinstance(amount, Decimal):
        raise MoneyError(
            f"money must be a Decimal, got {type(amount).__name__}", field=field, value=amount
        )
    if not amount.is_finite():
        raise MoneyError("money must be finite", field=field, value=str(amount))
    q = quantum(currency)
    exact = amount.quantize(q, context=_WIDE)
    if exact != amount:
        raise MoneyError(
            f"{currency} has {minor_units(currency)} decimals; this amount has more",
            field=field,
            value=str(amount),
        )
    return exact


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` to the currency's minor unit, half to even (banker's rounding)."""
    if not isinstance(amount, Decimal):
        raise MoneyError(f"money must be a Decimal, got {type(amount).__name__}", value=amount)
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_EVEN)


def parse_amount(
    text: object,
    currency: str,
    *,
    decimal_comma: bool = False,
    field: str = "amount",
) -> Decimal:
    """Parse money text into an exact Decimal for ``currency``.

    Accepts ``"12.30"``, ``"-4"``, ``"+0.5"``; with ``decimal_comma`` the comma is the decimal
    mark and dots or spaces group thousands (``"1.234,56"``). Refuses floats (a float has already
    lost the amount), NaN, infinities, exponents, empty text, and any amount with more decimals
    than the currency has. The error names the field and repeats the value.
    """
    if isinstance(text, float):
        raise MoneyError(
            "refusing a float: pass the amount as text or Decimal", field=field, value=text
        )
    if isinstance(text, Decimal):
        return require_exact(text, currency, field=field)
    if isinstance(text, bool):
        raise MoneyError("not an amount", field=field, value=text)
    if isinstance(text, int):
        return require_exact(Decimal(text), currency, field=field)
    if not isinstance(text, str):
        raise MoneyError(f"not an amount: {type(text).__name__}", field=field, value=text)
    cleaned = text.strip()
    if not cleaned:
        raise MoneyError("empty amount", field=field, value=text)
    if decimal_comma:
        cleaned = cleaned.replace(" ", "").replace("\u00a0", "").replace(".", "").replace(",", ".")
    elif "," in cleaned:
        # Grouping commas ("1,234.56") are accepted only in their proper place.
        if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?", cleaned):
            cleaned = cleaned.replace(",", "")
        else:
            raise MoneyError(
                "comma in an amount whose marketplace uses a decimal point", field=field, value=text
            )
    if not _PLAIN_DECIMAL.match(cleaned):
        raise MoneyError("not a plain decimal amount", field=field, value=text)
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid literals
        raise MoneyError("not a decimal amount", field=field, value=text) from None
    return require_exact(amount, currency, field=field)


def to_minor(amount: Decimal, currency: str) -> int:
    """The amount as a whole number of minor units (``Decimal('-12.30')`` USD -> ``-1230``)."""
    exact = require_exact(amount, currency)
    return int(exact.scaleb(minor_units(currency), context=_WIDE))


def exact_to_minor(amount: Decimal, currency: str) -> int:
    """:func:`to_minor` of an amount known to sit on the currency's minor unit (a Posting's).

    For the hot path of writing postings, which were checked when they were made: an amount
    with digits below the minor unit would be truncated here, so never pass unchecked input.
    """
    scale = MINOR_UNITS.get(currency)
    if scale is None:
        scale = minor_units(currency)
    return int(amount.scaleb(scale, _WIDE))


def from_minor(minor: int, currency: str) -> Decimal:
    """Inverse of :func:`to_minor`: ``-1230`` USD -> ``Decimal('-12.30')``."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise MoneyError("minor units must be an int", value=minor)
    # Built from its digits, not by scaleb/quantize: those round to the context's 28 digits.
    sign, digits, _ = Decimal(minor).as_tuple()
    return Decimal((sign, digits, -minor_units(currency)))


def format_amount(amount: Decimal, currency: str) -> str:
    """Money as the decimal string it leaves the program as: ``"-12.30"``, ``"1500"`` for JPY."""
    return str(require_exact(amount, currency))


def allocate(total: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Split ``total`` into parts proportional to ``weights`` that sum exactly to ``total``.

    Each part is rounded down to the minor unit, then the minor units left over go one each to
    the parts with the largest remainders (ties to the earliest part), so no unit is created or
    lost. Used where a target holds fewer decimals than the ledger, or a total must be spread
    over lines. Weights may be negative; their sum must not be zero unless ``total`` is.
    """
    exact_total = require_exact(total, currency, field="total")
    if not weights:
        if exact_total != 0:
            raise MoneyError("cannot allocate a non-zero total over no parts", value=str(total))
        return []
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        if exact_total != 0:
            raise MoneyError("cannot allocate a non-zero total over weights summing to zero")
        return [Decimal(0).quantize(quantum(currency)) for _ in weights]
    # Work in integers throughout, so the split is exact whatever the context precision.
    scale = max(max(-w.as_tuple().exponent, 0) for w in weights)  # type: ignore[operator]
    int_weights = [int(w.scaleb(scale)) for w in weights]
    int_sum = sum(int_weights)
    if int_sum < 0:
        int_weights, int_sum = [-w for w in int_weights], -int_sum
    # Split the magnitude and restore the sign, so -10.00 splits as the mirror of 10.00.
    sign = -1 if exact_total < 0 else 1
    total_minor = abs(to_minor(exact_total, currency))
    floors = [total_minor * w // int_sum for w in int_weights]
    remainders = [total_minor * w - f * int_sum for w, f in zip(int_weights, floors, strict=True)]
    left = total_minor - sum(floors)  # 0 <= left < len(weights), since every floor <= its share
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return [from_minor(sign * f, currency) for f in floors]
