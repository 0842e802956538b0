"""JSON that never passes money through a float.

Decoding turns every JSON number with a fraction or exponent into ``Decimal``; encoding writes a
``Decimal`` as the exact number it is (``12.30`` stays ``12.30``). simplejson does both natively,
so nothing here is hand-rolled beyond choosing the options once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

import simplejson


def loads(text: str | bytes) -> Any:
    """Parse JSON; fractional numbers become ``Decimal``, integers stay ``int``."""
    return simplejson.loads(text, use_decimal=True)


def dumps(value: Any, *, indent: int | None = None, sort_keys: bool = False) -> str:
    """Serialise JSON; ``Decimal`` is written exactly, never via float; floats are refused."""
    _refuse_floats(value)
    separators = (",", ": ") if indent is not None else (",", ":")
    text = simplejson.dumps(
        value, use_decimal=True, indent=indent, sort_keys=sort_keys, separators=separators
    )
    return cast(str, text)  # simplejson ships no type information


def _refuse_floats(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError(f"refusing to serialise a float ({value!r}); money must be Decimal")
    if isinstance(value, dict):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_floats(item)


def decimal_strings(value: Any) -> Any:
    """A copy of ``value`` with every Decimal as its string: money leaves the program as text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: decimal_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [decimal_strings(v) for v in value]
    return value
