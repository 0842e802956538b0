"""JSON in and out of the SP-API without letting money pass through a float.

Decoding: every JSON number with a fraction or exponent becomes ``Decimal``. Integers stay
``int`` (counts, quantities, page sizes are integers and should behave as such), except where the
number is money: a Finances ``Currency`` object (``{"CurrencyCode", "CurrencyAmount"}``, v0) or
``{"currencyCode", "currencyAmount"}`` (2024-06-19), whose amount is a JSON number that Amazon may
well write as ``10`` for ten dollars. Those become ``Decimal`` too, so every amount has one type.
String amounts (Orders ``Money.amount``, declared ``type: string``) are left as Amazon wrote them:
they are exact already, and the raw store keeps what Amazon sent.

Encoding: ``Decimal`` is written as the exact JSON number it is (``19.90`` stays ``19.90``), which
is what Listings ``value_with_tax`` needs; a float anywhere in a body is refused.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from ml_connector.core import jsoncodec

# Keys of an object that is a money amount with its currency, mapped to the key holding the amount.
_MONEY_SHAPES: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"CurrencyCode", "CurrencyAmount"}), "CurrencyAmount"),
    (frozenset({"currencyCode", "currencyAmount"}), "currencyAmount"),
)


def _money_amounts_as_decimal(obj: dict[str, Any]) -> dict[str, Any]:
    keys = obj.keys()
    for shape, amount_key in _MONEY_SHAPES:
        if shape <= keys:
            amount = obj[amount_key]
            # bool is an int subclass; a boolean amount is malformed and is left for the caller.
            if isinstance(amount, int) and not isinstance(amount, bool):
                obj[amount_key] = Decimal(amount)
    return obj


def _refuse_nan(name: str) -> Decimal:
    raise ValueError(f"JSON constant {name} is not a number Amazon sends; refusing it")


def loads(data: str | bytes) -> Any:
    """Parse an SP-API JSON body; fractions and money amounts become ``Decimal``."""
    return json.loads(
        data,
        parse_float=Decimal,
        parse_constant=_refuse_nan,
        object_hook=_money_amounts_as_decimal,
    )


def dumps(value: Any) -> bytes:
    """Serialise a request body; each ``Decimal`` is written as its exact JSON number.

    Floats are refused (see :func:`ml_connector.core.jsoncodec.dumps`, which this delegates to).
    """
    return jsoncodec.dumps(value).encode("utf-8")
